package loadgen

import (
	"math/rand/v2"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// Reconnection timing.
const (
	reconnectBackoff = time.Second            // after 4100-4199 and abnormal closes
	retryWait        = 100 * time.Millisecond // after a failed attempt, doubling ...
	maxRetryWait     = 2 * time.Second        // ... up to this
)

// reconnect brings the client back after a close with code (0: no close frame), if the protocol
// says to and the run is not ending. It records the reconnection time (close to resubscribed) and
// the away window, and forgets the seat map: what changed meanwhile is not sent again.
func (c *lclient) reconnect(code int) bool {
	r := c.r
	wait := reconnectBackoff
	retry := protocol.ActionFor(code) == protocol.ActionRetry
	switch protocol.ActionFor(code) {
	case protocol.ActionRetry:
		wait = 0
	case protocol.ActionRefused, protocol.ActionTLSOnly:
		return false
	}
	from := time.Now()
	var held time.Duration // waiting for the generator's admission, not for the server
	gaveUp := func() bool {
		// The run ended first: the client was away from its close to the end.
		c.mu.Lock()
		defer c.mu.Unlock()
		c.markAway(window{from.Add(-awayGrace).UnixNano(), time.Now().UnixNano(), retry, true})
		return false
	}
	for attempt := 0; ; attempt++ {
		if wait > 0 {
			select {
			case <-r.life.Done():
				return gaveUp()
			case <-time.After(wait):
			}
		}
		asked := time.Now()
		if !r.redials.acquire(r.life) {
			return gaveUp()
		}
		held += time.Since(asked)
		err := c.establish(r.life)
		r.redials.release(err == nil)
		if r.life.Err() != nil { // the run ended meanwhile; closeConn may have missed the new socket
			c.closeConn()
			return gaveUp()
		}
		if err == nil {
			break
		}
		wait = min(maxRetryWait, retryWait<<min(attempt, 8)) + time.Duration(rand.Int64N(int64(retryWait)))
	}
	now := time.Now()
	r.rec.Record(MetricReconnect, now.Sub(from)-held, c.idx)
	r.rec.Reconnects.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markAway(window{from.Add(-awayGrace).UnixNano(), now.UnixNano(), retry, false})
	for i := range c.seats {
		c.seats[i] = seatUnknown
	}
	return true
}

// markAway records that the client was away during w, joining it to the last window when they
// meet; the caller holds mu.
func (c *lclient) markAway(w window) {
	if n := len(c.away); n > 0 && c.away[n-1].to >= w.from {
		c.away[n-1].to = max(c.away[n-1].to, w.to)
		c.away[n-1].retry = c.away[n-1].retry || w.retry
		c.away[n-1].open = w.open
		return
	}
	c.away = append(c.away, w)
}
