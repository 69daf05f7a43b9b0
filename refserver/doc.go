// Package refserver is pushcert's reference Pusher Channels server: small, readable, and strict
// where the protocol is strict. New returns a *Server, an http.Handler that serves the WebSocket
// endpoint /app/{key}, the HTTP API /apps/{id}/..., /up and /metrics on one address.
//
// Delivery semantics, for every channel kind:
//   - At most once. A frame is written to each subscriber's bounded queue; nothing is retried.
//   - Per-publisher order per channel: two events published one after the other to one channel
//     reach every subscriber in that order. Events of different channels are not ordered.
//   - A subscriber whose queue is full is disconnected with 4100 (reconnect after back-off) and
//     never slows delivery to the others: the broadcast loop never blocks on a socket.
//   - A broadcast is encoded once (one websocket.PreparedMessage) and shared by every delivery;
//     queued frames of one connection go out in one write.
//
// One Server is one node. Scaling out goes through the Broker seam (broker.go).
package refserver
