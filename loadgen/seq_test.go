package loadgen

import "testing"

func TestSeqWindow(t *testing.T) {
	w := newSeqWindow()
	type arrival struct {
		seq       int64
		dup, late bool
	}
	for i, a := range []arrival{
		{0, false, false}, {1, false, false}, {1, true, false}, // a duplicate right after
		{3, false, false}, {2, false, true}, {2, true, true}, // a reordering, then its duplicate
		{4, false, false}, {0, true, true}, // a duplicate after later events
		{100, false, false}, {4, false, true}, // too far back to remember: a reordering
		{99, false, true}, {100, true, false},
	} {
		dup, late := w.arrive(a.seq)
		if dup != a.dup || late != a.late {
			t.Errorf("arrival %d (seq %d): got dup=%v late=%v, want dup=%v late=%v", i, a.seq, dup, late, a.dup, a.late)
		}
	}
}
