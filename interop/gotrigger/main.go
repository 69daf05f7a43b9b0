// Command gotrigger publishes one event through the official Pusher Go server
// SDK (github.com/pusher/pusher-http-go/v5), so that the interop suite can check
// that a real third-party HTTP API client is accepted by `pushcert serve` and
// that its events reach real WebSocket clients.
//
//	go run ./interop/gotrigger -port 6001 -app-id 1 -key k -secret s \
//	    -channel my-channel -event my-event -data '{"hello":"world"}' [-socket-id 1.2]
//
// It exits 0 on success and non-zero (with the error on stderr) otherwise.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	pusher "github.com/pusher/pusher-http-go/v5"
)

func main() {
	host := flag.String("host", "127.0.0.1", "HTTP API host")
	port := flag.String("port", "", "HTTP API port (required)")
	appID := flag.String("app-id", "", "app id (required)")
	key := flag.String("key", "", "app key (required)")
	secret := flag.String("secret", "", "app secret (required)")
	channel := flag.String("channel", "", "channel to trigger on (required)")
	event := flag.String("event", "", "event name (required)")
	data := flag.String("data", "{}", "event data, sent verbatim as the data string")
	socketID := flag.String("socket-id", "", "optional socket_id to exclude from delivery")
	flag.Parse()

	for name, v := range map[string]string{"port": *port, "app-id": *appID, "key": *key, "secret": *secret, "channel": *channel, "event": *event} {
		if v == "" {
			fmt.Fprintf(os.Stderr, "gotrigger: -%s is required\n", name)
			os.Exit(2)
		}
	}

	client := pusher.Client{
		AppID:  *appID,
		Key:    *key,
		Secret: *secret,
		Host:   net.JoinHostPort(*host, *port),
		Secure: false,
	}

	params := pusher.TriggerParams{}
	if *socketID != "" {
		params.SocketID = socketID
	}
	// A string is passed through as the event's data without re-encoding.
	if _, err := client.TriggerWithParams(*channel, *event, *data, params); err != nil {
		fmt.Fprintf(os.Stderr, "gotrigger: trigger failed: %v\n", err)
		os.Exit(1)
	}
}
