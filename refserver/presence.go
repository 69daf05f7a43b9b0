package refserver

import "encoding/json"

// member is one user of a presence channel. A user is one member however many connections it
// subscribes with: member_added goes out when conns goes 0 -> 1 and member_removed at 1 -> 0.
type member struct {
	info  json.RawMessage
	conns int
}
