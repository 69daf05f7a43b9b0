package refserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timing and size defaults, each the Pusher default where Pusher documents one.
const (
	DefaultActivityTimeout    = 120 * time.Second // suggested to clients in connection_established
	DefaultPongTimeout        = 30 * time.Second  // wait for any frame after a server ping, then 4201
	DefaultMaxMessageBytes    = 16 << 10          // largest client frame; a client event's data is capped lower
	DefaultMaxEventData       = 10 << 10          // event data, HTTP API and client events
	DefaultSendQueue          = 4096              // frames queued per connection before 4100
	DefaultSendQueueBytes     = 2 << 20           // bytes of frames queued per connection before 4100
	DefaultClientEventRate    = 10                // client events per second per connection
	DefaultMaxSubscriptions   = 1000              // channels one connection may be subscribed to
	DefaultSubscribeRate      = 100               // subscribes per second per connection, after a burst of MaxSubscriptions + this
	DefaultMaxPresenceMembers = 100
	DefaultMaxPresenceInfo    = 1024 // bytes of user_info per presence member
	DefaultCacheTTL           = 30 * time.Minute
	DefaultWriteTimeout       = 10 * time.Second // one batched write to a socket
	DefaultMaxChannelsPerPub  = 100
	DefaultMaxBatchEvents     = 10
	DefaultMaxHTTPBody        = 256 << 10
)

// App is one application: its credentials and its limits. Zero limits take the defaults above;
// MaxConnections 0 means unlimited.
type App struct {
	ID                 string `json:"id"`
	Key                string `json:"key"`
	Secret             string `json:"secret"`
	Disabled           bool   `json:"disabled,omitempty"`
	ClientEvents       *bool  `json:"client_events,omitempty"` // nil means enabled
	MaxConnections     int    `json:"max_connections,omitempty"`
	MaxPresenceMembers int    `json:"max_presence_members,omitempty"`
	MaxPresenceInfo    int    `json:"max_presence_user_info,omitempty"`
	ClientEventRate    int    `json:"client_event_rate,omitempty"`
	// UserAuthTimeout, when set, closes with 4009 a connection that has neither signed in nor
	// subscribed to an authorized channel within it (Pusher's "authorized connections").
	UserAuthTimeout Duration `json:"user_auth_timeout,omitempty"`
	// ActivityTimeout overrides the server's for this app's connections.
	ActivityTimeout Duration `json:"activity_timeout,omitempty"`
	// EncryptionMasterKey is the base64 32-byte master key the backend uses for encrypted
	// channels. The server never decrypts; it is kept so `pushcert sign` can derive shared secrets.
	EncryptionMasterKey string `json:"encryption_master_key,omitempty"`
	// Webhooks are the URLs the app's webhooks are posted to (webhooks.go).
	Webhooks []Webhook `json:"webhooks,omitempty"`
	// SubscriptionCount opts the app in to subscription counting, as on Pusher: the subscribers
	// of a public or private channel are told its count (pusher_internal:subscription_count)
	// after each subscribe and unsubscribe, past 100 subscribers at most every 5 s (count.go),
	// and the app gets subscription_count webhooks with the count after each change that leaves
	// the channel occupied.
	SubscriptionCount bool `json:"subscription_count,omitempty"`
}

// ClientEventsEnabled reports whether the app accepts client events.
func (a App) ClientEventsEnabled() bool { return a.ClientEvents == nil || *a.ClientEvents }

// Config configures a Server. Zero values take the defaults.
type Config struct {
	Apps            []App
	ActivityTimeout time.Duration
	PongTimeout     time.Duration
	MaxMessageBytes int
	MaxEventData    int
	SendQueue       int
	SendQueueBytes  int // a connection's send queue, in bytes of frames: over it, 4100
	// MaxSubscriptions bounds one connection's channels; SubscribeRate its subscribes a second
	// once it has used a burst of MaxSubscriptions + SubscribeRate (a reconnecting client
	// resubscribes at once).
	MaxSubscriptions int
	SubscribeRate    int
	CacheTTL         time.Duration
	WriteTimeout     time.Duration
	// TimestampWindow bounds the HTTP API's auth_timestamp skew; 0 is 600 s, negative disables.
	TimestampWindow time.Duration
	Logger          *slog.Logger
	// Redis, a redis:// URL, makes this server a node of the cluster of every node on that Redis
	// (redis.go): messages, occupancy and presence are the cluster's. RedisPrefix starts every
	// key and the pub/sub channel (default "pushcert"), so clusters can share a Redis;
	// NodeDeadAfter is how long a silent node lives before the others remove its state.
	Redis         string
	RedisPrefix   string
	NodeDeadAfter time.Duration
	// Broker carries messages between nodes; nil is a single node (or the Redis cluster's).
	Broker Broker
	// Now is the clock; nil is time.Now. Tests move it to check the timestamp window.
	Now func() time.Time
	// Faults break the protocol on purpose (faults.go); the zero value is a correct server.
	Faults Faults
	// Webhook timing (webhooks.go has the delivery contract): events are batched for
	// WebhookBatch (negative: one request per event), channel_vacated and member_removed held for
	// WebhookDebounce (negative: not held), an unacknowledged batch retried after
	// WebhookRetryFirst, doubling, for WebhookRetryFor; WebhookTimeout bounds one request and
	// WebhookQueue the events waiting per URL.
	WebhookBatch, WebhookDebounce, WebhookRetryFor, WebhookRetryFirst, WebhookTimeout time.Duration
	WebhookQueue                                                                      int
}

// hookTiming is the webhook timing with the defaults applied.
func (c Config) hookTiming() hookTiming {
	return hookTiming{batch: c.WebhookBatch, debounce: c.WebhookDebounce, retryFor: c.WebhookRetryFor,
		retryFirst: c.WebhookRetryFirst, timeout: c.WebhookTimeout, queue: c.WebhookQueue}
}

// orDefault sets *p to v when it is the zero value.
func orDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func (c *Config) setDefaults() {
	orDefault(&c.ActivityTimeout, DefaultActivityTimeout)
	orDefault(&c.PongTimeout, DefaultPongTimeout)
	orDefault(&c.CacheTTL, DefaultCacheTTL)
	orDefault(&c.WriteTimeout, DefaultWriteTimeout)
	orDefault(&c.MaxMessageBytes, DefaultMaxMessageBytes)
	orDefault(&c.MaxEventData, DefaultMaxEventData)
	orDefault(&c.MaxSubscriptions, DefaultMaxSubscriptions)
	orDefault(&c.SubscribeRate, DefaultSubscribeRate)
	orDefault(&c.SendQueueBytes, DefaultSendQueueBytes)
	orDefault(&c.SendQueue, DefaultSendQueue)
	orDefault(&c.WebhookBatch, DefaultWebhookBatch)
	orDefault(&c.WebhookDebounce, DefaultWebhookDebounce)
	orDefault(&c.WebhookRetryFor, DefaultWebhookRetryFor)
	orDefault(&c.WebhookRetryFirst, DefaultWebhookRetryFirst)
	orDefault(&c.WebhookTimeout, DefaultWebhookTimeout)
	orDefault(&c.WebhookQueue, DefaultWebhookQueue)
	orDefault(&c.RedisPrefix, "pushcert")
	orDefault(&c.NodeDeadAfter, DefaultNodeDeadAfter)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	for i := range c.Apps {
		a := &c.Apps[i]
		orDefault(&a.MaxPresenceMembers, DefaultMaxPresenceMembers)
		orDefault(&a.MaxPresenceInfo, DefaultMaxPresenceInfo)
		orDefault(&a.ClientEventRate, DefaultClientEventRate)
	}
}

// Validate reports configuration errors: no apps, missing credentials, duplicate ids or keys.
func (c Config) Validate() error {
	if len(c.Apps) == 0 {
		return errors.New("no app configured: give --app-id, --key and --secret, or a config file")
	}
	if c.Redis != "" {
		if _, err := redis.ParseURL(c.Redis); err != nil {
			return fmt.Errorf("redis URL %q: %w (give redis://host:port/db or rediss:// for TLS)", c.Redis, err)
		}
		if c.NodeDeadAfter < MinNodeDeadAfter {
			return fmt.Errorf("node dead after %v: at least %v (3 heartbeats), or a node a beat late is taken for dead", c.NodeDeadAfter, MinNodeDeadAfter)
		}
	}
	switch {
	case c.ActivityTimeout < 0:
		return fmt.Errorf("activity timeout %v: must be positive", c.ActivityTimeout)
	case c.PongTimeout < 0:
		return fmt.Errorf("pong timeout %v: must be positive", c.PongTimeout)
	case c.SendQueue < 0 || c.SendQueueBytes < 0 || c.MaxSubscriptions < 0 || c.SubscribeRate < 0:
		return errors.New("limits must not be negative")
	case c.WebhookRetryFor < 0 || c.WebhookRetryFirst < 0 || c.WebhookTimeout < 0 || c.WebhookQueue < 0:
		return errors.New("webhook retry time, first retry, timeout and queue must not be negative")
	}
	ids, keys := map[string]bool{}, map[string]bool{}
	for i, a := range c.Apps {
		if a.ID == "" || a.Key == "" || a.Secret == "" {
			return fmt.Errorf("app %d: id, key and secret are all required", i+1)
		}
		if ids[a.ID] {
			return fmt.Errorf("app %q: duplicate id", a.ID)
		}
		if keys[a.Key] {
			return fmt.Errorf("app %q: duplicate key %q", a.ID, a.Key)
		}
		ids[a.ID], keys[a.Key] = true, true
		if a.MaxConnections < 0 || a.MaxPresenceMembers < 0 || a.MaxPresenceInfo < 0 || a.ClientEventRate < 0 {
			return fmt.Errorf("app %q: limits must not be negative", a.ID)
		}
		for _, w := range a.Webhooks {
			if err := validWebhook(w); err != nil {
				return fmt.Errorf("app %q: %w", a.ID, err)
			}
		}
	}
	return nil
}

// Duration is a time.Duration that reads "30s" or a number of seconds from JSON.
type Duration time.Duration

// UnmarshalJSON accepts "1m30s" or 90 (seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\" or a number of seconds")
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// FileConfig is the JSON config file of `pushcert serve --config`.
type FileConfig struct {
	Addr            string   `json:"addr,omitempty"`
	ActivityTimeout Duration `json:"activity_timeout,omitempty"`
	PongTimeout     Duration `json:"pong_timeout,omitempty"`
	// Webhook timing for every app (Config has their meaning); zero is the default.
	WebhookBatch      Duration `json:"webhook_batch,omitempty"`
	WebhookDebounce   Duration `json:"webhook_debounce,omitempty"`
	WebhookRetryFor   Duration `json:"webhook_retry_for,omitempty"`
	WebhookRetryFirst Duration `json:"webhook_retry_first,omitempty"`
	WebhookTimeout    Duration `json:"webhook_timeout,omitempty"`
	WebhookQueue      int      `json:"webhook_queue,omitempty"`
	// Redis makes the server a node of a cluster (Config has the meaning of each).
	Redis         string   `json:"redis,omitempty"`
	RedisPrefix   string   `json:"redis_prefix,omitempty"`
	NodeDeadAfter Duration `json:"node_dead_after,omitempty"`
	Apps          []App    `json:"apps"`
}

// LoadFile reads a JSON config file; unknown fields are errors, to catch typos.
func LoadFile(path string) (FileConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileConfig{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var fc FileConfig
	if err := dec.Decode(&fc); err != nil {
		return FileConfig{}, fmt.Errorf("config %s: %w", path, err)
	}
	return fc, nil
}
