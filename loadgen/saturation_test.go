package loadgen

import (
	"testing"

	"github.com/pushcert/pushcert/reports"
)

func TestSaturation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		g        reports.Generator
		embedded bool
		want     int
	}{
		{"healthy", reports.Generator{LagP99US: 800, CPUPercent: 120}, false, 0},
		{"late timetable", reports.Generator{LagP99US: 6000, CPUPercent: 50}, false, 1},
		{"all cores busy", reports.Generator{LagP99US: 100, CPUPercent: 190}, false, 1},
		{"busy, but the embedded server shares the process", reports.Generator{LagP99US: 100, CPUPercent: 190}, true, 0},
		{"both", reports.Generator{LagP99US: 9000, CPUPercent: 199}, false, 2},
	} {
		if got := saturation(tc.g, tc.embedded, 2); len(got) != tc.want {
			t.Errorf("%s: got %q, want %d reasons", tc.name, got, tc.want)
		}
	}
}
