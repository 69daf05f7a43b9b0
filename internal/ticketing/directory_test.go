package ticketing_test

import (
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/pushcert/pushcert/internal/ticketing"
)

func itoa(i int) string { return strconv.Itoa(i) }

func TestIDsAreFreshUnderConcurrency(t *testing.T) {
	dir := ticketing.NewDirectory()
	const workers, per = 8, 50
	ids := make(chan int, workers*per*3)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range per {
				c := dir.AddCustomer(ticketing.Customer{FirstName: "x"})
				o, err := dir.AddOrder(ticketing.Order{CustomerID: c.ID})
				if err != nil {
					t.Error(err)
					return
				}
				e := dir.AddEvent(ticketing.Event{TicketTypes: []ticketing.TicketType{{Name: "GA"}}})
				ids <- c.ID
				ids <- o.ID
				ids <- e.ID
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := map[int]bool{}
	for id := range ids {
		if id < 1 || seen[id] {
			t.Fatalf("id %d reused or not positive", id)
		}
		seen[id] = true
	}
	if len(seen) != workers*per*3 {
		t.Fatalf("got %d ids, want %d", len(seen), workers*per*3)
	}
}

func TestNewDirectoryFrom(t *testing.T) {
	dir := ticketing.NewDirectoryFrom(1000)
	if c := dir.AddCustomer(ticketing.Customer{}); c.ID != 1000 {
		t.Errorf("first id: got %d, want 1000", c.ID)
	}
	if id := ticketing.NewDirectoryFrom(-5).NextID(); id != 1 {
		t.Errorf("first id from -5: got %d, want 1", id)
	}
}

func TestTokens(t *testing.T) {
	dir := ticketing.NewDirectory()
	ana := dir.AddCustomer(ticketing.Customer{FirstName: "Ana"})
	tok, err := dir.IssueToken(ana.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := dir.CustomerByToken(tok); !ok || c.ID != ana.ID {
		t.Fatalf("CustomerByToken: got %+v %v, want customer %d", c, ok, ana.ID)
	}
	if tok.Header() != "Bearer "+string(tok) {
		t.Errorf("Header: got %q", tok.Header())
	}
	if !dir.RevokeToken(tok) {
		t.Error("RevokeToken: got false for a valid token")
	}
	if _, ok := dir.CustomerByToken(tok); ok {
		t.Error("revoked token still authenticates")
	}
	if dir.RevokeToken(tok) {
		t.Error("RevokeToken twice: got true")
	}
	if _, err := dir.IssueToken(dir.NextID()); !errors.Is(err, ticketing.ErrNotFound) {
		t.Errorf("IssueToken for a missing customer: got %v, want ErrNotFound", err)
	}
}

func TestRecordsAreCopies(t *testing.T) {
	dir := ticketing.NewDirectory()
	c := dir.AddCustomer(ticketing.Customer{Roles: []string{"admin"}})
	c.Roles[0] = "mutated"
	if got, _ := dir.Customer(c.ID); !got.HasRole("admin") {
		t.Error("changing a returned customer changed the stored one")
	}
	e := dir.AddEvent(ticketing.Event{TicketTypes: []ticketing.TicketType{{Name: "GA", Available: 3}}})
	e.TicketTypes[0].Available = 99
	if got, _ := dir.Event(e.ID); got.TicketTypes[0].Available != 3 {
		t.Errorf("changing a returned event changed the stored one: available %d", got.TicketTypes[0].Available)
	}
}

func TestDirectoryPurchase(t *testing.T) {
	dir := ticketing.NewDirectory()
	ana := dir.AddCustomer(ticketing.Customer{})
	e := dir.AddEvent(ticketing.Event{TicketTypes: []ticketing.TicketType{{Name: "GA", Available: 3}, {Name: "VIP", Available: 1}}})
	ga, vip := e.TicketTypes[0].ID, e.TicketTypes[1].ID
	if ga == vip || ga == e.ID {
		t.Fatalf("ticket type ids not fresh: event %d, GA %d, VIP %d", e.ID, ga, vip)
	}
	cases := []struct {
		name    string
		tt, qty int
		err     error
		avail   int
	}{
		{"two GA", ga, 2, nil, 1},
		{"too many GA", ga, 2, ticketing.ErrNotEnoughStock, 1},
		{"zero", ga, 0, ticketing.ErrInvalidQuantity, 1},
		{"missing ticket type", e.ID, 1, ticketing.ErrNotFound, 1},
		{"last GA", ga, 1, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, got, err := dir.Purchase(ana.ID, e.ID, c.tt, c.qty)
			if !errors.Is(err, c.err) {
				t.Fatalf("err: got %v, want %v", err, c.err)
			}
			if err == nil && (o.Status != ticketing.StatusPending || o.Quantity != c.qty || o.CustomerID != ana.ID) {
				t.Errorf("order: got %+v", o)
			}
			if err == nil && got.TicketTypes[0].Available != c.avail {
				t.Errorf("available in result: got %d, want %d", got.TicketTypes[0].Available, c.avail)
			}
			now, _ := dir.Event(e.ID)
			if now.TicketTypes[0].Available != c.avail || now.TicketTypes[0].Sold != 3-c.avail {
				t.Errorf("stored GA: got available %d sold %d, want %d and %d", now.TicketTypes[0].Available, now.TicketTypes[0].Sold, c.avail, 3-c.avail)
			}
		})
	}
}

func TestSetOrderStatus(t *testing.T) {
	dir := ticketing.NewDirectory()
	c := dir.AddCustomer(ticketing.Customer{})
	o, _ := dir.AddOrder(ticketing.Order{CustomerID: c.ID})
	if o.Number != "ORD-"+itoa(o.ID) || o.Status != ticketing.StatusPending {
		t.Errorf("defaults: got number %q status %q", o.Number, o.Status)
	}
	if _, changed, _ := dir.SetOrderStatus(o.ID, "pending"); changed {
		t.Error("same status reported as a change")
	}
	if got, changed, _ := dir.SetOrderStatus(o.ID, "paid"); !changed || got.Status != "paid" {
		t.Errorf("pending to paid: got %+v changed %v", got, changed)
	}
	if _, _, err := dir.SetOrderStatus(dir.NextID(), "paid"); !errors.Is(err, ticketing.ErrNotFound) {
		t.Errorf("missing order: got %v, want ErrNotFound", err)
	}
	if _, err := dir.AddOrder(ticketing.Order{CustomerID: dir.NextID()}); !errors.Is(err, ticketing.ErrNotFound) {
		t.Errorf("order of a missing customer: got %v, want ErrNotFound", err)
	}
}
