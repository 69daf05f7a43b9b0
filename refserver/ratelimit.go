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

// allowSubscribe spends one token of the connection's subscribe bucket: a burst of
// MaxSubscriptions + SubscribeRate (a reconnecting client resubscribes to everything at once,
// and may still change channels), then SubscribeRate a second.
func (c *conn) allowSubscribe() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subLimit == nil {
		c.subLimit = rate.NewLimiter(rate.Limit(c.srv.cfg.SubscribeRate), c.srv.cfg.MaxSubscriptions+c.srv.cfg.SubscribeRate)
	}
	return c.subLimit.Allow()
}
