package refserver

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/pushcert/pushcert/internal/protocol"
)

// signin handles pusher:signin: the ::user:: signature, a non-empty string id, one user per
// connection; then signin_success, the watchlist's current state, and the 4302 warning past 100
// watched ids.
func (c *conn) signin(m protocol.Message) {
	d, err := protocol.ParseSignin(m)
	if err != nil {
		c.sendError(protocol.CodeUnauthorized, "Invalid signin: "+err.Error(), "")
		return
	}
	if !protocol.VerifyUserAuth(c.app.Key, c.app.Secret, c.socketID, d.UserData, d.Auth) {
		c.sendError(protocol.CodeUnauthorized, fmt.Sprintf(
			"Invalid signature: Expected HMAC SHA256 hex digest of %s, but got %s",
			truncate(protocol.UserAuthString(c.socketID, d.UserData), maxEcho), truncate(d.Auth, maxEcho)), "")
		return
	}
	u, err := protocol.ParseUserData(d.UserData)
	if err != nil {
		c.sendError(protocol.CodeUnauthorized, "Invalid signin: "+err.Error(), "")
		return
	}
	if c.srv.cfg.Faults.NoSigninAfterTerminate {
		if _, gone := c.srv.faults.terminated.Load(c.app.ID + "\x00" + u.ID); gone {
			c.sendError(protocol.CodeUnauthorized, "Invalid signin: the user's connections were terminated", "")
			return
		}
	}
	watch := u.Watchlist
	over := len(watch) > protocol.MaxWatchlist
	if over {
		watch = watch[:protocol.MaxWatchlist]
	}
	a := c.app
	a.mu.Lock()
	c.mu.Lock()
	prev := c.userID
	if prev != "" && prev != u.ID {
		c.mu.Unlock()
		a.mu.Unlock()
		c.sendError(protocol.CodeUnauthorized, fmt.Sprintf("Invalid signin: connection is already signed in as %q", prev), "")
		return
	}
	if prev == u.ID {
		same := slices.Equal(c.watchlist, watch) && bytes.Equal(c.userInfo, u.Info)
		c.mu.Unlock()
		a.mu.Unlock()
		if !same { // never ignored in silence: the connection keeps what it signed in with
			c.sendError(protocol.CodeUnauthorized, fmt.Sprintf("Invalid signin: connection is already signed in as %q with other user_info or watchlist; sign in on a new connection to change them", truncate(prev, maxEcho)), "")
			return
		}
		c.enqueueFrame(protocol.EncodeSigninSuccess(d.UserData))
		return
	}
	c.userID, c.userInfo, c.watchlist, c.authed = u.ID, u.Info, watch, true
	c.mu.Unlock()
	// The server knows the user online (in a cluster, every node does) before the connection is
	// told it is signed in; its watchlist's states follow signin_success.
	a.signInLocked(c, u.ID)
	c.enqueueFrame(protocol.EncodeSigninSuccess(d.UserData))
	a.watchLocked(c, watch)
	a.mu.Unlock()
	if over {
		c.sendError(protocol.CodeWatchlistLimit, fmt.Sprintf("Watchlist limit exceeded: only the first %d user ids are watched", protocol.MaxWatchlist), "")
	}
}

// subscribeServerToUser lets a signed-in connection subscribe to its own #server-to-user-<id>
// channel without a channel signature, and refuses everyone else.
func (c *conn) subscribeServerToUser(name string) {
	c.mu.Lock()
	user := c.userID
	c.mu.Unlock()
	foreign := user == "" || name != protocol.ServerToUserChannel(user)
	switch {
	case foreign && c.srv.cfg.Faults.AckForeignUserChannel:
		c.enqueueFrame(protocol.EncodeSubscriptionSucceeded(name, nil))
		return
	case foreign && !c.srv.cfg.Faults.LeakUserChannel:
		c.sendError(protocol.CodeUnauthorized, "Only the connection signed in as that user may subscribe to "+truncate(name, maxEcho), truncate(name, maxEcho))
		return
	}
	c.join(name, nil)
}
