package loadgen

import (
	"sync"

	"github.com/gobwas/ws"
)

// outbox is a connection's one writer. Every frame to the server is put in it, with the wire it
// is for, and goes out in the order put, written by one goroutine at a time: the one that put a
// frame while nothing was being written, or, for what a poller puts, a goroutine of its own, so
// that one client whose writes are stuck never holds up the poller's other clients.
type outbox struct {
	mu      sync.Mutex
	queue   []outFrame
	writing bool // a goroutine is writing the queue
}

// outFrame is a frame to write on w. With close, w is closed after it (payload nil: no frame);
// done, when set, is told how the write went.
type outFrame struct {
	w       *wire
	op      ws.OpCode
	payload []byte
	close   bool
	done    func(error)
}

// put queues f. Unless a goroutine is writing already, the caller writes the queue (inline) or
// starts one that does; either way f goes out after every frame put before it.
func (o *outbox) put(f outFrame, inline bool) {
	o.mu.Lock()
	o.queue = append(o.queue, f)
	if o.writing {
		o.mu.Unlock()
		return
	}
	o.writing = true
	o.mu.Unlock()
	if inline {
		o.flush()
	} else {
		go o.flush()
	}
}

// flush writes the queue until it is empty.
func (o *outbox) flush() {
	for {
		o.mu.Lock()
		batch := o.queue
		o.queue = nil
		if len(batch) == 0 {
			o.writing = false
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()
		for _, f := range batch {
			f.write()
		}
	}
}

func (f outFrame) write() {
	var err error
	if f.payload != nil {
		err = f.w.write(f.op, f.payload)
	}
	if f.close {
		f.w.close()
	}
	if f.done != nil {
		f.done(err)
	}
}
