package protocol

import "strings"

// ChannelKind is the type of a channel, decided by its name's prefix.
type ChannelKind int

const (
	Public ChannelKind = iota
	Private
	Presence
	Encrypted
	ServerToUser
)

// String names the kind as the documentation does.
func (k ChannelKind) String() string {
	switch k {
	case Private:
		return "private"
	case Presence:
		return "presence"
	case Encrypted:
		return "private-encrypted"
	case ServerToUser:
		return "server-to-user"
	default:
		return "public"
	}
}

// Channel name prefixes. The order of checks in KindOf matters: private-encrypted- before private-.
const (
	PrefixPrivate      = "private-"
	PrefixEncrypted    = "private-encrypted-"
	PrefixPresence     = "presence-"
	PrefixServerToUser = "#server-to-user-"
	PrefixCache        = "cache-"
)

// MaxChannelNameLength is the longest channel name, prefix included.
const MaxChannelNameLength = 164

// KindOf returns the kind of a channel by its anchored prefix: "my-private-x" is public.
func KindOf(name string) ChannelKind {
	switch {
	case strings.HasPrefix(name, PrefixEncrypted):
		return Encrypted
	case strings.HasPrefix(name, PrefixPrivate):
		return Private
	case strings.HasPrefix(name, PrefixPresence):
		return Presence
	case strings.HasPrefix(name, PrefixServerToUser):
		return ServerToUser
	default:
		return Public
	}
}

// NeedsAuth reports whether subscribing to a channel of this kind needs a signature.
func (k ChannelKind) NeedsAuth() bool { return k == Private || k == Presence || k == Encrypted }

// AcceptsClientEvents reports whether client events may be sent on channels of this kind.
// Encrypted channels are excluded: the server cannot vouch for what it cannot read, and
// pusher-js refuses them too.
func (k ChannelKind) AcceptsClientEvents() bool { return k == Private || k == Presence }

// IsCache reports whether the channel keeps its last event: cache-, private-cache-,
// private-encrypted-cache- and presence-cache-.
func IsCache(name string) bool {
	for _, p := range [...]string{PrefixCache, PrefixPrivate + PrefixCache, PrefixEncrypted + PrefixCache, PrefixPresence + PrefixCache} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// ValidChannelName reports whether name is 1 to 164 characters of [A-Za-z0-9_\-=@,.;].
// Names starting with '#' are reserved and never valid for applications.
func ValidChannelName(name string) bool {
	if len(name) == 0 || len(name) > MaxChannelNameLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !channelNameByte(name[i]) {
			return false
		}
	}
	return true
}

func channelNameByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '_', '-', '=', '@', ',', '.', ';':
		return true
	}
	return false
}

// ServerToUserChannel returns the personal channel of a signed-in user.
func ServerToUserChannel(userID string) string { return PrefixServerToUser + userID }

// ValidServerChannelName is the rule for channels named by the application backend through the
// HTTP API: any valid name, or a #server-to-user- channel of a valid user id.
func ValidServerChannelName(name string) bool {
	if id, ok := strings.CutPrefix(name, PrefixServerToUser); ok {
		return ValidChannelName(id) && len(name) <= MaxChannelNameLength+len(PrefixServerToUser)
	}
	return ValidChannelName(name)
}
