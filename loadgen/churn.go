package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/pushcert/pushcert/internal/ticketing"
	"github.com/pushcert/pushcert/reports"
)

// runEphemeral plays the churn and private scenarios of a room: on the room's timetable a new
// client connects, goes through the auth endpoint and subscribes (churn: the room's seat map, a
// presence channel; private: its own customer channel and the seat map), then leaves: at once
// (private) or after Lifetime (churn). Their connect and subscribe latencies are recorded; at
// the end no user of theirs may remain a member anywhere (ghost members).
func (r *runner) runEphemeral(ctx context.Context, rm *room, p Pacer) {
	p.Run(ctx, func(i int64, due time.Time) {
		c, cust, ok := r.arriving(rm, "Churning")
		if !ok {
			return
		}
		if r.priv {
			c.channels = []string{ticketing.CustomerChannel(cust.ID), rm.seats}
		}
		r.arrivals.Add(1)
		lifetime := r.cfg.Lifetime
		if !r.churn {
			lifetime = 0
		}
		r.ephemerals.Add(1)
		go func() {
			defer r.ephemerals.Done()
			// An arriving browser retries a refused connection, as one would during a restart.
			for attempt := 0; ; attempt++ {
				err := c.connect(r.life)
				if err == nil {
					break
				}
				if attempt == arrivalAttempts-1 || r.life.Err() != nil {
					return
				}
				time.Sleep(retryWait << attempt)
			}
			r.ghostMu.Lock()
			r.gone[c.userID] = true // as the auth endpoint named it
			r.ghostMu.Unlock()
			r.joined.Add(1)
			time.Sleep(lifetime)
			c.closeConn()
			<-c.done
		}()
	}, r.lagged(rm))
}

// runSilent plays the silent scenario of a room (silent.go): on the room's timetable a new
// client joins the seat map and goes silent.
func (r *runner) runSilent(ctx context.Context, rm *room, p Pacer) {
	p.Run(ctx, func(i int64, due time.Time) {
		c, _, ok := r.arriving(rm, "Silent")
		if !ok {
			return
		}
		r.ephemerals.Add(1)
		go func() {
			defer r.ephemerals.Done()
			if c.connect(r.life) == nil { // a client that could not connect is in the errors
				c.silence()
				r.silenced.add(c, c.userID)
			}
		}()
	}, r.lagged(rm))
}

// arriving makes a new arriving client of rm, a customer of the seed application with a token,
// headed for the room's seat map; false when no token could be issued (counted).
func (r *runner) arriving(rm *room, kind string) (*lclient, ticketing.Customer, bool) {
	cust := r.dir.AddCustomer(ticketing.Customer{FirstName: kind, FullName: kind + " Client"})
	tok, err := r.dir.IssueToken(cust.ID)
	if err != nil {
		r.rec.Error("token")
		return nil, cust, false
	}
	c := newClient(r, r.arrivingIndex(), 0, rm, tok)
	c.ephemeral, c.channels = true, []string{rm.seats}
	return c, cust, true
}

// arrivingIndex is a new arriving client's index, unique over every shard and past the planned
// clients' (it is {client} in --auth-header, so an application tells them apart).
func (r *runner) arrivingIndex() int {
	return r.cfg.Clients + int(r.arrived.Add(1)-1)*r.cfg.Shards + r.cfg.Shard
}

// arrivalAttempts is how often an arriving client tries to connect.
const arrivalAttempts = 4

// ghostCheck asks the HTTP API for the members of every room's seat map after the run: a user of
// a client that left must not be there.
func (r *runner) ghostCheck(ctx context.Context) reports.Check {
	ghosts, rooms := 0, 0
	for _, rm := range r.rooms {
		if rm.idx%r.cfg.Shards != r.cfg.Shard {
			continue
		}
		rooms++
		resp, err := r.api.Do(ctx, http.MethodGet, "/channels/"+rm.seats+"/users", nil, nil)
		if err != nil || resp.Status != http.StatusOK {
			return reports.Check{Name: "no ghost members", Pass: false, Detail: fmt.Sprintf("users of %s: %v %d %s", rm.seats, err, resp.Status, resp.Body)}
		}
		var users struct {
			Users []struct {
				ID string `json:"id"`
			} `json:"users"`
		}
		if err := json.Unmarshal(resp.Body, &users); err != nil {
			return reports.Check{Name: "no ghost members", Pass: false, Detail: err.Error()}
		}
		r.ghostMu.Lock()
		for _, u := range users.Users {
			if r.gone[u.ID] {
				ghosts++
			}
		}
		r.ghostMu.Unlock()
	}
	seen := r.ghostsSeen()
	joined, arrived := r.joined.Load(), r.arrivals.Load()
	return reports.Check{Name: "no ghost members", Pass: ghosts == 0 && seen == 0 && joined > 0 && joined == arrived,
		Detail: fmt.Sprintf("%d of %d arriving clients joined and left; %d of their users still listed by the server in %d rooms; %d staying clients still see one",
			joined, arrived, ghosts, rooms, seen)}
}

// ghostsSeen counts the staying clients whose member list, kept from member_added and
// member_removed, still holds a departed client.
func (r *runner) ghostsSeen() int {
	if !r.churn && !r.priv {
		return 0
	}
	seen := 0
	r.ghostMu.Lock()
	defer r.ghostMu.Unlock()
	for _, c := range r.clients {
		c.mu.Lock()
		for id, in := range c.members {
			if in && r.gone[id] {
				seen++
				break
			}
		}
		c.mu.Unlock()
	}
	return seen
}
