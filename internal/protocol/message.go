package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Event names of the protocol. Client events are any name starting with ClientEventPrefix.
const (
	EventConnectionEstablished = "pusher:connection_established"
	EventError                 = "pusher:error"
	EventPing                  = "pusher:ping"
	EventPong                  = "pusher:pong"
	EventSubscribe             = "pusher:subscribe"
	EventUnsubscribe           = "pusher:unsubscribe"
	EventSignin                = "pusher:signin"
	EventSigninSuccess         = "pusher:signin_success"
	EventCacheMiss             = "pusher:cache_miss"
	EventSubscriptionError     = "pusher:subscription_error"

	EventSubscriptionSucceeded = "pusher_internal:subscription_succeeded"
	EventMemberAdded           = "pusher_internal:member_added"
	EventMemberRemoved         = "pusher_internal:member_removed"
	EventWatchlist             = "pusher_internal:watchlist_events"
	EventSubscriptionCount     = "pusher_internal:subscription_count"

	PusherPrefix      = "pusher:"
	InternalPrefix    = "pusher_internal:"
	ClientEventPrefix = "client-"
)

// MaxEventNameLength is the longest event name servers accept (SDK and server practice).
const MaxEventNameLength = 200

// Message is one protocol frame. Data keeps the raw JSON of the "data" member: an object, a
// JSON-encoded string, or absent. Use DataBytes to read it whichever encoding the peer chose.
type Message struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	UserID  string          `json:"user_id,omitempty"`
}

// Decoding errors. They are values so callers can map them to replies with errors.Is.
var (
	ErrNotJSONObject = errors.New("frame is not a JSON object")
	ErrMissingEvent  = errors.New("frame has no event name")
	ErrFieldType     = errors.New("frame field has the wrong type")
)

// DecodeMessage parses one text frame. It never panics, whatever the input; errors wrap
// ErrNotJSONObject, ErrMissingEvent or ErrFieldType.
func DecodeMessage(frame []byte) (Message, error) {
	var raw struct {
		Event   json.RawMessage `json:"event"`
		Channel json.RawMessage `json:"channel"`
		Data    json.RawMessage `json:"data"`
		UserID  json.RawMessage `json:"user_id"`
	}
	trimmed := bytes.TrimSpace(frame)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Message{}, ErrNotJSONObject
	}
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrNotJSONObject, err)
	}
	var m Message
	var err error
	if m.Event, err = optionalString(raw.Event, "event"); err != nil {
		return Message{}, err
	}
	if m.Event == "" {
		return Message{}, ErrMissingEvent
	}
	if m.Channel, err = optionalString(raw.Channel, "channel"); err != nil {
		return Message{}, err
	}
	if len(raw.UserID) > 0 && !isNull(raw.UserID) {
		m.UserID, err = stringOrNumber(raw.UserID)
		if err != nil {
			return Message{}, fmt.Errorf("%w: user_id: %v", ErrFieldType, err)
		}
	}
	if !isNull(raw.Data) {
		m.Data = raw.Data
	}
	return m, nil
}

func isNull(b json.RawMessage) bool { return len(b) == 0 || string(b) == "null" }

func optionalString(b json.RawMessage, field string) (string, error) {
	if isNull(b) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", fmt.Errorf("%w: %s must be a string", ErrFieldType, field)
	}
	return s, nil
}

// stringOrNumber reads a user id, which clients send as a string or a number.
func stringOrNumber(b json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		return s, nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return "", errors.New("must be a string or a number")
	}
	return n.String(), nil
}

// DataBytes returns the JSON text of the data member: an object's own bytes, or the content of a
// JSON string (the "double encoding" of the protocol). Absent data reads as nil.
func (m Message) DataBytes() ([]byte, error) {
	if len(m.Data) == 0 {
		return nil, nil
	}
	if m.Data[0] == '"' {
		var s string
		if err := json.Unmarshal(m.Data, &s); err != nil {
			return nil, fmt.Errorf("%w: data: %s", ErrFieldType, DescribeJSON(err))
		}
		return []byte(s), nil
	}
	return m.Data, nil
}

// DataIsString reports whether the peer double-encoded data as a JSON string.
func (m Message) DataIsString() bool { return len(m.Data) > 0 && m.Data[0] == '"' }

// DecodeData unmarshals the data member, string- or object-encoded, into v.
func (m Message) DecodeData(v any) error {
	b, err := m.DataBytes()
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return fmt.Errorf("%w: data is missing", ErrFieldType)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: data: %s", ErrFieldType, DescribeJSON(err))
	}
	return nil
}

// SubscribeData is the data of pusher:subscribe. ChannelData is the exact presence channel_data
// string that was signed; clients send it as a string, and an object is kept as its raw text.
type SubscribeData struct {
	Channel     string
	Auth        string
	ChannelData string
}

// ParseSubscribe reads the data of a pusher:subscribe (or pusher:unsubscribe) message.
func ParseSubscribe(m Message) (SubscribeData, error) {
	var raw struct {
		Channel     json.RawMessage `json:"channel"`
		Auth        json.RawMessage `json:"auth"`
		ChannelData json.RawMessage `json:"channel_data"`
	}
	if err := m.DecodeData(&raw); err != nil {
		return SubscribeData{}, err
	}
	var d SubscribeData
	var err error
	if d.Channel, err = optionalString(raw.Channel, "channel"); err != nil {
		return d, err
	}
	if d.Auth, err = optionalString(raw.Auth, "auth"); err != nil {
		return d, err
	}
	if !isNull(raw.ChannelData) {
		if raw.ChannelData[0] == '"' {
			if d.ChannelData, err = optionalString(raw.ChannelData, "channel_data"); err != nil {
				return d, err
			}
		} else {
			d.ChannelData = string(raw.ChannelData)
		}
	}
	return d, nil
}

// SigninData is the data of pusher:signin.
type SigninData struct {
	Auth     string `json:"auth"`
	UserData string `json:"user_data"`
}

// ParseSignin reads the data of a pusher:signin message.
func ParseSignin(m Message) (SigninData, error) {
	var d SigninData
	if err := m.DecodeData(&d); err != nil {
		return d, err
	}
	return d, nil
}

// PresenceMember is the parsed channel_data of a presence subscription.
type PresenceMember struct {
	UserID   string
	UserInfo json.RawMessage
}

// Presence limits of the protocol.
const (
	MaxPresenceUserIDLength = 128
	MaxPresenceMembers      = 100
	MaxPresenceUserInfo     = 1024
)

// ParseChannelData reads presence channel_data: a user_id (string or number) and optional user_info.
func ParseChannelData(channelData string) (PresenceMember, error) {
	var raw struct {
		UserID   json.RawMessage `json:"user_id"`
		UserInfo json.RawMessage `json:"user_info"`
	}
	if err := json.Unmarshal([]byte(channelData), &raw); err != nil {
		return PresenceMember{}, fmt.Errorf("channel_data is not a JSON object: %s", DescribeJSON(err))
	}
	if isNull(raw.UserID) {
		return PresenceMember{}, errors.New("channel_data has no user_id")
	}
	id, err := stringOrNumber(raw.UserID)
	if err != nil {
		return PresenceMember{}, fmt.Errorf("channel_data user_id %w", err)
	}
	if id == "" {
		return PresenceMember{}, errors.New("channel_data user_id is empty")
	}
	if len(id) > MaxPresenceUserIDLength {
		return PresenceMember{}, fmt.Errorf("channel_data user_id is longer than %d characters", MaxPresenceUserIDLength)
	}
	pm := PresenceMember{UserID: id}
	if !isNull(raw.UserInfo) {
		pm.UserInfo = raw.UserInfo
	}
	return pm, nil
}

// UserData is the parsed user_data of a sign-in.
type UserData struct {
	ID        string
	Info      json.RawMessage // user_info, the member info of presence channels joined without channel_data
	Watchlist []string
	Raw       string
}

// MaxWatchlist is how many watchlist ids a sign-in may carry before 4302.
const MaxWatchlist = 100

// ParseUserData reads sign-in user_data; id must be a non-empty string.
func ParseUserData(userData string) (UserData, error) {
	var raw struct {
		ID        json.RawMessage `json:"id"`
		Info      json.RawMessage `json:"user_info"`
		Watchlist []string        `json:"watchlist"`
	}
	if err := json.Unmarshal([]byte(userData), &raw); err != nil {
		return UserData{}, fmt.Errorf("user_data is not a JSON object with a string watchlist: %s", DescribeJSON(err))
	}
	id, err := optionalString(raw.ID, "id")
	if err != nil || id == "" {
		return UserData{}, errors.New("user_data must have a non-empty string id")
	}
	if !ValidChannelName(id) {
		return UserData{}, errors.New("user_data id has characters outside the channel-name set")
	}
	u := UserData{ID: id, Watchlist: raw.Watchlist, Raw: userData}
	if !isNull(raw.Info) {
		u.Info = raw.Info
	}
	return u, nil
}

// Outgoing frames. Server-to-client data is a JSON-encoded string, except pusher:error and
// pusher:signin_success whose data the spec shows as an object.

type outFrame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	UserID  string          `json:"user_id,omitempty"`
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only values built here are marshalled, and they always encode.
		panic(fmt.Sprintf("protocol: marshal %T: %v", v, err))
	}
	return b
}

// cleanRaw returns r when it is one valid JSON value, else nil (which encodes as null, or is
// omitted under omitempty). An empty or broken json.RawMessage would make json.Marshal fail, and
// the encoders must not panic on what a caller hands them.
func cleanRaw(r json.RawMessage) json.RawMessage {
	if len(r) == 0 || !json.Valid(r) {
		return nil
	}
	return r
}

// quoteJSON returns data as a JSON string literal: the double encoding of the protocol.
func quoteJSON(data []byte) json.RawMessage { return mustMarshal(string(data)) }

// EncodeEvent encodes a channel event whose data is the string given (forwarded verbatim, as the
// HTTP API does). userID is added for client events on presence channels.
func EncodeEvent(event, channel, data, userID string) []byte {
	return mustMarshal(outFrame{Event: event, Channel: channel, Data: mustMarshal(data), UserID: userID})
}

// EncodeRawEvent encodes an event whose data is already JSON (a client event forwarded as sent).
func EncodeRawEvent(event, channel string, data json.RawMessage, userID string) []byte {
	if len(data) == 0 || !json.Valid(data) {
		data = nil
	}
	return mustMarshal(outFrame{Event: event, Channel: channel, Data: data, UserID: userID})
}

// EncodeInternal encodes a pusher: or pusher_internal: event whose data object is double encoded.
func EncodeInternal(event, channel string, data any) []byte {
	f := outFrame{Event: event, Channel: channel}
	if data != nil {
		f.Data = quoteJSON(mustMarshal(data))
	}
	return mustMarshal(f)
}

// ConnectionEstablished is the data of pusher:connection_established.
type ConnectionEstablished struct {
	SocketID        string `json:"socket_id"`
	ActivityTimeout int    `json:"activity_timeout"`
}

// EncodeConnectionEstablished builds the handshake frame; activityTimeout is in seconds.
func EncodeConnectionEstablished(socketID string, activityTimeout int) []byte {
	return EncodeInternal(EventConnectionEstablished, "", ConnectionEstablished{socketID, activityTimeout})
}

// ErrorData is the data of pusher:error. Code is nil for errors that carry none.
type ErrorData struct {
	Message string `json:"message"`
	Code    *int   `json:"code"`
}

// EncodeError builds a pusher:error frame with object data. code 0 encodes as null.
func EncodeError(code int, message, channel string) []byte {
	d := ErrorData{Message: message}
	if code != 0 {
		d.Code = &code
	}
	return mustMarshal(outFrame{Event: EventError, Channel: channel, Data: mustMarshal(d)})
}

// Frames without variable content, encoded once.
var (
	FramePong = []byte(`{"event":"pusher:pong","data":{}}`)
	FramePing = []byte(`{"event":"pusher:ping","data":{}}`)
)

// PresenceData is the presence payload of a subscription_succeeded.
type PresenceData struct {
	IDs   []string                   `json:"ids"`
	Hash  map[string]json.RawMessage `json:"hash"`
	Count int                        `json:"count"`
}

// EncodeSubscriptionSucceeded builds the success frame; presence is nil for other channel kinds.
// Nil ids or hash encode as [] and {}: pusher-js iterates presence.hash.
func EncodeSubscriptionSucceeded(channel string, presence *PresenceData) []byte {
	if presence == nil {
		return EncodeInternal(EventSubscriptionSucceeded, channel, struct{}{})
	}
	p := PresenceData{IDs: presence.IDs, Hash: make(map[string]json.RawMessage, len(presence.Hash)), Count: presence.Count}
	if p.IDs == nil {
		p.IDs = []string{}
	}
	for id, info := range presence.Hash {
		p.Hash[id] = cleanRaw(info)
	}
	return EncodeInternal(EventSubscriptionSucceeded, channel, struct {
		Presence *PresenceData `json:"presence"`
	}{&p})
}

// EncodeMemberAdded builds pusher_internal:member_added.
func EncodeMemberAdded(channel, userID string, userInfo json.RawMessage) []byte {
	return EncodeInternal(EventMemberAdded, channel, struct {
		UserID   string          `json:"user_id"`
		UserInfo json.RawMessage `json:"user_info,omitempty"`
	}{userID, cleanRaw(userInfo)})
}

// EncodeMemberRemoved builds pusher_internal:member_removed.
func EncodeMemberRemoved(channel, userID string) []byte {
	return EncodeInternal(EventMemberRemoved, channel, struct {
		UserID string `json:"user_id"`
	}{userID})
}

// EncodeSigninSuccess echoes the signed user_data; data is an object as the spec shows.
func EncodeSigninSuccess(userData string) []byte {
	return mustMarshal(outFrame{Event: EventSigninSuccess, Data: mustMarshal(struct {
		UserData string `json:"user_data"`
	}{userData})})
}

// WatchlistEvent is one entry of pusher_internal:watchlist_events.
type WatchlistEvent struct {
	Name    string   `json:"name"`
	UserIDs []string `json:"user_ids"`
}

// EncodeWatchlist builds pusher_internal:watchlist_events with object data, as clients read it.
// Nil lists encode as []: pusher-js calls events.forEach.
func EncodeWatchlist(events []WatchlistEvent) []byte {
	evs := make([]WatchlistEvent, len(events))
	for i, e := range events {
		evs[i] = e
		if evs[i].UserIDs == nil {
			evs[i].UserIDs = []string{}
		}
	}
	return mustMarshal(outFrame{Event: EventWatchlist, Data: mustMarshal(struct {
		Events []WatchlistEvent `json:"events"`
	}{evs})})
}

// SubscriptionCount is the data of pusher_internal:subscription_count.
type SubscriptionCount struct {
	Count int `json:"subscription_count"`
}

// EncodeSubscriptionCount builds pusher_internal:subscription_count: a channel's subscribers,
// told to each of them (data double encoded, as every internal event's).
func EncodeSubscriptionCount(channel string, n int) []byte {
	return EncodeInternal(EventSubscriptionCount, channel, SubscriptionCount{n})
}

// EncodeCacheMiss builds pusher:cache_miss.
func EncodeCacheMiss(channel string) []byte {
	return mustMarshal(outFrame{Event: EventCacheMiss, Channel: channel})
}

// ValidSocketID reports whether id has the "digits.digits" form every SDK checks.
func ValidSocketID(id string) bool {
	a, b, ok := strings.Cut(id, ".")
	return ok && allDigits(a) && allDigits(b)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatSocketID joins two numbers into a socket id.
func FormatSocketID(a, b uint64) string {
	return strconv.FormatUint(a, 10) + "." + strconv.FormatUint(b, 10)
}
