package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cucumber/godog"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/protocol"
)

// registerSteps adds every step of the suite to a scenario.
func registerSteps(sc *godog.ScenarioContext) {
	connectionSteps(sc)
	channelSteps(sc)
	presenceSteps(sc)
	clientEventSteps(sc)
	httpAPISteps(sc)
	controlSteps(sc)
	userAuthSteps(sc)
	reconnectSteps(sc)
	burstSteps(sc)
	ticketingSteps(sc)
	webhookSteps(sc)
	clusterSteps(sc)
}

const within = `within (\d+(?:\.\d+)?)s`

func seconds(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Second))
}

// names reads `"alice"`, `"alice" and "bob"` or `"a", "b" and "c"`.
var quoted = regexp.MustCompile(`"([^"]+)"`)

func names(list string) []string {
	var out []string
	for _, m := range quoted.FindAllStringSubmatch(list, -1) {
		out = append(out, m[1])
	}
	return out
}

func connectionSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a client "([^"]+)" connects$`, func(ctx context.Context, name string) error {
		return dialRaw(ctx, name, world(ctx).appURL())
	})
	sc.Step(`^a client "([^"]+)" connects with the query "([^"]*)"$`, func(ctx context.Context, name, query string) error {
		w := world(ctx)
		return dialRaw(ctx, name, w.Target.AppURL(w.Target.Key, query))
	})
	sc.Step(`^a client "([^"]+)" connects with the app key "([^"]+)"$`, func(ctx context.Context, name, key string) error {
		w := world(ctx)
		return dialRaw(ctx, name, w.Target.AppURL(key, "?protocol=7"))
	})
	sc.Step(`^(?:clients?|the client) ((?:"[^"]+"(?:, | and )?)+) (?:are|is) connected$`, func(ctx context.Context, list string) error {
		for _, n := range names(list) {
			if err := dial(ctx, n); err != nil {
				return err
			}
		}
		return nil
	})
	sc.Step(`^"([^"]+)" receives "([^"]+)" `+within+`$`, func(ctx context.Context, name, event, secs string) error {
		_, err := expectEvent(ctx, name, event, "", secs)
		return err
	})
	sc.Step(`^"([^"]+)" receives "([^"]+)" on "([^"]+)" `+within+`$`, func(ctx context.Context, name, event, channel, secs string) error {
		_, err := expectEvent(ctx, name, event, world(ctx).Channel(channel), secs)
		return err
	})
	sc.Step(`^"([^"]+)" does not receive "([^"]+)"(?: on "([^"]+)")? `+within+`$`, func(ctx context.Context, name, event, channel, secs string) error {
		w := world(ctx)
		if channel != "" {
			channel = w.Channel(channel)
		}
		return refute(ctx, name, secs, fmt.Sprintf("no %s", event), func(f client.Frame) bool {
			return f.Msg.Event == event && (channel == "" || f.Msg.Channel == channel)
		})
	})
	sc.Step(`^its data is a JSON string with a socket_id of two integers joined by a dot$`, func(ctx context.Context) error {
		f, _, err := world(ctx).lastFrame()
		if err != nil {
			return err
		}
		if !f.Msg.DataIsString() {
			return mismatch("data double-encoded as a JSON string", "%s", f.Raw)
		}
		var est protocol.ConnectionEstablished
		if err := f.Msg.DecodeData(&est); err != nil || !protocol.ValidSocketID(est.SocketID) {
			return mismatch(`a socket_id like "1234.5678"`, "%s", f.Raw)
		}
		return nil
	})
	sc.Step(`^its data has a positive integer activity_timeout$`, func(ctx context.Context) error {
		f, _, err := world(ctx).lastFrame()
		if err != nil {
			return err
		}
		var d map[string]any
		if err := f.Msg.DecodeData(&d); err != nil {
			return mismatch("JSON object data", "%s", f.Raw)
		}
		v, ok := d["activity_timeout"].(float64)
		if !ok || v <= 0 || v != float64(int(v)) {
			return mismatch("activity_timeout a positive integer (seconds)", "%s", f.Raw)
		}
		return nil
	})
	sc.Step(`^its data is "(.*)"$`, func(ctx context.Context, want string) error {
		f, _, err := world(ctx).lastFrame()
		if err != nil {
			return err
		}
		want, err = world(ctx).expand(unescape(want))
		if err != nil {
			return err
		}
		var got string
		if !f.Msg.DataIsString() || json.Unmarshal(f.Msg.Data, &got) != nil || got != want {
			return mismatch(fmt.Sprintf("data the string %q", want), "%s", f.Raw)
		}
		return nil
	})
	sc.Step(`^its data is:$`, func(ctx context.Context, doc *godog.DocString) error {
		f, _, err := world(ctx).lastFrame()
		if err != nil {
			return err
		}
		want, err := world(ctx).expand(doc.Content)
		if err != nil {
			return err
		}
		got, err := f.Msg.DataBytes()
		if err != nil || !jsonEqual(got, []byte(want)) {
			return mismatch("data (as object or JSON string) equal to "+compact(want), "%s", f.Raw)
		}
		return nil
	})
	sc.Step(`^"([^"]+)" is closed with code (\d+) `+within+`$`, closedWith)
	sc.Step(`^"([^"]+)" is closed `+within+`$`, func(ctx context.Context, name, secs string) error {
		return closedWith(ctx, name, 0, secs)
	})
	sc.Step(`^"([^"]+)" receives a pusher:error with code (\d+|null)(?: on "([^"]+)")? `+within+`$`, func(ctx context.Context, name, code, channel, secs string) error {
		w := world(ctx)
		if channel != "" {
			channel = w.Channel(channel)
		}
		f, err := expect(ctx, name, secs, fmt.Sprintf("pusher:error with code %s", code), func(f client.Frame) bool {
			return f.Msg.Event == protocol.EventError && errorCode(f) == code && (channel == "" || f.Msg.Channel == "" || f.Msg.Channel == channel)
		})
		_ = f
		return err
	})
	sc.Step(`^"([^"]+)" stays connected$`, func(ctx context.Context, name string) error {
		return staysConnected(ctx, name)
	})
	sc.Step(`^the reply "([^"]+)" gets `+within+` is recorded$`, func(ctx context.Context, name, secs string) error {
		return recordReply(ctx, name, secs)
	})
	sc.Step(`^its data encoding is recorded$`, func(ctx context.Context) error {
		w := world(ctx)
		f, name, err := w.lastFrame()
		if err != nil {
			return err
		}
		w.note("%s: %s data %s", name, f.Msg.Event, dataEncoding(f.Msg))
		return nil
	})
	sc.Step(`^the server has read what "([^"]+)" sent$`, func(ctx context.Context, name string) error {
		return readBarrier(ctx, name)
	})
	sc.Step(`^"([^"]+)" sends:$`, func(ctx context.Context, name string, doc *godog.DocString) error {
		w := world(ctx)
		c, err := w.conn(name)
		if err != nil {
			return err
		}
		text, err := w.expand(strings.TrimSpace(doc.Content))
		if err != nil {
			return err
		}
		return c.Send(text)
	})
	sc.Step(`^"([^"]+)" sends a text frame that is not valid UTF-8$`, func(ctx context.Context, name string) error {
		c, err := world(ctx).conn(name)
		if err != nil {
			return err
		}
		return c.Send(`{"event":"pusher:ping","data":{"text":"` + notUTF8 + `"}}`)
	})
	sc.Step(`^"([^"]+)" receives nothing that is not valid UTF-8 `+within+`$`, func(ctx context.Context, name, secs string) error {
		return refute(ctx, name, secs, "no text frame that is not valid UTF-8", func(f client.Frame) bool { return !utf8.ValidString(f.Raw) })
	})
	sc.Step(`^"([^"]+)" sends a binary frame$`, func(ctx context.Context, name string) error {
		c, err := world(ctx).conn(name)
		if err != nil {
			return err
		}
		return c.SendBinary([]byte{0x01, 0x02, 0x03})
	})
	sc.Step(`^"([^"]+)" (?:disconnects|loses its network)$`, func(ctx context.Context, name string) error {
		c, err := world(ctx).conn(name)
		if err != nil {
			return err
		}
		return c.Close()
	})
	sc.Step(`^"([^"]+)" closes the connection$`, func(ctx context.Context, name string) error {
		c, err := world(ctx).conn(name)
		if err != nil {
			return err
		}
		return c.CloseNormally()
	})
}

// closedWith expects the server to close a client's connection with code (0: any) within secs.
func closedWith(ctx context.Context, name string, code int, secs string) error {
	c, err := world(ctx).conn(name)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, world(ctx).wait(seconds(secs)))
	defer cancel()
	err = c.WaitClosed(wctx)
	var ce *client.CloseError
	switch {
	case code == 0 && (errors.As(err, &ce) || errors.Is(err, client.ErrClosed)):
		return nil
	case errors.As(err, &ce) && ce.Code == code:
		return nil
	case errors.As(err, &ce):
		return mismatch(fmt.Sprintf("close code %d", code), "close code %d %q", ce.Code, ce.Text)
	case errors.Is(err, context.DeadlineExceeded):
		return mismatch(fmt.Sprintf("close code %d within %ss", code, secs), "still open; received: %s", describePending(c))
	default:
		return mismatch(fmt.Sprintf("close code %d", code), "%v", err)
	}
}

// staysConnected pings and waits: a pong proves the connection alive at once; without one (a
// server may be slow to pong, or not pong at all, which CONN-007 judges) the connection must
// still be open when the wait is over.
func staysConnected(ctx context.Context, name string) error {
	w := world(ctx)
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	if err := c.Send(`{"event":"pusher:ping","data":{}}`); err != nil {
		return mismatch(name+" still connected", "could not write to it: %v", err)
	}
	_, how, code, err := waitFrame(ctx, name, "2", isPong)
	switch {
	case err != nil || how == arrived:
		return err
	case how == timedOut:
		w.note("%s: no pusher:pong within %v, but the connection stayed open", name, w.wait(2*time.Second))
		return nil
	}
	return mismatch(name+" still connected", "the connection was closed (%s)", closeText(code))
}

func isPong(f client.Frame) bool { return f.Msg.Event == protocol.EventPong }

// waited is how a wait for a frame ended.
type waited int

const (
	arrived  waited = iota // a matching frame came, and was taken
	ended                  // the connection ended first
	timedOut               // the wait ran out with the connection open
)

// waitFrame waits up to secs (scaled) for a frame of a client matching match, takes it and
// remembers it for "its ..." steps. It says which of arrived, ended or timedOut happened, with
// the close code when the connection ended; the error is the scenario's own end, or a missing
// client.
func waitFrame(ctx context.Context, name, secs string, match func(client.Frame) bool) (client.Frame, waited, int, error) {
	w := world(ctx)
	c, err := w.conn(name)
	if err != nil {
		return client.Frame{}, timedOut, 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, w.wait(seconds(secs)))
	defer cancel()
	f, err := c.Expect(wctx, match)
	switch {
	case err == nil:
		w.remember(name, f)
		return f, arrived, 0, nil
	case ctx.Err() != nil:
		return f, timedOut, 0, ctx.Err()
	}
	if closed, code := c.Closed(); closed {
		return f, ended, code, nil
	}
	return f, timedOut, 0, nil
}

// recordReply notes the first frame a client gets within the wait, or that none came, or how
// the connection ended: what an INFO case about a reply records. It never fails.
func recordReply(ctx context.Context, name, secs string) error {
	f, how, code, err := waitFrame(ctx, name, secs, func(client.Frame) bool { return true })
	w := world(ctx)
	switch {
	case err != nil:
		return err
	case how == arrived:
		w.note("%s: replied with %s", name, f.Raw)
	case how == ended:
		w.note("%s: no reply; the connection was closed (%s)", name, closeText(code))
	default:
		w.note("%s: no reply within %v; the connection is open", name, w.wait(seconds(secs)))
	}
	return nil
}

// dataEncoding says how a frame carried data: absent, an object, or a JSON string.
func dataEncoding(m protocol.Message) string {
	switch {
	case len(m.Data) == 0:
		return "absent"
	case m.DataIsString():
		return "a JSON string " + string(m.Data)
	case m.Data[0] == '{':
		return "an object " + string(m.Data)
	default:
		return "the JSON value " + string(m.Data)
	}
}

// readBarrier waits until the server has read what a client sent before: frames of one
// connection are read in order, so the pong to a ping sent now comes after them. A server that
// does not pong (CONN-007 judges that) or closes the connection ends the wait too; it never fails.
func readBarrier(ctx context.Context, name string) error {
	c, err := world(ctx).conn(name)
	if err != nil {
		return err
	}
	if c.Send(`{"event":"pusher:ping","data":{}}`) != nil {
		return nil
	}
	_, _, _, err = waitFrame(ctx, name, "2", isPong)
	return err
}

// awaitRefusal waits for the server to refuse what a client asked: a frame isRefusal, or a
// close with a protocol code (noted); a frame isAcceptance instead, a bare drop, or nothing is
// a mismatch. byFrame tells the caller to check that no acceptance follows the error.
func awaitRefusal(ctx context.Context, name, secs, what string, isRefusal, isAcceptance func(client.Frame) bool) (byFrame bool, err error) {
	f, how, code, err := waitFrame(ctx, name, secs, func(f client.Frame) bool { return isRefusal(f) || isAcceptance(f) })
	w := world(ctx)
	switch {
	case err != nil:
		return false, err
	case how == ended && !refusalClose(code):
		return false, mismatch(what+" refused with an error frame or a protocol close code", "the connection ended (%s)", closeText(code))
	case how == ended:
		w.note("%s: %s was refused by closing the connection (%s)", name, what, closeText(code))
		return false, nil
	case how == timedOut:
		c, _ := w.conn(name)
		return false, mismatch(fmt.Sprintf("%s refused (an error frame or a close) within %v", what, w.wait(seconds(secs))), "neither; frames not taken: %s", describePending(c))
	case isAcceptance(f):
		return false, mismatch(what+" refused", "%s", f.Raw)
	}
	return true, nil
}

func dialRaw(ctx context.Context, name, url string) error {
	w := world(ctx)
	dctx, cancel := context.WithTimeout(ctx, w.wait(5*time.Second))
	defer cancel()
	c, err := client.DialRaw(dctx, url, w.Target.Options(client.Options{Name: name, Log: w.Log}))
	if err != nil {
		return mismatch("a WebSocket upgrade at "+url, "%v", err)
	}
	w.setConn(name, c)
	return nil
}

func dial(ctx context.Context, name string) error {
	w := world(ctx)
	dctx, cancel := context.WithTimeout(ctx, w.wait(5*time.Second))
	defer cancel()
	c, err := client.Dial(dctx, w.appURL(), w.Target.Options(client.Options{Name: name, Log: w.Log}))
	if err != nil {
		return mismatch("pusher:connection_established at "+w.appURL(), "%v", err)
	}
	w.setConn(name, c)
	return nil
}

// expect waits for a frame of a client and remembers it for "its ..." steps.
func expect(ctx context.Context, name, secs, what string, match func(client.Frame) bool) (client.Frame, error) {
	f, how, code, err := waitFrame(ctx, name, secs, match)
	if err != nil || how == arrived {
		return f, err
	}
	w := world(ctx)
	c, _ := w.conn(name)
	reason := "nothing matching"
	if how == ended {
		reason = "the connection was closed (" + closeText(code) + ")"
	}
	return f, mismatch(fmt.Sprintf("%s receives %s within %v", name, what, w.wait(seconds(secs))), "%s; frames not taken: %s", reason, describePending(c))
}

func expectEvent(ctx context.Context, name, event, channel, secs string) (client.Frame, error) {
	what := event
	if channel != "" {
		what += " on " + channel
	}
	return expect(ctx, name, secs, what, func(f client.Frame) bool {
		return f.Msg.Event == event && (channel == "" || f.Msg.Channel == channel)
	})
}

// refute waits and fails if a matching frame arrives. A connection that ends meanwhile
// satisfies it (nothing more can arrive), and the close goes into the case's notes.
// notUTF8 is text that is not UTF-8: a lone continuation byte, a truncated sequence and an
// overlong encoding of "/".
const notUTF8 = "caf\xc3 \x80 \xc0\xaf"

func refute(ctx context.Context, name, secs, expected string, match func(client.Frame) bool) error {
	w := world(ctx)
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	if err := c.Refute(ctx, w.wait(seconds(secs)), match); err != nil {
		return mismatch(fmt.Sprintf("%s: %s within %ss", name, expected, secs), "%v", err)
	}
	if closed, code := c.Closed(); closed {
		w.note("%s: %s held: the connection was closed (%s), so nothing more could arrive", name, expected, closeText(code))
	}
	return nil
}

// refusalClose reports whether a close code can be a refusal: one of the protocol's (4000-4999)
// or 1008, policy violation. A close without a code, 1006 or 1011 is a crash, not a refusal.
func refusalClose(code int) bool { return (code >= 4000 && code <= 4999) || code == 1008 }

func closeText(code int) string {
	if code == 0 {
		return "without a close code"
	}
	return fmt.Sprintf("close code %d", code)
}

func errorCode(f client.Frame) string {
	var d struct {
		Code *int `json:"code"`
	}
	if err := f.Msg.DecodeData(&d); err != nil || d.Code == nil {
		return "null"
	}
	return strconv.Itoa(*d.Code)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func compact(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return strings.TrimSpace(s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
