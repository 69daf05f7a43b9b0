package loadgen

import (
	"strings"
	"testing"

	"github.com/pushcert/pushcert/reports"
)

// TestSaturation: a run is called saturated for what made it so, and a late timetable at a few
// percent CPU is the machine's, never the generator's.
func TestSaturation(t *testing.T) {
	for _, tc := range []struct {
		name       string
		g          reports.Generator
		inProcess  bool
		bottleneck string
		says       string
	}{
		{"healthy", reports.Generator{LagP99US: 800, CPUPercent: 120}, false, "", ""},
		{"late timetable, generator busy", reports.Generator{LagP99US: 6000, CPUPercent: 150}, false, "timetable", "fell behind its timetable"},
		{"late timetable at 4% CPU", reports.Generator{LagP99US: 6000, CPUPercent: 4}, false, "machine", "other work on this machine"},
		{"all cores busy", reports.Generator{LagP99US: 100, CPUPercent: 190}, false, "cpu", "CPU-bound"},
		{"busy, but the embedded server shares the process", reports.Generator{LagP99US: 100, CPUPercent: 190}, true, "", ""},
		{"late in-process: the server's CPU is in the figure", reports.Generator{LagP99US: 6000, CPUPercent: 4}, true, "timetable", "fell behind"},
		{"both", reports.Generator{LagP99US: 9000, CPUPercent: 199}, false, "cpu", "so its timetable fell behind"},
	} {
		b, why := saturation(tc.g, tc.inProcess, 2)
		if b != tc.bottleneck || !strings.Contains(strings.Join(why, "; "), tc.says) || (b == "") != (len(why) == 0) {
			t.Errorf("%s: %q %q, want %q saying %q", tc.name, b, why, tc.bottleneck, tc.says)
		}
	}
}
