package loadgen

import (
	"encoding/json"
	"testing"
)

// TestPadded: --payload-bytes grows the data to the size asked, still JSON, still stamped.
func TestPadded(t *testing.T) {
	d := `{"ts":1,"seq":2}`
	for _, n := range []int{0, 10, len(d) + 9, len(d) + 10, 200, MaxPayloadBytes} {
		got := padded(d, n)
		var v map[string]any
		if err := json.Unmarshal([]byte(got), &v); err != nil {
			t.Fatalf("%d: %s is not JSON: %v", n, got, err)
		}
		if n > len(d)+9 && len(got) != n {
			t.Errorf("%d: %d bytes", n, len(got))
		}
		if ts, seq, _, ok := stamp([]byte(got)); !ok || ts != 1 || seq != 2 {
			t.Errorf("%d: stamp %d %d %v", n, ts, seq, ok)
		}
	}
}
