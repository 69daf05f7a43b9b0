package ticketing_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/pushcert/pushcert/internal/ticketing"
)

// A scenario creates its own customers and events; the rules of routes/channels.php decide.
func ExampleDirectory_Authorize() {
	dir := ticketing.NewDirectory()
	ana := dir.AddCustomer(ticketing.Customer{FirstName: "Ana", FullName: "Ana Lopez"})
	ben := dir.AddCustomer(ticketing.Customer{FirstName: "Ben"})
	concert := dir.AddEvent(ticketing.Event{Name: "Concert"})

	for _, c := range []struct {
		user    *ticketing.Customer
		channel string
	}{
		{nil, ticketing.EventChannel(concert.ID)},
		{&ana, ticketing.EchoPrivate(fmt.Sprintf("customer.%d", ana.ID))},
		{&ben, ticketing.CustomerChannel(ana.ID)},
		{&ben, ticketing.EchoJoin(fmt.Sprintf("event.%d.seats", concert.ID))},
	} {
		d, err := dir.Authorize(c.user, c.channel)
		fmt.Println(c.channel, d.Allowed, err)
		if d.Member != nil {
			fmt.Println("  channel_data", d.Member.ChannelData())
		}
	}
	// Output:
	// event.3 true <nil>
	// private-customer.1 true <nil>
	// private-customer.1 false <nil>
	// presence-event.3.seats true <nil>
	//   channel_data {"user_id":"2","user_info":{"id":2,"name":"Ben"}}
}

// The auth endpoint answers pusher-js and Echo as Laravel's Broadcast::auth does.
func ExampleAuthHandler() {
	dir := ticketing.NewDirectory()
	ana := dir.AddCustomer(ticketing.Customer{FirstName: "Ana"})
	tok, _ := dir.IssueToken(ana.ID)
	h, _ := ticketing.NewAuthHandler(ticketing.AuthConfig{Key: "k", Secret: "s", Directory: dir,
		RateLimit: 100, RateWindow: time.Minute})

	req := httptest.NewRequest(http.MethodPost, "/broadcasting/auth",
		strings.NewReader("socket_id=123.456&channel_name=presence-event.9.seats"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", tok.Header())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 200 {"auth":"k:e2c8ecc6efd1a6c56731f906a7f48157499c4bfe842cbd73795d01caffb6f181","channel_data":"{\"user_id\":\"1\",\"user_info\":{\"id\":1,\"name\":\"Ana\"}}"}
}
