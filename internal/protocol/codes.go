package protocol

import "strconv"

// Close and error codes of the protocol (4000-4999 are Pusher's; below 4000 are WebSocket's).
const (
	CodeSSLOnly            = 4000
	CodeAppNotFound        = 4001
	CodeAppDisabled        = 4003
	CodeOverQuota          = 4004
	CodePathNotFound       = 4005
	CodeInvalidVersion     = 4006
	CodeUnsupportedVersion = 4007
	CodeNoVersion          = 4008
	CodeUnauthorized       = 4009
	CodeOverCapacity       = 4100
	CodeReconnect          = 4200
	CodePongNotReceived    = 4201
	CodeInactive           = 4202
	CodeClientEventLimit   = 4301
	CodeWatchlistLimit     = 4302
)

// ProtocolVersion is the only protocol version the reference server speaks.
const ProtocolVersion = 7

// CloseAction is what a client must do after a close with a given code.
type CloseAction int

const (
	// ActionNone: a standard WebSocket close other than 1002-1004; the client's generic
	// reconnect path applies.
	ActionNone CloseAction = iota
	// ActionTLSOnly: reconnect over wss:// (4000).
	ActionTLSOnly
	// ActionRefused: do not reconnect unchanged (4000-4099, and unknown codes >= 4300).
	ActionRefused
	// ActionBackoff: reconnect after at least one second (4100-4199, and the WebSocket
	// protocol errors 1002-1004, as pusher-js getCloseAction does).
	ActionBackoff
	// ActionRetry: reconnect immediately (4200-4299).
	ActionRetry
)

// String names the action.
func (a CloseAction) String() string {
	names := [...]string{"none", "tls-only", "refused", "backoff", "retry"}
	if a < 0 || int(a) >= len(names) {
		return "CloseAction(" + strconv.Itoa(int(a)) + ")"
	}
	return names[a]
}

// ActionFor maps a close code to the client's action, by the ranges of the protocol.
func ActionFor(code int) CloseAction {
	switch {
	case code >= 1002 && code <= 1004:
		return ActionBackoff
	case code == CodeSSLOnly:
		return ActionTLSOnly
	case code >= 4001 && code <= 4099:
		return ActionRefused
	case code >= 4100 && code <= 4199:
		return ActionBackoff
	case code >= 4200 && code <= 4299:
		return ActionRetry
	case code >= 4300:
		return ActionRefused
	default:
		return ActionNone
	}
}

// CodeText is the documented meaning of each code.
var CodeText = map[int]string{
	CodeSSLOnly:            "Application only accepts SSL connections, reconnect using wss://",
	CodeAppNotFound:        "Application does not exist",
	CodeAppDisabled:        "Application disabled",
	CodeOverQuota:          "Application is over connection quota",
	CodePathNotFound:       "Path not found",
	CodeInvalidVersion:     "Invalid version string format",
	CodeUnsupportedVersion: "Unsupported protocol version",
	CodeNoVersion:          "No protocol version supplied",
	CodeUnauthorized:       "Connection is unauthorized",
	CodeOverCapacity:       "Over capacity",
	CodeReconnect:          "Generic reconnect immediately",
	CodePongNotReceived:    "Pong reply not received",
	CodeInactive:           "Closed after inactivity",
	CodeClientEventLimit:   "Client event rejected due to rate limit",
	CodeWatchlistLimit:     "Watchlist limit exceeded",
}
