package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/pushcert/pushcert/reports"
)

// The silent scenario: clients that join the room's seat map and then stop reading and stop
// answering pings, with their sockets left open, as a browser tab frozen by the OS or a phone
// gone out of coverage does. A server must find them by its own liveness check (a ping after
// the activity timeout, a close when no pong comes: 4201) and take their presence members away;
// servers have leaked connections and ghost members this way. The run waits up to
// Config.SilentWithin after the last client went silent for the server to list none of them and
// for every staying member to have seen their member_removed.

// silence makes c silent: its socket leaves the poller but stays open, so nothing more is read
// from it and nothing is answered.
func (c *lclient) silence() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return
	}
	c.r.pollerOf(c).remove(c.fd)
	c.state = stateSilent
}

// silent keeps the scenario's clients and users.
type silent struct {
	mu      sync.Mutex
	clients []*lclient
	since   map[string]time.Time // user id -> when its client went silent
	last    time.Time
}

// add records a client that went silent now, with its presence user id.
func (s *silent) add(c *lclient, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.since == nil {
		s.since = map[string]time.Time{}
	}
	now := time.Now()
	s.clients = append(s.clients, c)
	s.since[user], s.last = now, now
}

// wentSilent says when user's client went silent, if it is one of them.
func (s *silent) wentSilent(user string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.since[user]
	return t, ok
}

// users are the silent clients' user ids.
func (s *silent) users() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.since))
	for u := range s.since {
		out[u] = true
	}
	return out
}

// close closes the silent clients' sockets at the end of the run.
func (s *silent) close() {
	s.mu.Lock()
	cs := s.clients
	s.mu.Unlock()
	for _, c := range cs {
		c.closeConn()
	}
}

// listed counts the silent users the server still lists in the rooms' seat maps, and the
// staying clients that still see one.
func (r *runner) silentListed(ctx context.Context) (listed, seen int, err error) {
	users := r.silenced.users()
	for _, rm := range r.rooms {
		if rm.idx%r.cfg.Shards != r.cfg.Shard {
			continue
		}
		resp, err := r.api.Do(ctx, http.MethodGet, "/channels/"+rm.seats+"/users", nil, nil)
		if err != nil || resp.Status != http.StatusOK {
			return 0, 0, fmt.Errorf("users of %s: %v %d %s", rm.seats, err, resp.Status, resp.Body)
		}
		var list struct {
			Users []struct {
				ID string `json:"id"`
			} `json:"users"`
		}
		if err := json.Unmarshal(resp.Body, &list); err != nil {
			return 0, 0, err
		}
		for _, u := range list.Users {
			if users[u.ID] {
				listed++
			}
		}
	}
	for _, c := range r.clients {
		c.mu.Lock()
		for id, in := range c.members {
			if in && users[id] {
				seen++
				break
			}
		}
		c.mu.Unlock()
	}
	return listed, seen, nil
}

// silentCheck waits until the server lists no silent user and no staying client sees one, up to
// SilentWithin after the last client went silent, and says how it went.
func (r *runner) silentCheck(ctx context.Context) reports.Check {
	c := reports.Check{Name: "silent clients dropped"}
	r.silenced.mu.Lock()
	n, last := len(r.silenced.since), r.silenced.last
	r.silenced.mu.Unlock()
	if n == 0 {
		c.Detail = "no client went silent (none connected)"
		return c
	}
	deadline := last.Add(r.cfg.SilentWithin)
	for {
		listed, seen, err := r.silentListed(ctx)
		switch {
		case err != nil:
			c.Detail = err.Error()
			return c
		case listed == 0 && seen == 0:
			c.Pass = true
			c.Detail = fmt.Sprintf("the server dropped all %d silent clients' members, and every staying client saw them go, within %s of the last going silent (bound %s)",
				n, time.Since(last).Round(100*time.Millisecond), r.cfg.SilentWithin)
			return c
		case time.Now().After(deadline) || ctx.Err() != nil:
			c.Detail = fmt.Sprintf("%s after the last of %d clients went silent, the server still lists %d of their users and %d staying clients still see one (a server finds silent clients by pinging them after its activity timeout and closing them, 4201, when no pong comes)",
				r.cfg.SilentWithin, n, listed, seen)
			return c
		}
		time.Sleep(500 * time.Millisecond)
	}
}
