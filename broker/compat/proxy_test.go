package compat_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cutKind says where the proxy cuts a connection.
type cutKind int

const (
	cutNone         cutKind = iota
	cutMidRequest           // forward part of a request frame, then hang up
	cutAfterRequest         // forward the whole request, then hang up before the response
	cutMidResponse          // forward part of the response frame, then hang up
)

func (k cutKind) String() string {
	return [...]string{"none", "mid-request", "after-request", "mid-response"}[k]
}

// maxProxyFrame bounds the frames the proxy buffers.
const maxProxyFrame = 128 << 20

// cutProxy forwards TCP connections to a Kafka broker frame by frame and, for
// some requests, cuts the connection in the middle of the request, right
// after it, or in the middle of its response. Both sides of a cut connection
// are closed, so the client retries on a new connection.
//
// Its goroutines (an accept loop and two pumps per connection) end on Close,
// which waits for them.
type cutProxy struct {
	ln     net.Listener
	target string
	// decide picks the cut for a request frame (its api key and size); it is
	// called with mu held.
	decide func(rng *rand.Rand, apiKey int16, size int) cutKind

	mu sync.Mutex // guards rng, conns and closed
	// rng drives the random choices of decide and of cut positions.
	rng    *rand.Rand
	conns  map[net.Conn]struct{}
	closed bool

	wg   sync.WaitGroup
	cuts [4]atomic.Int64 // by cutKind
	reqs atomic.Int64    // request frames seen
}

// startCutProxy listens on a random loopback port and forwards to target.
func startCutProxy(t testing.TB, target string, seed uint64, decide func(rng *rand.Rand, apiKey int16, size int) cutKind) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &cutProxy{
		ln:     ln,
		target: target,
		decide: decide,
		rng:    rand.New(rand.NewPCG(seed, 8)),
		conns:  map[net.Conn]struct{}{},
	}
	p.wg.Go(p.accept)
	t.Cleanup(p.Close)
	return p
}

// Addr is where clients connect.
func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

// Cuts returns how many connections were cut, by kind.
func (p *cutProxy) Cuts() map[cutKind]int64 {
	m := map[cutKind]int64{}
	for k := cutMidRequest; k <= cutMidResponse; k++ {
		m[k] = p.cuts[k].Load()
	}
	return m
}

// Close stops accepting, closes every connection and waits for the pumps.
func (p *cutProxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

func (p *cutProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *cutProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *cutProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(client) {
			return
		}
		p.wg.Go(func() { p.serve(client) })
	}
}

// serve forwards one client connection until either side closes or a cut.
func (p *cutProxy) serve(client net.Conn) {
	defer p.untrack(client)
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)

	// The request pump tells the response pump which response to cut.
	cutResponse := make(chan int, 64) // index of the response frame to cut
	var pumps sync.WaitGroup
	pumps.Go(func() {
		defer client.Close()
		defer server.Close()
		p.pumpRequests(client, server, cutResponse)
	})
	pumps.Go(func() {
		defer client.Close()
		defer server.Close()
		p.pumpResponses(server, client, cutResponse)
	})
	pumps.Wait()
}

func (p *cutProxy) pumpRequests(client, server net.Conn, cutResponse chan<- int) {
	defer close(cutResponse)
	for n := 0; ; n++ {
		f, err := readProxyFrame(client)
		if err != nil {
			return
		}
		p.reqs.Add(1)
		var key int16 = -1
		if len(f) >= 6 {
			key = int16(binary.BigEndian.Uint16(f[4:]))
		}
		p.mu.Lock()
		kind := p.decide(p.rng, key, len(f))
		cutAt := 1 + p.rng.IntN(len(f)-1)
		p.mu.Unlock()
		switch kind {
		case cutMidRequest:
			p.cuts[kind].Add(1)
			server.Write(f[:cutAt])
			return
		case cutAfterRequest:
			p.cuts[kind].Add(1)
			// Hang up on the client first, so the response can never
			// reach it, then deliver the whole request.
			client.Close()
			server.Write(f)
			return
		case cutMidResponse:
			// Responses come in request order; acks=0 produce requests
			// have none, which only makes the cut land on a later one.
			select {
			case cutResponse <- n:
			default:
			}
		}
		if _, err := server.Write(f); err != nil {
			return
		}
	}
}

func (p *cutProxy) pumpResponses(server, client net.Conn, cutResponse <-chan int) {
	cut := -1
	for n := 0; ; n++ {
		f, err := readProxyFrame(server)
		if err != nil {
			return
		}
		if cut < n {
			select {
			case c, ok := <-cutResponse:
				if ok {
					cut = c
				}
			default:
			}
		}
		if cut == n {
			p.cuts[cutMidResponse].Add(1)
			p.mu.Lock()
			at := 1 + p.rng.IntN(len(f)-1)
			p.mu.Unlock()
			client.Write(f[:at])
			return
		}
		if _, err := client.Write(f); err != nil {
			return
		}
	}
}

// readProxyFrame reads a size-prefixed frame and returns it with its prefix.
func readProxyFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 0 || n > maxProxyFrame {
		return nil, fmt.Errorf("proxy: frame size %d", n)
	}
	f := make([]byte, 4+int(n))
	copy(f, size[:])
	if _, err := io.ReadFull(r, f[4:]); err != nil {
		return nil, err
	}
	return f, nil
}

// TestCutProxy checks the proxy against a framed echo server: it forwards
// frames unchanged, and each kind of cut closes the client's connection with
// the frame cut where it says.
func TestCutProxy(t *testing.T) {
	req := func(key int16, n int) []byte {
		body := binary.BigEndian.AppendUint16(nil, uint16(key))
		body = append(body, make([]byte, n)...)
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	const produce, metadata = 0, 3
	for _, kind := range []cutKind{cutNone, cutMidRequest, cutAfterRequest, cutMidResponse} {
		t.Run(kind.String(), func(t *testing.T) {
			echo, received := startFrameEcho(t)
			p := startCutProxy(t, echo, 1, func(_ *rand.Rand, key int16, _ int) cutKind {
				if key == produce {
					return kind
				}
				return cutNone
			})
			c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			meta, prod := req(metadata, 10), req(produce, 100)
			c.Write(meta)
			if f, err := readProxyFrame(c); err != nil || string(f) != string(meta) {
				t.Fatalf("uncut frame echoed as %q, %v; want it unchanged", f, err)
			}
			c.Write(prod)
			f, err := readProxyFrame(c)
			if kind == cutNone {
				if err != nil || string(f) != string(prod) {
					t.Fatalf("frame echoed as %q, %v; want it unchanged", f, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("read a whole response through a %s cut", kind)
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isClosed(err) {
				t.Fatalf("read after a %s cut: %v, want the connection closed", kind, err)
			}
			got := <-received
			switch kind {
			case cutMidRequest:
				if n := len(got) - len(meta); n <= 0 || n >= len(prod) {
					t.Errorf("echo server got %d bytes of the cut request, want 1..%d", n, len(prod)-1)
				}
			case cutAfterRequest, cutMidResponse:
				if len(got) != len(meta)+len(prod) {
					t.Errorf("echo server got %d bytes, want both frames (%d)", len(got), len(meta)+len(prod))
				}
			}
			if p.Cuts()[kind] != 1 {
				t.Errorf("cuts = %v, want one %s", p.Cuts(), kind)
			}
		})
	}
}

// startFrameEcho starts a server that echoes each frame it reads and, when
// a connection ends, sends everything it read on it (a partial frame too) to
// the returned channel.
func startFrameEcho(t testing.TB) (string, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan []byte, 16)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				var got bytes.Buffer
				r := io.TeeReader(c, &got)
				for {
					f, err := readProxyFrame(r)
					if err != nil {
						io.Copy(io.Discard, r)
						received <- got.Bytes()
						return
					}
					if _, err := c.Write(f); err != nil {
						io.Copy(io.Discard, r)
						received <- got.Bytes()
						return
					}
				}
			})
		}
	})
	return ln.Addr().String(), received
}
