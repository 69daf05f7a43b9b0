package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// API is a client of the Pusher HTTP API that signs every request, as an application backend does.
type API struct {
	BaseURL string // e.g. http://127.0.0.1:6001 (no trailing slash)
	AppID   string
	Key     string
	Secret  string
	HTTP    *http.Client // nil is a client with a 10 s timeout
	Log     *WireLog     // requests and responses, as entries of connection "http"
	Now     func() time.Time
}

// Response is an HTTP API answer.
type Response struct {
	Status int
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(v any) error { return json.Unmarshal(r.Body, v) }

func (a *API) httpClient() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// Do sends a signed request. path is relative to the app, e.g. "/events"; body is sent as JSON
// unless it is a string or []byte.
func (a *API) Do(ctx context.Context, method, path string, query url.Values, body any) (Response, error) {
	full := "/apps/" + a.AppID + path
	b, err := encode(body)
	if err != nil {
		return Response{}, err
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	q := protocol.SignRequest(a.Key, a.Secret, method, full, b, query, now())
	return a.DoRaw(ctx, method, full+"?"+q.Encode(), b)
}

// ErrSwitchingProtocols is an HTTP API that answered 101: it is no HTTP API.
var ErrSwitchingProtocols = errors.New("the HTTP API answered 101 Switching Protocols: is the API URL a WebSocket endpoint?")

// DoRaw sends a request exactly as given (path with its query), for tampered or unsigned ones.
func (a *API) DoRaw(ctx context.Context, method, pathQuery string, body []byte) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(a.BaseURL, "/")+pathQuery, bytes.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	logBody := string(body)
	if len(logBody) > 500 {
		logBody = logBody[:500] + fmt.Sprintf("... (%d bytes)", len(body))
	}
	a.Log.Add("http", Out, method+" "+pathQuery+" "+logBody)
	resp, err := a.httpClient().Do(req)
	if err != nil {
		a.Log.Add("http", In, "error: "+err.Error())
		return Response{}, fmt.Errorf("%s %s: %w", method, pathQuery, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// Its body is the connection itself: a read would wait for as long as the server holds it.
		a.Log.Add("http", In, "101 Switching Protocols")
		return Response{}, fmt.Errorf("%s %s: %w", method, pathQuery, ErrSwitchingProtocols)
	}
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Response{}, err
	}
	a.Log.Add("http", In, fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(rb))))
	return Response{Status: resp.StatusCode, Body: rb}, nil
}

// Event is one event to publish.
type Event struct {
	Name     string   `json:"name"`
	Data     string   `json:"data"`
	Channels []string `json:"channels,omitempty"`
	Channel  string   `json:"channel,omitempty"`
	SocketID string   `json:"socket_id,omitempty"`
	Info     string   `json:"info,omitempty"`
}

// Trigger publishes an event and fails unless the server answers 200.
func (a *API) Trigger(ctx context.Context, ev Event) (Response, error) {
	r, err := a.Do(ctx, http.MethodPost, "/events", nil, ev)
	if err == nil && r.Status != http.StatusOK {
		err = fmt.Errorf("trigger %s: HTTP %d %s", ev.Name, r.Status, r.Body)
	}
	return r, err
}

// TriggerBatch publishes up to 10 events in one request.
func (a *API) TriggerBatch(ctx context.Context, evs []Event) (Response, error) {
	r, err := a.Do(ctx, http.MethodPost, "/batch_events", nil, map[string]any{"batch": evs})
	if err == nil && r.Status != http.StatusOK {
		err = fmt.Errorf("batch: HTTP %d %s", r.Status, r.Body)
	}
	return r, err
}
