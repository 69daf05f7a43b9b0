package features

// Sections names the parts of the specification the cases cite with @spec:N: the sections of
// the protocol reference (../shared/docs/protocol.md, compiled from the Pusher Channels
// documentation, whose page each title names) and "seed", the ticketing application's plan.
var Sections = map[string]string{
	"1.1":  "Connection URL and protocol version (Pusher protocol)",
	"1.2":  "Message envelope and data encoding (Pusher protocol)",
	"1.3":  "pusher:connection_established (Pusher protocol)",
	"1.4":  "Ping, pong and activity (Pusher protocol)",
	"1.5":  "pusher:error (Pusher protocol)",
	"1.6":  "Close and error codes (Pusher protocol)",
	"1.7":  "Reconnection (Pusher protocol, pusher-js)",
	"2.1":  "Channel naming (Pusher channels)",
	"2.2":  "Subscribe and unsubscribe (Pusher protocol)",
	"2.3":  "Private channel authorization (Pusher auth signatures)",
	"2.4":  "Presence channels (Pusher presence channels)",
	"2.5":  "Encrypted channels (Pusher encrypted channels)",
	"2.6":  "Cache channels (Pusher cache channels)",
	"2.7":  "Subscription count (Pusher subscription counting)",
	"3":    "Client events (Pusher protocol, events)",
	"4.1":  "User sign-in (Pusher user authentication)",
	"4.2":  "Server-to-user events (Pusher server-to-user messages)",
	"4.3":  "Watchlist events (Pusher watchlist events)",
	"4.4":  "Terminate user connections (Pusher REST API)",
	"5.1":  "HTTP API, general (Pusher REST API)",
	"5.2":  "Request signing (Pusher REST API)",
	"5.3":  "POST /apps/{app_id}/events (Pusher REST API)",
	"5.4":  "POST /apps/{app_id}/batch_events (Pusher REST API)",
	"5.5":  "GET /apps/{app_id}/channels (Pusher REST API)",
	"5.6":  "GET /apps/{app_id}/channels/{channel_name} (Pusher REST API)",
	"5.7":  "GET /apps/{app_id}/channels/{channel_name}/users (Pusher REST API)",
	"6":    "Webhooks (Pusher webhooks)",
	"7":    "Scaling out: a cluster of nodes is one server to its clients and its app",
	"seed": "The ticketing application's real-time plan, testing checklist",
}

// SpecRef is how a report cites a case's section: "§1.3 pusher:connection_established (...)".
func SpecRef(section string) string {
	if section == "seed" {
		return Sections[section]
	}
	return "§" + section + " " + Sections[section]
}
