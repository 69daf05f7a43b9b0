package loadgen

import (
	"bytes"
	"strconv"
	"strings"
)

// The load payload carries the intended send time ("ts", Unix ns) and a sequence number ("seq")
// per publisher. On receipt only these two are read, straight from the raw frame: the data is an
// object in a client event and a JSON string (with escaped quotes) in an HTTP API event.
var (
	keyTS       = []byte(`"ts":`)
	keyTSQuoted = []byte(`\"ts\":`)
	keySeq      = []byte(`"seq":`)
	keySeqQuote = []byte(`\"seq\":`)
	keyBy       = []byte(`"by":`)
	keyByQuoted = []byte(`\"by\":`)
)

// intAfter finds key (or its escaped form) in frame and parses the integer after it.
func intAfter(frame, key, quoted []byte) (int64, bool) {
	i := bytes.Index(frame, quoted)
	if i >= 0 {
		i += len(quoted)
	} else if i = bytes.Index(frame, key); i >= 0 {
		i += len(key)
	} else {
		return 0, false
	}
	j := i
	for j < len(frame) && frame[j] >= '0' && frame[j] <= '9' {
		j++
	}
	if j == i {
		return 0, false
	}
	n, err := strconv.ParseInt(string(frame[i:j]), 10, 64)
	return n, err == nil
}

// stamp reads ts, seq and by of a load frame.
func stamp(frame []byte) (ts, seq, by int64, ok bool) {
	ts, ok1 := intAfter(frame, keyTS, keyTSQuoted)
	seq, ok2 := intAfter(frame, keySeq, keySeqQuote)
	by, _ = intAfter(frame, keyBy, keyByQuoted)
	return ts, seq, by, ok1 && ok2
}

// MaxPayloadBytes is the largest event data --payload-bytes may ask for: Pusher's limit of an
// event's data (10 KB).
const MaxPayloadBytes = 10240

// padded returns the JSON object data grown to n bytes with a "pad" string field at its end,
// after the fields the receivers read; data already that long, or n = 0, is returned as it is.
func padded(data string, n int) string {
	const field = `,"pad":""`
	if n <= len(data)+len(field) {
		return data
	}
	fill := n - len(data) - len(field)
	return data[:len(data)-1] + `,"pad":"` + strings.Repeat("x", fill) + `"}`
}
