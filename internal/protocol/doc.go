// Package protocol holds the Pusher Channels protocol (version 7) and HTTP API as plain values and
// pure functions: wire messages in both directions, channel kinds and name rules, the close and
// error code table, and every signature (channel auth, user sign-in, HTTP API requests, webhooks,
// encrypted-channel shared secrets).
//
// It imports nothing of the project, so the reference server, the client, the conformance steps and
// the load generator all agree on one reading of the protocol.
package protocol
