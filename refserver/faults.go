package refserver

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Faults make the server break the protocol on purpose. They exist to prove that the conformance
// suite fails a server that misbehaves; a zero Faults is a correct server.
type Faults struct {
	AcceptAnyChannelAuth  bool    // private, presence and encrypted subscriptions succeed without a valid signature
	EchoClientEvents      bool    // client events also go back to their sender
	DuplicateMemberAdded  bool    // member_added for every connection of a user, not only the first
	NoMemberRemoved       bool    // member_removed is never sent
	DropDeliveries        float64 // this fraction of deliveries is silently dropped
	IgnoreSocketExclusion bool    // the socket_id of an HTTP publish is not excluded
	SkipTimestampWindow   bool    // the HTTP API accepts any auth_timestamp
	NoPong                bool    // pusher:ping gets no pusher:pong
	LeakPrivateEvents     bool    // events of private and presence channels reach every connection of the app
	NoClientEventLimit    bool    // client events are never rate limited
	SkipBodyMD5           bool    // the HTTP API does not check body_md5
	PublicClientEvents    bool    // client events are relayed on public channels too
}

// faultNames maps the names of `pushcert serve --fault` to the switches.
var faultNames = map[string]func(*Faults, string) error{
	"accept-any-channel-auth": func(f *Faults, _ string) error { f.AcceptAnyChannelAuth = true; return nil },
	"echo-client-events":      func(f *Faults, _ string) error { f.EchoClientEvents = true; return nil },
	"duplicate-member-added":  func(f *Faults, _ string) error { f.DuplicateMemberAdded = true; return nil },
	"no-member-removed":       func(f *Faults, _ string) error { f.NoMemberRemoved = true; return nil },
	"drop-deliveries": func(f *Faults, v string) error {
		if v == "" {
			v = "0.01"
		}
		p, err := strconv.ParseFloat(v, 64)
		if err != nil || p <= 0 || p > 1 {
			return fmt.Errorf("drop-deliveries=%s: want a fraction in (0, 1]", v)
		}
		f.DropDeliveries = p
		return nil
	},
	"ignore-socket-exclusion": func(f *Faults, _ string) error { f.IgnoreSocketExclusion = true; return nil },
	"skip-timestamp-window":   func(f *Faults, _ string) error { f.SkipTimestampWindow = true; return nil },
	"no-pong":                 func(f *Faults, _ string) error { f.NoPong = true; return nil },
	"leak-private-events":     func(f *Faults, _ string) error { f.LeakPrivateEvents = true; return nil },
	"no-client-event-limit":   func(f *Faults, _ string) error { f.NoClientEventLimit = true; return nil },
	"skip-body-md5":           func(f *Faults, _ string) error { f.SkipBodyMD5 = true; return nil },
	"public-client-events":    func(f *Faults, _ string) error { f.PublicClientEvents = true; return nil },
}

// FaultNames lists the names ParseFault accepts.
func FaultNames() []string {
	out := make([]string, 0, len(faultNames))
	for n := range faultNames {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ParseFault turns on the fault "name" or "name=value" in f.
func ParseFault(f *Faults, spec string) error {
	name, value, _ := strings.Cut(spec, "=")
	set, ok := faultNames[name]
	if !ok {
		return fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(FaultNames(), ", "))
	}
	return set(f, value)
}

// dropDelivery is the drop-deliveries fault: true for the given fraction of deliveries.
func (s *Server) dropDelivery() bool {
	p := s.cfg.Faults.DropDeliveries
	return p > 0 && rand.Float64() < p
}
