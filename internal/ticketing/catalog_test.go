package ticketing_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/ticketing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var fixedNow = time.Date(2025, 3, 1, 19, 30, 0, 123456789, time.FixedZone("CET", 3600))

func fixedClock() time.Time { return fixedNow }

// render is the golden form of a Broadcast: one field per line, data as sent.
func render(b ticketing.Broadcast) string {
	return "channels: " + strings.Join(b.Channels, " ") + "\nname: " + b.Name + "\nsocket_id: " + b.SocketID + "\ndata: " + b.Data + "\n"
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestCatalogGolden(t *testing.T) {
	cat := ticketing.Catalog{Now: fixedClock}
	must := func(b ticketing.Broadcast, err error) ticketing.Broadcast {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	concert := ticketing.Event{ID: 12, TenantID: 1, Name: "Rock & Roll Night", TicketTypes: []ticketing.TicketType{
		{ID: 13, Name: "General Admission", Available: 150, Sold: 50},
		{ID: 14, Name: "VIP & Backstage", Available: 0, Sold: 20},
	}}
	order := func(status string) ticketing.Order {
		return ticketing.Order{ID: 21, Number: "ORD-2025-0021", CustomerID: 5, Status: status}
	}
	cases := []struct {
		name string
		b    ticketing.Broadcast
	}{
		{"availability_updated", cat.AvailabilityUpdated(concert)},
		{"availability_updated_no_types", cat.AvailabilityUpdated(ticketing.Event{ID: 12})},
		{"order_updated_paid", cat.OrderUpdated(order("paid"))},
		{"order_updated_cancelled", cat.OrderUpdated(order("cancelled"))},
		{"order_updated_refunded", cat.OrderUpdated(order("refunded"))},
		{"order_updated_other", cat.OrderUpdated(order("processing"))},
		{"seat_changed", cat.SeatChanged(12, 5, []string{"A-12", "A-13"}, "", "123.456")},
		{"seat_changed_lock_no_seats", cat.SeatChanged(12, 5, nil, ticketing.SeatLock, "")},
		{"message_sent", cat.MessageSent(ticketing.ChatMessage{ID: 31, ConversationID: 30, SenderType: "agent", Content: "Hi! \"Row A\" <is> free",
			CreatedAt: time.Date(2025, 3, 1, 18, 0, 0, 5000, time.UTC), QuickReplies: []string{"Yes", "No"}})},
		{"message_sent_no_replies", cat.MessageSent(ticketing.ChatMessage{ID: 32, ConversationID: 30, SenderType: "customer", Content: "ok"})},
		{"notification", must(cat.Notification(5, "Doors open", "Doors open at 19:00", "", nil))},
		{"notification_with_data", must(cat.Notification(5, "Refund", "Processed", "success", map[string]any{"order_id": 21, "amount": 49.5}))},
		{"metrics_updated", must(cat.MetricsUpdated(1, map[string]any{"tickets_sold": 70, "revenue": 3500.25, "active_users": 12}))},
		{"metrics_updated_nil", must(cat.MetricsUpdated(1, nil))},
		{"event_live", cat.EventWentLive(12)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !json.Valid([]byte(c.b.Data)) {
				t.Fatalf("data is not JSON: %s", c.b.Data)
			}
			checkGolden(t, c.name, render(c.b))
		})
	}
}

func TestOrderStatusMessage(t *testing.T) {
	cases := map[string]string{
		"paid":      "Your order has been confirmed!",
		"cancelled": "Your order has been cancelled.",
		"refunded":  "Your refund has been processed.",
		"pending":   "Order status: pending",
		"":          "Order status: ",
	}
	for status, want := range cases {
		if got := ticketing.OrderStatusMessage(status); got != want {
			t.Errorf("OrderStatusMessage(%q): got %q, want %q", status, got, want)
		}
	}
}

func TestCatalogUnencodable(t *testing.T) {
	cat := ticketing.Catalog{Now: fixedClock}
	if _, err := cat.Notification(1, "t", "m", "", map[string]any{"f": func() {}}); err == nil {
		t.Error("Notification with a func in data: got nil error")
	}
	if _, err := cat.MetricsUpdated(1, map[string]any{"c": make(chan int)}); err == nil {
		t.Error("MetricsUpdated with a channel: got nil error")
	}
}

func TestISOString(t *testing.T) {
	if got, want := ticketing.ISOString(fixedNow), "2025-03-01T18:30:00.123456Z"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestAPIEvent(t *testing.T) {
	b := ticketing.Catalog{Now: fixedClock}.SeatChanged(1, 2, []string{"A1"}, "", "9.9")
	ev := b.APIEvent()
	body, _ := json.Marshal(ev)
	want := `{"name":"seat.changed","data":"{\"customer_id\":2,\"seats\":[\"A1\"],\"action\":\"select\",\"timestamp\":\"2025-03-01T18:30:00.123456Z\"}","channels":["presence-event.1.seats"],"socket_id":"9.9"}`
	if string(body) != want {
		t.Errorf("POST /events body:\ngot  %s\nwant %s", body, want)
	}
}
