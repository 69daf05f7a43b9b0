package refserver

import "golang.org/x/time/rate"

// allowClientEvent spends one token of the connection's client-event bucket: ClientEventRate per
// second with a burst of the same size, so the 11th event within a second is refused at the
// default of 10. The limiter is made on the first client event, so idle connections pay nothing.
func (c *conn) allowClientEvent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limiter == nil {
		r := c.app.ClientEventRate
		c.limiter = rate.NewLimiter(rate.Limit(r), r)
	}
	return c.limiter.Allow()
}
