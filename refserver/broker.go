package refserver

// Publish is one event published through the HTTP API, as it crosses nodes: every node delivers
// it to its own subscribers.
type Publish struct {
	AppID    string `json:"app_id"`
	Channel  string `json:"channel"`
	Event    string `json:"event"`
	Data     string `json:"data"`
	SocketID string `json:"socket_id,omitempty"` // excluded from delivery
}

// Broker carries publishes between the nodes of a cluster. Start registers the function that
// delivers a publish locally; Publish must eventually call it on every node, this one included.
type Broker interface {
	Start(deliver func(Publish)) error
	Publish(p Publish) error
	Close() error
}

// localBroker is the single-node broker: a publish is delivered here, synchronously, so an HTTP
// API response means every local subscriber has the event queued.
type localBroker struct{ deliver func(Publish) }

func (b *localBroker) Start(deliver func(Publish)) error { b.deliver = deliver; return nil }
func (b *localBroker) Publish(p Publish) error           { b.deliver(p); return nil }
func (b *localBroker) Close() error                      { return nil }
