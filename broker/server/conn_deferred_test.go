package server

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// startServer starts a server on a free port, with its data in a
// temporary directory, once change (if not nil) adjusted it, and returns
// it with a connection to it. Both are closed when the test ends.
func startServer(t *testing.T, change func(*Server)) (*Server, net.Conn) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.KafkaAddr = "127.0.0.1:0"
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(s)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(60 * time.Second))
	return s, nc
}

// deferredServer starts a server whose Metadata requests are answered
// later, by wait (called with the request's correlation id), and returns a
// connection to it.
func deferredServer(t *testing.T, wait func(ctx context.Context, corr int32) kmsg.Response) net.Conn {
	t.Helper()
	_, nc := startServer(t, func(s *Server) {
		a := s.apis[kmsg.Metadata.Int16()]
		a.handle = func(_ context.Context, req *Request) (Reply, error) {
			return later(func(ctx context.Context) kmsg.Response { return wait(ctx, req.CorrelationID) }), nil
		}
		s.apis[kmsg.Metadata.Int16()] = a
	})
	return nc
}

func sendMetadata(t *testing.T, nc net.Conn, corr int32) {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 4
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("test")).AppendRequest(nil, req, corr)
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
}

// readCorrelation reads one response frame and returns its correlation id.
func readCorrelation(t *testing.T, nc net.Conn) int32 {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(nc, size[:]); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(nc, body); err != nil {
		t.Fatal(err)
	}
	return int32(binary.BigEndian.Uint32(body))
}

func metadataResponse() kmsg.Response {
	resp := kmsg.NewPtrMetadataResponse()
	resp.Version = 4
	return resp
}

// TestDeferredReplyBehindAnotherStartsAtOnce: a deferred reply queued
// behind one still waiting (an fsync of another partition, a long-poll)
// starts its own wait at once rather than after it, and the replies still
// go out in request order.
func TestDeferredReplyBehindAnotherStartsAtOnce(t *testing.T) {
	release := make(chan struct{})
	secondStarted := make(chan struct{})
	nc := deferredServer(t, func(ctx context.Context, corr int32) kmsg.Response {
		switch corr {
		case 1:
			select {
			case <-release:
			case <-ctx.Done():
			}
		case 2:
			close(secondStarted)
		}
		return metadataResponse()
	})
	sendMetadata(t, nc, 1)
	sendMetadata(t, nc, 2)
	select {
	case <-secondStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("the second request's wait did not start while the first one's was in progress")
	}
	close(release)
	for _, want := range []int32{1, 2} {
		if got := readCorrelation(t, nc); got != want {
			t.Fatalf("response with correlation id %d, want %d", got, want)
		}
	}
}

// TestLoneDeferredReplyRunsOnTheWriter: with nothing ahead of it, a
// deferred reply's wait runs on the connection's writing goroutine (no
// goroutine of its own, and no hand-over to the writer when it is done),
// which is what a client with one request in flight waits for.
func TestLoneDeferredReplyRunsOnTheWriter(t *testing.T) {
	onWriter := make(chan bool, 3)
	nc := deferredServer(t, func(context.Context, int32) kmsg.Response {
		onWriter <- strings.Contains(string(debug.Stack()), "(*conn).writeLoop")
		return metadataResponse()
	})
	for corr := int32(1); corr <= 3; corr++ {
		sendMetadata(t, nc, corr)
		if got := readCorrelation(t, nc); got != corr {
			t.Fatalf("response with correlation id %d, want %d", got, corr)
		}
		if !<-onWriter {
			t.Fatalf("request %d: its wait ran on a goroutine of its own, with nothing ahead of it", corr)
		}
	}
}

// TestPanicInDeferredReplyOnTheWriterClosesConnection: a wait run by the
// writer that panics closes the connection, as one on its own goroutine
// does, and the server goes on serving.
func TestPanicInDeferredReplyOnTheWriterClosesConnection(t *testing.T) {
	nc := deferredServer(t, func(context.Context, int32) kmsg.Response { panic("boom") })
	sendMetadata(t, nc, 1)
	if n, err := nc.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read %d bytes from a connection whose reply panicked; want it closed", n)
	}
}
