package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Webhook event names (Pusher webhooks).
const (
	HookChannelOccupied   = "channel_occupied"
	HookChannelVacated    = "channel_vacated"
	HookMemberAdded       = "member_added"
	HookMemberRemoved     = "member_removed"
	HookClientEvent       = "client_event"
	HookCacheMiss         = "cache_miss"
	HookSubscriptionCount = "subscription_count"
)

// HookNames are the webhook event names, in the order of the Pusher documentation.
var HookNames = []string{HookChannelOccupied, HookChannelVacated, HookMemberAdded, HookMemberRemoved,
	HookClientEvent, HookCacheMiss, HookSubscriptionCount}

// WebhookEvent is one event of a webhook body. Which fields are set depends on Name:
// channel on every event; user_id on member events and on client events of presence channels;
// event, data and socket_id on client events; subscription_count on subscription_count.
type WebhookEvent struct {
	Name              string `json:"name"`
	Channel           string `json:"channel"`
	UserID            string `json:"user_id,omitempty"`
	Event             string `json:"event,omitempty"`
	Data              string `json:"data,omitempty"`
	SocketID          string `json:"socket_id,omitempty"`
	SubscriptionCount *int   `json:"subscription_count,omitempty"`
}

// Webhook is a webhook request body: {"time_ms": ..., "events": [...]}.
type Webhook struct {
	TimeMs int64          `json:"time_ms"`
	Events []WebhookEvent `json:"events"`
}

// EncodeWebhook is the body of a webhook request.
func EncodeWebhook(timeMs int64, events []WebhookEvent) []byte {
	if events == nil {
		events = []WebhookEvent{}
	}
	return mustMarshal(Webhook{TimeMs: timeMs, Events: events})
}

// ErrWebhookShape wraps every reason ParseWebhook refuses a body.
var ErrWebhookShape = errors.New("webhook body")

// ParseWebhook reads a webhook body as strictly as the documentation gives it: a JSON object with
// a number time_ms and an array events of objects, each with a non-empty string name and a string
// channel. user_id may be a string or a number (as in presence channel_data); data must be a
// string. Unknown fields are allowed: a server may add its own.
func ParseWebhook(body []byte) (Webhook, error) {
	var raw struct {
		TimeMs json.RawMessage   `json:"time_ms"`
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Webhook{}, fmt.Errorf("%w: not a JSON object with time_ms and events: %s", ErrWebhookShape, DescribeJSON(err))
	}
	var w Webhook
	if isNull(raw.TimeMs) {
		return Webhook{}, fmt.Errorf("%w: time_ms is missing", ErrWebhookShape)
	}
	t, err := strconv.ParseInt(string(raw.TimeMs), 10, 64)
	if err != nil || t <= 0 {
		return Webhook{}, fmt.Errorf("%w: time_ms %s is not a positive whole number of milliseconds", ErrWebhookShape, truncated(raw.TimeMs))
	}
	w.TimeMs, w.Events = t, make([]WebhookEvent, 0, len(raw.Events))
	if raw.Events == nil {
		return Webhook{}, fmt.Errorf("%w: events is missing or not an array", ErrWebhookShape)
	}
	for i, r := range raw.Events {
		ev, err := parseWebhookEvent(r)
		if err != nil {
			return Webhook{}, fmt.Errorf("%w: events[%d]: %v", ErrWebhookShape, i, err)
		}
		w.Events = append(w.Events, ev)
	}
	return w, nil
}

func parseWebhookEvent(r json.RawMessage) (WebhookEvent, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(r, &f); err != nil || f == nil {
		return WebhookEvent{}, errors.New("not an object")
	}
	var ev WebhookEvent
	var err error
	if ev.Name, err = optionalString(f["name"], "name"); err != nil || ev.Name == "" {
		return WebhookEvent{}, errors.New("name must be a non-empty string")
	}
	for _, s := range []struct {
		name string
		to   *string
	}{{"channel", &ev.Channel}, {"event", &ev.Event}, {"data", &ev.Data}, {"socket_id", &ev.SocketID}} {
		if *s.to, err = optionalString(f[s.name], s.name); err != nil {
			return WebhookEvent{}, err
		}
	}
	if !isNull(f["user_id"]) {
		if ev.UserID, err = stringOrNumber(f["user_id"]); err != nil {
			return WebhookEvent{}, fmt.Errorf("user_id %v", err)
		}
	}
	if c := f["subscription_count"]; !isNull(c) {
		n, err := strconv.Atoi(string(c))
		if err != nil || n < 0 {
			return WebhookEvent{}, errors.New("subscription_count must be a whole number")
		}
		ev.SubscriptionCount = &n
	}
	return ev, nil
}

// truncated quotes at most 40 bytes of raw JSON for an error.
func truncated(b []byte) string {
	if len(b) > 40 {
		return string(bytes.ToValidUTF8(b[:40], nil)) + "..."
	}
	return string(b)
}
