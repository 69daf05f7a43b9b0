package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// frameOf encodes one frame as a server would send it (or, with h.Masked, as it must not).
func frameOf(h ws.Header, payload []byte) []byte {
	var b bytes.Buffer
	h.Length = int64(len(payload))
	if err := ws.WriteHeader(&b, h); err != nil {
		panic(err)
	}
	p := append([]byte(nil), payload...)
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	b.Write(p)
	return b.Bytes()
}

func text(s string) []byte { return frameOf(ws.Header{Fin: true, OpCode: ws.OpText}, []byte(s)) }

// decoded feeds chunks to a new wire and lists what came out, "op:payload" each, and whether the
// wire refused the bytes.
func decoded(chunks ...[]byte) ([]string, error) {
	w := &wire{}
	var out []string
	for _, c := range chunks {
		err := w.feed(c, func(op ws.OpCode, p []byte) bool {
			out = append(out, fmt.Sprintf("%d:%s", op, p))
			return true
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func cat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

func TestWireFeed(t *testing.T) {
	long := strings.Repeat("x", 70000) // a 64-bit length
	cases := []struct {
		name  string
		bytes []byte
		want  []string
		err   bool
	}{
		{"one message", text(`{"event":"a"}`), []string{`1:{"event":"a"}`}, false},
		{"two in one read", cat(text("a"), text("b")), []string{"1:a", "1:b"}, false},
		{"a 64-bit length", text(long), []string{"1:" + long}, false},
		{"fragments with a ping between", cat(
			frameOf(ws.Header{OpCode: ws.OpText}, []byte("he")),
			frameOf(ws.Header{Fin: true, OpCode: ws.OpPing}, []byte("p")),
			frameOf(ws.Header{OpCode: ws.OpContinuation}, []byte("ll")),
			frameOf(ws.Header{Fin: true, OpCode: ws.OpContinuation}, []byte("o")),
			text("next"),
		), []string{"9:p", "1:hello", "1:next"}, false},
		{"an empty first fragment", cat(
			frameOf(ws.Header{OpCode: ws.OpText}, nil),
			frameOf(ws.Header{Fin: true, OpCode: ws.OpContinuation}, []byte("x")),
		), []string{"1:x"}, false},
		{"close", frameOf(ws.Header{Fin: true, OpCode: ws.OpClose}, []byte{0x10, 0x68, 'b', 'y', 'e'}), []string{"8:\x10hbye"}, false},
		{"masked", frameOf(ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, []byte("a")), nil, true},
		{"reserved bit", frameOf(ws.Header{Fin: true, OpCode: ws.OpText, Rsv: 4}, []byte("a")), nil, true},
		{"reserved opcode", frameOf(ws.Header{Fin: true, OpCode: 3}, []byte("a")), nil, true},
		{"reserved control opcode", frameOf(ws.Header{Fin: true, OpCode: 0xB}, nil), nil, true},
		{"continuation first", frameOf(ws.Header{Fin: true, OpCode: ws.OpContinuation}, []byte("a")), nil, true},
		{"text inside a fragmented message", cat(
			frameOf(ws.Header{OpCode: ws.OpText}, []byte("a")),
			text("b"),
		), nil, true},
		{"fragmented ping", frameOf(ws.Header{OpCode: ws.OpPing}, []byte("a")), nil, true},
		{"long ping", frameOf(ws.Header{Fin: true, OpCode: ws.OpPing}, bytes.Repeat([]byte("a"), 126)), nil, true},
		{"over the message bound", frameOf(ws.Header{Fin: true, OpCode: ws.OpText}, make([]byte, maxFrame+1)), nil, true},
		{"fragments over the bound", cat(
			frameOf(ws.Header{OpCode: ws.OpBinary}, make([]byte, maxFrame)),
			frameOf(ws.Header{Fin: true, OpCode: ws.OpContinuation}, []byte("a")),
		), nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Whole, then byte by byte: where the reads split the bytes must not matter.
			var bytewise [][]byte
			for i := range tc.bytes {
				bytewise = append(bytewise, tc.bytes[i:i+1])
			}
			for _, chunks := range [][][]byte{{tc.bytes}, bytewise} {
				got, err := decoded(chunks...)
				if (err != nil) != tc.err {
					t.Fatalf("%d chunks: error %v, want error %v", len(chunks), err, tc.err)
				}
				if err != nil && !errors.Is(err, errProtocol) {
					t.Fatalf("error %v, want errProtocol", err)
				}
				if !tc.err && fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Fatalf("%d chunks: got %.80q, want %.80q", len(chunks), got, tc.want)
				}
			}
		})
	}
}

// TestWireFeedStops: a message handler that stops the feed (a close frame) leaves the rest for
// the next call.
func TestWireFeedStops(t *testing.T) {
	w := &wire{}
	var got []string
	take := func(op ws.OpCode, p []byte) bool {
		got = append(got, string(p))
		return string(p) != "stop"
	}
	if err := w.feed(cat(text("a"), text("stop"), text("b")), take); err != nil {
		t.Fatal(err)
	}
	if err := w.feed(nil, take); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[a stop b]" {
		t.Fatalf("got %q", got)
	}
}

// FuzzWireFeed: any bytes from a server, however the reads split them, decode to the same
// messages and the same verdict, without a panic, and no message is over the bound.
func FuzzWireFeed(f *testing.F) {
	f.Add(cat(text("a"), frameOf(ws.Header{OpCode: ws.OpText}, []byte("b")), frameOf(ws.Header{Fin: true, OpCode: ws.OpContinuation}, []byte("c"))), uint8(1))
	f.Add(frameOf(ws.Header{Fin: true, OpCode: ws.OpClose}, []byte{3, 232}), uint8(3))
	f.Add([]byte{0x81, 0x7f, 0, 0, 0, 0, 0, 0, 0, 1, 'a'}, uint8(2))
	f.Add([]byte{0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		whole, werr := decoded(data)
		var chunks [][]byte
		n := int(step%16) + 1
		for i := 0; i < len(data); i += n {
			chunks = append(chunks, data[i:min(i+n, len(data))])
		}
		split, serr := decoded(chunks...)
		if (werr != nil) != (serr != nil) {
			t.Fatalf("whole: %v, in %d-byte reads: %v", werr, n, serr)
		}
		if fmt.Sprint(whole) != fmt.Sprint(split) {
			t.Fatalf("whole: %q, in %d-byte reads: %q", whole, n, split)
		}
		for _, m := range whole {
			if len(m) > maxFrame+3 {
				t.Fatalf("a message of %d bytes passed", len(m))
			}
		}
	})
}
