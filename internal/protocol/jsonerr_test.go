package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDescribeJSON: decoding errors read in JSON's words; no Go type or package name reaches a
// client.
func TestDescribeJSON(t *testing.T) {
	var body struct {
		Name     string   `json:"name"`
		Channels []string `json:"channels"`
		Batch    []struct {
			Name string `json:"name"`
		} `json:"batch"`
	}
	for _, tc := range []struct{ in, want string }{
		{`{"channels":"pub"}`, "channels must be an array, not a string"},
		{`{"name":5}`, "name must be a string, not a number"},
		{`{"batch":{"a":1}}`, "batch must be an array, not an object"},
		{`[1]`, "the value must be an object, not an array"},
		{`{"name":`, "not valid JSON: it ends too soon"},
		{`{"name" 1}`, "not valid JSON at byte 9"},
	} {
		err := json.Unmarshal([]byte(tc.in), &body)
		got := DescribeJSON(err)
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.in, got, tc.want)
		}
		for _, goWord := range []string{"Go ", "struct", "[]string", "refserver", "json:"} {
			if strings.Contains(got, goWord) {
				t.Errorf("%s: %q names Go's %q", tc.in, got, goWord)
			}
		}
	}
}
