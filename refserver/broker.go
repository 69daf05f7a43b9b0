package refserver

import "encoding/json"

// Kinds of Message: what one node tells every node of its cluster.
const (
	MsgEvent         = "event"          // an HTTP API publish
	MsgClientEvent   = "client_event"   // a client event, relayed to the channel's other subscribers
	MsgMemberAdded   = "member_added"   // a user's first connection to a presence channel, cluster-wide
	MsgMemberRemoved = "member_removed" // a user's last connection gone, cluster-wide
	MsgTerminate     = "terminate"      // terminate_connections of a user
	MsgCount         = "count"          // a channel's subscription count, for an app that counts
	MsgWatch         = "watch"          // a user online (first connection) or offline (last gone), cluster-wide
)

// Message is what crosses the nodes of a cluster: every node delivers it to its own clients.
type Message struct {
	Kind     string          `json:"k"`
	AppID    string          `json:"a"`
	Channel  string          `json:"c,omitempty"`
	Channels []string        `json:"cs,omitempty"` // an event's channels: one message, so all or none
	Event    string          `json:"e,omitempty"`  // an event's name; watch: online or offline
	Data     string          `json:"d,omitempty"`  // an event's data, as a string
	Raw      json.RawMessage `json:"r,omitempty"`  // a client event's data, as the client sent it
	SocketID string          `json:"s,omitempty"`  // excluded from delivery (the sender, socket_id)
	UserID   string          `json:"u,omitempty"`  // a client event's sender on presence, a member, a terminated user
	Info     json.RawMessage `json:"i,omitempty"`  // member_added: the member's user_info
	Version  int64           `json:"v,omitempty"`  // member events: the channel's presence version
	Count    int             `json:"n,omitempty"`  // count: the channel's subscriptions in the cluster
	Origin   string          `json:"o,omitempty"`  // the node that published it
}

// Broker carries messages between the nodes of a cluster. Start registers the function that
// delivers a message locally; Publish must eventually call it on every node, this one included.
//
// Delivery contract: a Publish that returns nil reaches every node that is up, at most once,
// and the messages of one publisher reach each node in the order they were published (so the
// events of one HTTP API client, published one after the other, arrive in order everywhere). A
// Publish that returns an error reached no node: the HTTP API answers 503 and a client event's
// sender gets an error, nothing is lost without a word.
type Broker interface {
	Start(deliver func(Message)) error
	Publish(m Message) error
	Close() error
}

// localBroker is the single-node broker: a message is delivered here, synchronously, so an HTTP
// API response means every local subscriber has the event queued.
type localBroker struct{ deliver func(Message) }

func (b *localBroker) Start(deliver func(Message)) error { b.deliver = deliver; return nil }
func (b *localBroker) Publish(m Message) error           { b.deliver(m); return nil }
func (b *localBroker) Close() error                      { return nil }
