package loadgen

import (
	"bufio"
	"fmt"
	"sync"
	"testing"

	"github.com/gobwas/ws"
)

// TestOutboxKeepsOrder: frames put by several goroutines, some writing themselves and some
// leaving it to a goroutine of the outbox's, reach the peer whole and each goroutine's in the
// order it put them; the close put last goes after all of them, and every done is told.
func TestOutboxKeepsOrder(t *testing.T) {
	conn, peer := tcpPair(t)
	w := &wire{conn: conn, tcp: conn}

	const writers, each = 4, 500
	var o outbox
	var wg sync.WaitGroup
	var told sync.WaitGroup
	told.Add(writers * each)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p := []byte(fmt.Sprintf("%d %d", g, i))
				o.put(outFrame{w: w, op: ws.OpText, payload: p, done: func(err error) {
					if err != nil {
						t.Errorf("write %s: %v", p, err)
					}
					told.Done()
				}}, g%2 == 0)
			}
		}()
	}
	read := make(chan error, 1)
	go func() {
		br := bufio.NewReader(peer)
		next := make([]int, writers)
		for n := 0; ; n++ {
			f, err := ws.ReadFrame(br)
			if err != nil {
				read <- fmt.Errorf("after %d frames: %v", n, err)
				return
			}
			if f.Header.OpCode == ws.OpClose {
				if n != writers*each {
					read <- fmt.Errorf("close after %d frames, want %d", n, writers*each)
					return
				}
				read <- nil
				return
			}
			ws.Cipher(f.Payload, f.Header.Mask, 0)
			var g, i int
			if _, err := fmt.Sscanf(string(f.Payload), "%d %d", &g, &i); err != nil || i != next[g] {
				read <- fmt.Errorf("frame %q, want %d %d", f.Payload, g, next[g])
				return
			}
			next[g]++
		}
	}()
	wg.Wait()
	o.put(outFrame{w: w, op: ws.OpClose, payload: []byte{}, close: true}, false)
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	told.Wait()
}
