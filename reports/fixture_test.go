package reports

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./reports -update and review the diff)\n%s",
			name, firstDiff(got, want))
	}
}

func firstDiff(got, want []byte) string {
	gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := range max(len(gl), len(wl)) {
		var g, w []byte
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if !bytes.Equal(g, w) {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, g, w)
		}
	}
	return ""
}

// t0 is when the fixture run started.
var t0 = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)

// frames builds a wire log: each entry is ms after start, connection, direction, text.
type frame struct {
	ms   int
	conn string
	dir  string
	text string
}

func wireLog(start time.Time, fs ...frame) []WireEntry {
	out := make([]WireEntry, len(fs))
	for i, f := range fs {
		out[i] = WireEntry{At: start.Add(time.Duration(f.ms) * time.Millisecond), Conn: f.conn, Dir: f.dir, Text: f.text}
	}
	return out
}

func passed(kw, text string) Step { return Step{Keyword: kw, Text: text, Status: StepPassed} }

// fixtureReport is a realistic run against a third-party server that declares some capabilities:
// 19 cases over 6 areas, every outcome, wire logs, expected and actual. Cases are deliberately
// out of order: every rendering must sort them.
func fixtureReport() *Conformance {
	const est = `{"event":"pusher:connection_established","data":"{\"socket_id\":\"1234.5678\",\"activity_timeout\":120}"}`
	s := t0.Add(2 * time.Second)

	// PRES-004: a long wire log, so the console shows only its end.
	presWire := []frame{
		{0, "alice#1", "<-", `{"event":"pusher:connection_established","data":"{\"socket_id\":\"101.1\",\"activity_timeout\":120}"}`},
		{3, "alice#1", "->", `{"event":"pusher:subscribe","data":{"channel":"presence-seatmap-e42-9c1f","auth":"app-key:5f0c…","channel_data":"{\"user_id\":\"u-1\",\"user_info\":{\"name\":\"Alice\"}}"}}`},
		{9, "alice#1", "<-", `{"event":"pusher_internal:subscription_succeeded","channel":"presence-seatmap-e42-9c1f","data":"{\"presence\":{\"count\":1,\"ids\":[\"u-1\"],\"hash\":{\"u-1\":{\"name\":\"Alice\"}}}}"}`},
		{12, "bob#1", "<-", `{"event":"pusher:connection_established","data":"{\"socket_id\":\"102.1\",\"activity_timeout\":120}"}`},
		{14, "bob#1", "->", `{"event":"pusher:subscribe","data":{"channel":"presence-seatmap-e42-9c1f","auth":"app-key:91ab…","channel_data":"{\"user_id\":\"u-2\",\"user_info\":{\"name\":\"Bob\"}}"}}`},
		{19, "bob#1", "<-", `{"event":"pusher_internal:subscription_succeeded","channel":"presence-seatmap-e42-9c1f","data":"{\"presence\":{\"count\":2,\"ids\":[\"u-1\",\"u-2\"],\"hash\":{\"u-1\":{\"name\":\"Alice\"},\"u-2\":{\"name\":\"Bob\"}}}}"}`},
		{19, "alice#1", "<-", `{"event":"pusher_internal:member_added","channel":"presence-seatmap-e42-9c1f","data":"{\"user_id\":\"u-2\",\"user_info\":{\"name\":\"Bob\"}}"}`},
		{22, "bob#2", "<-", `{"event":"pusher:connection_established","data":"{\"socket_id\":\"103.1\",\"activity_timeout\":120}"}`},
		{24, "bob#2", "->", `{"event":"pusher:subscribe","data":{"channel":"presence-seatmap-e42-9c1f","auth":"app-key:77de…","channel_data":"{\"user_id\":\"u-2\",\"user_info\":{\"name\":\"Bob\"}}"}}`},
		{29, "bob#2", "<-", `{"event":"pusher_internal:subscription_succeeded","channel":"presence-seatmap-e42-9c1f","data":"{\"presence\":{\"count\":2,\"ids\":[\"u-1\",\"u-2\"],\"hash\":{\"u-1\":{\"name\":\"Alice\"},\"u-2\":{\"name\":\"Bob\"}}}}"}`},
		{31, "bob#1", "->", `{"event":"client-seat-hover","channel":"presence-seatmap-e42-9c1f","data":{"seat":"B12"}}`},
		{40, "bob#1", "->", `close 1000`},
		{41, "bob#1", "<-", `close 1000`},
		{60, "alice#1", "->", `{"event":"pusher:ping","data":{}}`},
		{62, "alice#1", "<-", `{"event":"pusher:pong","data":"{}"}`},
		{70, "bob#2", "->", `close 1000`},
		{71, "bob#2", "<-", `close 1000`},
		{1070, "alice#1", "->", `{"event":"pusher:ping","data":{}}`},
		{1072, "alice#1", "<-", `{"event":"pusher:pong","data":"{}"}`},
		{2070, "alice#1", "->", `{"event":"pusher:ping","data":{}}`},
		{2071, "alice#1", "<-", `{"event":"pusher:pong","data":"{}"}`},
		{3070, "alice#1", "->", `{"event":"pusher:ping","data":{}}`},
		{3072, "alice#1", "<-", `{"event":"pusher:pong","data":"{}"}`},
		{4070, "alice#1", "->", `{"event":"pusher:ping","data":{}}`},
		{4071, "alice#1", "<-", `{"event":"pusher:pong","data":"{}"}`},
	}

	c := &Conformance{
		Suite:          Suite{Name: "pushcert", Version: "0.4.0"},
		Implementation: Implementation{Name: "Acme Realtime", Version: "2.3.1"},
		Target: Target{
			WebSocketURL: "wss://rt.acme.example/app/acme-key",
			APIURL:       "https://rt.acme.example",
			AppID:        "4711",
		},
		Capabilities: []string{"webhooks", "http-api", "presence", "user-auth"},
		Areas:        []string{"Connection", "Public channels", "Private channels", "Presence channels", "Client events", "HTTP API"},
		Started:      t0,
		Finished:     t0.Add(38*time.Second + 412*time.Millisecond),
		DurationMS:   38412,
		Cases: []Case{
			{
				ID: "PRES-004", Name: "member_removed is sent when the last connection of a user closes",
				Area: "Presence channels", Level: LevelMust, Capabilities: []string{"presence"}, Checklist: []int{4},
				Spec:     "§2.4 Presence channels (Pusher presence channels)",
				Sentence: "member_removed is sent when the user's last connection leaves, by unsubscribe or by socket close.",
				Outcome:  OutcomeFail,
				Message:  "no pusher_internal:member_removed for user u-2 within 5s after its last connection closed",
				Expected: `{"event":"pusher_internal:member_removed","channel":"presence-seatmap-e42-9c1f","data":{"user_id":"u-2"}}`,
				Actual:   "no frame on presence-seatmap-e42-9c1f for alice#1 within 5s\n(member_added for u-2 was received at +0.019s)",
				Steps: []Step{
					passed("Given ", `"alice" is subscribed to the seat map of event "e42"`),
					passed("And ", `"bob" is subscribed to the seat map of event "e42" on 2 connections`),
					passed("When ", `"bob" closes his first connection`),
					passed("Then ", `"alice" receives no "member_removed" for "bob" within 1s`),
					passed("When ", `"bob" closes his second connection`),
					{Keyword: "Then ", Text: `"alice" receives "member_removed" for "bob" within 5s`, Status: StepFailed,
						Error: "timeout after 5s waiting for pusher_internal:member_removed on presence-seatmap-e42-9c1f"},
					{Keyword: "And ", Text: `the member count of the seat map is 1`, Status: StepSkipped},
				},
				Wire:       wireLog(s, presWire...),
				DurationMS: 5107,
			},
			{
				ID: "CONN-001", Name: "Connecting returns connection_established with a socket_id and activity_timeout",
				Area: "Connection", Level: LevelMust, Checklist: []int{1}, Outcome: OutcomePass,
				Steps: []Step{
					passed("When ", `a client connects with protocol 7`),
					passed("Then ", `it receives "pusher:connection_established" within 2s`),
					passed("And ", `the socket_id matches "^\d+\.\d+$"`),
				},
				Wire:       wireLog(t0.Add(120*time.Millisecond), frame{0, "c1", "<-", est}),
				DurationMS: 41,
			},
			{
				ID: "CONN-002", Name: "A pusher:ping is answered with pusher:pong",
				Area: "Connection", Level: LevelMust, Checklist: []int{1}, Outcome: OutcomePass, DurationMS: 37,
			},
			{
				ID: "CONN-003", Name: "An unsupported protocol version is closed with code 4007",
				Area: "Connection", Level: LevelShould, Outcome: OutcomeNonStrict,
				Message:  "the connection was closed with 4000 instead of 4007 (Unsupported protocol version)",
				Expected: "close frame with code 4007",
				Actual:   "close frame with code 4000: \"Unsupported protocol version 3\"",
				Steps: []Step{
					passed("When ", `a client connects with protocol 3`),
					{Keyword: "Then ", Text: `the connection is closed with code 4007`, Status: StepFailed,
						Error: "got close code 4000, want 4007"},
				},
				Wire: wireLog(t0.Add(300*time.Millisecond),
					frame{0, "c1", "->", "GET /app/acme-key?protocol=3&client=pushcert&version=0.4.0"},
					frame{4, "c1", "<-", `{"event":"pusher:error","data":{"code":4000,"message":"Unsupported protocol version 3"}}`},
					frame{5, "c1", "<-", `close 4000 "Unsupported protocol version 3"`},
				),
				DurationMS: 18,
			},
			{
				ID: "CONN-004", Name: "A client whose network drops reconnects and resubscribes",
				Area: "Connection", Level: LevelMust, Checklist: []int{12}, NeedsControl: true,
				Outcome: OutcomeSkipped, Message: "needs control of the server (@needs:control); this target offers none",
			},
			{
				ID: "PUB-001", Name: "Subscribing to a public channel needs no authentication",
				Area: "Public channels", Level: LevelMust, Checklist: []int{2}, Outcome: OutcomePass, DurationMS: 22,
			},
			{
				ID: "PUB-002", Name: "A ticket availability update reaches every subscriber of the event",
				Area: "Public channels", Level: LevelMust, Capabilities: []string{"http-api"}, Checklist: []int{13, 5},
				Outcome: OutcomePass, DurationMS: 64,
			},
			{
				ID: "PUB-003", Name: "Event data published as an object is delivered as a string or an object",
				Area: "Public channels", Level: LevelInfo, Capabilities: []string{"http-api"}, Outcome: OutcomeInfo,
				Message: "data was delivered as a JSON string (the spec allows both forms)",
				Actual:  `"data":"{\"event_id\":\"e42\",\"available\":41}"`,
				Wire: wireLog(t0.Add(900*time.Millisecond),
					frame{0, "http", "->", `POST /apps/4711/events {"name":"ticket.availability","channels":["event-e42-7d0a"],"data":"{\"event_id\":\"e42\",\"available\":41}"}`},
					frame{11, "http", "<-", `200 {}`},
					frame{13, "c1", "<-", `{"event":"ticket.availability","channel":"event-e42-7d0a","data":"{\"event_id\":\"e42\",\"available\":41}"}`},
				),
				DurationMS: 29,
			},
			{
				ID: "PRIV-001", Name: "A subscription with a valid signature succeeds",
				Area: "Private channels", Level: LevelMust, Checklist: []int{3}, Outcome: OutcomePass, DurationMS: 25,
			},
			{
				ID: "PRIV-002", Name: "A subscription signed with the wrong secret is refused with 4009",
				Area: "Private channels", Level: LevelMust, Checklist: []int{3, 6}, Outcome: OutcomeFail,
				Message:  "the server accepted a subscription to private-orders-u1-3b2e signed with the wrong secret",
				Expected: `{"event":"pusher:error","channel":"private-orders-u1-3b2e","data":{"code":4009,"message":"Invalid signature: ..."}}`,
				Actual:   `{"event":"pusher_internal:subscription_succeeded","channel":"private-orders-u1-3b2e","data":"{}"}`,
				Steps: []Step{
					passed("Given ", `a client is connected`),
					passed("When ", `it subscribes to "private-orders-u1" with a signature made with the wrong secret`),
					{Keyword: "Then ", Text: `it receives "pusher:error" with code 4009 within 2s`, Status: StepFailed,
						Error: "got pusher_internal:subscription_succeeded, want pusher:error 4009"},
				},
				Wire: wireLog(t0.Add(1500*time.Millisecond),
					frame{0, "c1", "<-", `{"event":"pusher:connection_established","data":"{\"socket_id\":\"211.9\",\"activity_timeout\":120}"}`},
					frame{2, "c1", "->", `{"event":"pusher:subscribe","data":{"auth":"acme-key:0000badc0ffee","channel":"private-orders-u1-3b2e"}}`},
					frame{6, "c1", "<-", `{"event":"pusher_internal:subscription_succeeded","channel":"private-orders-u1-3b2e","data":"{}"}`},
				),
				DurationMS: 31,
			},
			{
				ID: "PRIV-003", Name: "The error for a refused subscription names the channel",
				Area: "Private channels", Level: LevelShould, Checklist: []int{3}, Outcome: OutcomePass, DurationMS: 24,
			},
			{
				ID: "PRES-001", Name: "subscription_succeeded lists every member with its user_info",
				Area: "Presence channels", Level: LevelMust, Capabilities: []string{"presence"}, Checklist: []int{4, 7},
				Outcome: OutcomePass, DurationMS: 58,
			},
			{
				ID: "PRES-005", Name: "Two connections of one user count as one member",
				Area: "Presence channels", Level: LevelMust, Capabilities: []string{"presence"}, Checklist: []int{13},
				Outcome: OutcomePass, DurationMS: 77,
			},
			{
				ID: "PRES-007", Name: "A full presence channel refuses the next member with code 4100",
				Area: "Presence channels", Level: LevelShould, Capabilities: []string{"presence"}, NeedsControl: false,
				Outcome:    OutcomeNonStrict,
				Message:    "the 101st member was refused with code 4009 instead of 4100",
				Expected:   `{"event":"pusher:error","channel":"presence-seatmap-e42-51aa","data":{"code":4100,"message":"..."}}`,
				Actual:     `{"event":"pusher:error","channel":"presence-seatmap-e42-51aa","data":{"code":4009,"message":"Over capacity"}}`,
				DurationMS: 1840,
			},
			{
				ID: "CLI-001", Name: "A client event reaches the other subscribers but not its sender",
				Area: "Client events", Level: LevelMust, Capabilities: []string{"client-events"}, Checklist: []int{7, 8},
				Outcome: OutcomeNotSupported, Message: "capability client-events not declared by the target",
			},
			{
				ID: "CLI-002", Name: "Client events above the rate limit are refused with 4301",
				Area: "Client events", Level: LevelShould, Capabilities: []string{"rate-limits", "client-events"}, Checklist: []int{11},
				Outcome: OutcomeNotSupported, Message: "capabilities client-events, rate-limits not declared by the target",
			},
			{
				ID: "API-001", Name: "A signed trigger returns 200 and delivers the event",
				Area: "HTTP API", Level: LevelMust, Capabilities: []string{"http-api"}, Checklist: []int{5, 6},
				Outcome: OutcomePass, DurationMS: 48,
			},
			{
				ID: "API-002", Name: "A trigger with a bad signature is refused with 401",
				Area: "HTTP API", Level: LevelMust, Capabilities: []string{"http-api"}, Outcome: OutcomePass, DurationMS: 12,
			},
			{
				ID: "API-004", Name: "GET /channels reports user_count for presence channels",
				Area: "HTTP API", Level: LevelInfo, Capabilities: []string{"http-api", "presence"}, Outcome: OutcomeInfo,
				Message:    "user_count is returned only when info=user_count is requested",
				Actual:     `{"channels":{"presence-seatmap-e42-77b0":{}}}`,
				DurationMS: 35,
			},
			{
				ID: "API-010", Name: "A batch of 11 events is refused with 400",
				Area: "HTTP API", Level: LevelShould, Capabilities: []string{"http-api"},
				Outcome: OutcomeSkipped, Message: "deselected with --cases",
			},
		},
	}
	c.Summarize()
	return c
}

// matrixFixture is three implementations: the reference server, the fixture's vendor, and an
// older run that lacks two cases.
func matrixFixture() []*Conformance {
	ref := fixtureReport()
	ref.Implementation = Implementation{Name: "pushcert reference server", Version: "0.4.0"}
	ref.Target = Target{WebSocketURL: "ws://127.0.0.1:41823/app/pushcert", APIURL: "http://127.0.0.1:41823", AppID: "pushcert", Embedded: true}
	ref.Capabilities = []string{"cache-channels", "client-events", "encrypted", "http-api", "presence", "rate-limits", "user-auth", "webhooks"}
	for i := range ref.Cases {
		k := &ref.Cases[i]
		k.Message, k.Expected, k.Actual, k.Steps, k.Wire = "", "", "", nil, nil
		switch k.Level {
		case LevelInfo:
			k.Outcome, k.Message = OutcomeInfo, "recorded"
		default:
			k.Outcome = OutcomePass
		}
		if k.ID == "API-010" {
			k.Outcome = OutcomeSkipped
		}
	}
	ref.Summarize()

	acme := fixtureReport()

	relay := fixtureReport()
	relay.Implementation = Implementation{Name: "Relay", Version: "0.9.2"}
	relay.Suite.Version = "0.3.1"
	relay.Started = t0.Add(-72 * time.Hour)
	relay.Capabilities = append(relay.Capabilities, "client-events", "rate-limits")
	var kept []Case
	for _, k := range relay.Cases {
		switch k.ID {
		case "PRES-007", "API-010":
			continue // not in suite 0.3.1
		case "PRES-004", "PRIV-002":
			k.Outcome = OutcomePass
		case "CONN-003":
			k.Outcome = OutcomePass
		case "CLI-001":
			k.Outcome = OutcomeFail
			k.Message = "the sender received its own client event"
		case "CLI-002":
			k.Outcome = OutcomeNonStrict
		}
		kept = append(kept, k)
	}
	relay.Cases = kept
	relay.Summarize()
	return []*Conformance{ref, acme, relay}
}
