package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/protocol"
)

func httpAPISteps(sc *godog.ScenarioContext) {
	sc.Step(`^the app sends (GET|POST) "([^"]+)"$`, func(ctx context.Context, method, path string) error {
		return apiRequest(ctx, method, path, "", "")
	})
	sc.Step(`^the app sends (GET|POST) "([^"]+)" with the body:$`, func(ctx context.Context, method, path string, doc *godog.DocString) error {
		return apiRequest(ctx, method, path, doc.Content, "")
	})
	sc.Step(`^the app sends (GET|POST) "([^"]+)" (with a stale timestamp|with a future timestamp|with a wrong body_md5|with a bad signature|with uppercase query keys|with another app's key|without a signature)(?: and the body:)?$`,
		func(ctx context.Context, method, path, tamper string, doc *godog.DocString) error {
			body := ""
			if doc != nil {
				body = doc.Content
			}
			return apiRequest(ctx, method, path, body, tamper)
		})
	sc.Step(`^the app triggers "([^"]+)" on "([^"]+)" with (\d+) bytes of data$`, func(ctx context.Context, event, channel string, n int) error {
		w := world(ctx)
		body, _ := json.Marshal(client.Event{Name: event, Data: strings.Repeat("x", n), Channels: []string{w.Channel(channel)}})
		return apiRequest(ctx, "POST", "/events", string(body), "")
	})
	sc.Step(`^the app triggers "([^"]+)" on "([^"]+)" with data that is not valid UTF-8$`, func(ctx context.Context, event, channel string) error {
		w := world(ctx)
		body := fmt.Sprintf(`{"name":%q,"channels":[%q],"data":"{\"left\":\"%s\"}"}`, event, w.Channel(channel), notUTF8)
		return apiRequest(ctx, "POST", "/events", body, "")
	})
	sc.Step(`^the app triggers "([^"]+)" on (\d+) channels$`, func(ctx context.Context, event string, n int) error {
		w := world(ctx)
		var chans []string
		for i := 0; i < n; i++ {
			chans = append(chans, w.Channel(fmt.Sprintf("many-%d", i)))
		}
		body, _ := json.Marshal(client.Event{Name: event, Data: "{}", Channels: chans})
		return apiRequest(ctx, "POST", "/events", string(body), "")
	})
	sc.Step(`^the app sends a batch of (\d+) events to "([^"]+)"$`, func(ctx context.Context, n int, channel string) error {
		w := world(ctx)
		batch := make([]client.Event, n)
		for i := range batch {
			batch[i] = client.Event{Name: fmt.Sprintf("batch-%d", i), Data: strconv.Itoa(i), Channel: w.Channel(channel)}
		}
		body, _ := json.Marshal(map[string]any{"batch": batch})
		return apiRequest(ctx, "POST", "/batch_events", string(body), "")
	})
	sc.Step(`^the API answers (\d+)$`, func(ctx context.Context, status int) error {
		r, err := lastResponse(ctx)
		if err != nil {
			return err
		}
		if r.Status != status {
			return mismatch(fmt.Sprintf("HTTP %d", status), "%s", describeAnswer(r, status))
		}
		return nil
	})
	sc.Step(`^the API answers (\d+) with:$`, func(ctx context.Context, status int, doc *godog.DocString) error {
		w := world(ctx)
		r, err := lastResponse(ctx)
		if err != nil {
			return err
		}
		want, err := w.expand(doc.Content)
		if err != nil {
			return err
		}
		if r.Status != status || !jsonContains(r.Body, []byte(want)) {
			return mismatch(fmt.Sprintf("HTTP %d with a JSON body containing %s", status, compact(want)), "HTTP %d %s", r.Status, r.Body)
		}
		return nil
	})
	sc.Step(`^the API answers (\d+) with exactly:$`, func(ctx context.Context, status int, doc *godog.DocString) error {
		r, err := lastResponse(ctx)
		if err != nil {
			return err
		}
		want, err := world(ctx).expand(doc.Content)
		if err != nil {
			return err
		}
		if r.Status != status || !jsonEqual(r.Body, []byte(want)) {
			return mismatch(fmt.Sprintf("HTTP %d with exactly %s", status, compact(want)), "HTTP %d %s", r.Status, r.Body)
		}
		return nil
	})
	sc.Step(`^the API reads "([^"]+)" unoccupied `+within+`$`, func(ctx context.Context, channel, secs string) error {
		return awaitUnoccupied(ctx, world(ctx), channel, seconds(secs))
	})
	sc.Step(`^the API answers a client error$`, func(ctx context.Context) error {
		r, err := lastResponse(ctx)
		if err != nil {
			return err
		}
		if r.Status < 400 || r.Status > 499 {
			return mismatch("HTTP 4xx", "HTTP %d %s", r.Status, r.Body)
		}
		return nil
	})
}

// describeAnswer tells what an answer was, in the terms of the status wanted: a server that
// refuses in the body but answers 200 is told exactly that, not that it accepted the request.
func describeAnswer(r client.Response, want int) string {
	var body struct {
		Error   any `json:"error"`
		Code    any `json:"code"`
		Message any `json:"message"`
	}
	if want >= 400 && r.Status < 300 && json.Unmarshal(r.Body, &body) == nil && (body.Error != nil || body.Code != nil) {
		code := ""
		if body.Code != nil {
			code = fmt.Sprintf(", code %v", body.Code)
		}
		return fmt.Sprintf("refused in the body%s, but HTTP %d: %s", code, r.Status, r.Body)
	}
	return fmt.Sprintf("HTTP %d %s", r.Status, r.Body)
}

func lastResponse(ctx context.Context) (client.Response, error) {
	w := world(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.resp == nil {
		return client.Response{}, fmt.Errorf("no HTTP API request was sent in this scenario")
	}
	return *w.resp, nil
}

// apiRequest sends a request of a feature, signed properly or tampered with as asked.
func apiRequest(ctx context.Context, method, path, body, tamper string) error {
	w := world(ctx)
	path, err := w.expand(path)
	if err != nil {
		return err
	}
	body, err = w.expand(strings.TrimSpace(body))
	if err != nil {
		return err
	}
	pathOnly, rawQuery, _ := strings.Cut(path, "?")
	extra, err := url.ParseQuery(rawQuery)
	if err != nil {
		return err
	}
	t := w.Target
	full := "/apps/" + t.AppID + pathOnly
	now := time.Now()
	switch tamper {
	case "with a stale timestamp":
		now = now.Add(-610 * time.Second)
	case "with a future timestamp":
		now = now.Add(610 * time.Second)
	}
	key := t.Key
	if tamper == "with another app's key" {
		key = "not-" + t.Key
	}
	q := protocol.SignRequest(key, t.Secret, method, full, []byte(body), extra, now)
	switch tamper {
	case "with a wrong body_md5":
		q.Set(protocol.ParamBodyMD5, protocol.BodyMD5([]byte(body+" ")))
		q.Set(protocol.ParamSignature, protocol.HMACHex(t.Secret, protocol.StringToSign(method, full, q)))
	case "with a bad signature":
		q.Set(protocol.ParamSignature, strings.Repeat("0", 64))
	case "without a signature":
		q.Del(protocol.ParamSignature)
	case "with uppercase query keys":
		upper := url.Values{}
		for k, v := range q {
			if k != protocol.ParamSignature {
				upper[strings.ToUpper(k)] = v
			}
		}
		upper.Set(protocol.ParamSignature, protocol.HMACHex(t.Secret, protocol.StringToSign(method, full, upper)))
		q = upper
	}
	r, err := w.API.DoRaw(ctx, method, full+"?"+q.Encode(), []byte(body))
	if err != nil {
		return mismatch("an HTTP answer from "+t.APIURL, "%v", err)
	}
	w.mu.Lock()
	w.resp = &r
	w.mu.Unlock()
	return nil
}

// jsonContains reports whether every member of want is in got, recursively for objects. Arrays
// are compared as multisets: the protocol orders no list it returns (users, channels).
func jsonContains(got, want []byte) bool {
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil {
		return false
	}
	return contains(g, w)
}

func contains(g, w any) bool {
	switch wv := w.(type) {
	case map[string]any:
		gv, ok := g.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range wv {
			if _, ok := gv[k]; !ok || !contains(gv[k], v) {
				return false
			}
		}
		return true
	case []any:
		gv, ok := g.([]any)
		if !ok || len(gv) != len(wv) {
			return false
		}
		used := make([]bool, len(gv))
	next:
		for _, x := range wv {
			for i, y := range gv {
				if !used[i] && contains(y, x) && contains(x, y) {
					used[i] = true
					continue next
				}
			}
			return false
		}
		return true
	default:
		a, _ := json.Marshal(g)
		b, _ := json.Marshal(w)
		return string(a) == string(b)
	}
}

// awaitUnoccupied asks GET /channels/{channel} until it reads occupied false: the server has
// taken in that the channel's last subscriber left.
func awaitUnoccupied(ctx context.Context, w *World, channel string, d time.Duration) error {
	path := "/channels/" + w.Channel(channel)
	deadline := time.Now().Add(w.wait(d))
	var last string
	for {
		r, err := w.API.Do(ctx, http.MethodGet, path, nil, nil)
		var info struct {
			Occupied *bool `json:"occupied"`
		}
		switch {
		case err != nil:
			last = err.Error()
		case r.Status == http.StatusOK && json.Unmarshal(r.Body, &info) == nil && info.Occupied != nil && !*info.Occupied:
			return nil
		default:
			last = fmt.Sprintf("HTTP %d %s", r.Status, r.Body)
		}
		if time.Now().After(deadline) {
			return mismatch(fmt.Sprintf(`GET %s reading {"occupied":false}`, path), "%s after %v", last, w.wait(d))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
