// Package ticketing is the application side of the seed's real-time plan
// (shared/seed/realtime-websockets-plan.md), as the Laravel ticketing backend would run it against
// any Pusher-compatible server:
//
//   - a Directory of customers, orders, conversations and events, with bearer tokens (Sanctum);
//   - the channel rules of routes/channels.php (Directory.Authorize);
//   - the auth endpoints POST /broadcasting/auth and /broadcasting/user-auth (AuthHandler), with
//     the seed's WebSocketRateLimiter in front;
//   - the webhook endpoint POST /pusher/webhook (WebhookHandler): the app's key and signature
//     verified, presence kept from member_added and member_removed;
//   - the event catalog: the exact channels, names and payloads of the seed's ShouldBroadcast
//     classes (Catalog);
//   - a Publisher that sends them through the standard HTTP API, as Laravel's pusher broadcaster
//     does, and the model observers' flows (Shop.Purchase, Shop.UpdateOrderStatus).
//
// Conformance scenarios play this backend: each creates its own customers, orders and events in a
// shared Directory, whose ids come from one counter and are never reused, so channel names of
// concurrent scenarios never meet.
//
// The package imports only internal/protocol and internal/client of ours.
package ticketing
