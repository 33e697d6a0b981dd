package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxInFlight bounds the requests of one connection that are read but not
// yet answered; reading pauses when it is reached.
const maxInFlight = 64

// conn is one client connection. Its reading goroutine decodes a request,
// runs the handler and queues the reply; replies are written in the order
// the requests came by whoever finds the first of them ready (pump): the
// reading goroutine for an immediate reply, the goroutine that completes a
// deferred one (a long-poll's, or the group-commit leader that saw an
// acks=all produce's fsync end) for a deferred reply.
type conn struct {
	s   *Server
	nc  net.Conn
	log *slog.Logger
	// ctx is cancelled when the connection is dropped: deferred replies
	// stop waiting.
	ctx    context.Context
	cancel context.CancelFunc
	// sasl is the authentication state when SASL is on, else nil. Only the
	// reading goroutine touches it.
	sasl *connSASL
	// slot is the request the reading goroutine is serving, for
	// deferReply. Only the reading goroutine touches it.
	slot replySlot

	// slots holds a token for each queued reply: reading pauses at
	// maxInFlight.
	slots chan struct{}

	// wmu guards the fields below it. bw and batch belong to whoever set
	// writing (the writer) until it clears it; the writer writes outside
	// wmu.
	wmu     sync.Mutex
	queue   []*inflight // read and not yet written, in request order
	writing bool
	// wfailed: a write failed, a reply failed or the connection is being
	// dropped: replies are taken off the queue and discarded.
	wfailed bool
	// closing: the reading goroutine has stopped and waits for drained,
	// closed once the queue is empty.
	closing bool
	drained chan struct{}
	bw      *bufio.Writer
	buf     []byte
	batch   []*inflight
}

// inflight is one request waiting for its turn to be answered.
type inflight struct {
	corr int32
	done chan struct{} // closed when resp or fail is set
	resp kmsg.Response // nil: no response
	// raw, with isRaw, is a bare SASL token framed by its size alone (the
	// SaslHandshake v0 exchange); resp is then nil.
	raw   []byte
	isRaw bool
	fail  error // set: close the connection instead of answering
	// c is the connection once the reply is queued, so that completing it
	// later writes it if it is first in line (complete).
	c atomic.Pointer[conn]
}

// complete marks a deferred reply ready, resp or fail being set, and
// writes it (with the ready replies after it) if it is first in line on
// its connection and nobody is writing there. It is called once, by the
// goroutine that produced the reply.
func (it *inflight) complete() {
	close(it.done)
	// Queued before the load: this goroutine writes. Queued after: the
	// reading goroutine sees done closed when it pumps after queueing.
	if c := it.c.Load(); c != nil {
		c.pump()
	}
}

// ready reports whether the reply is complete.
func (it *inflight) ready() bool {
	select {
	case <-it.done:
		return true
	default:
		return false
	}
}

// replySlot is the request being served on a connection's reading
// goroutine: a handler that answers from a callback takes its reply with
// deferReply.
type replySlot struct {
	corr int32
	it   *inflight // set by deferReply
}

// replySlotKey is the context key of a connection's *replySlot.
type replySlotKey struct{}

// deferReply lets the handler of the request being served answer it later
// without a goroutine of its own: the handler returns answeredLater and,
// from any goroutine, sets the returned reply's resp and calls its
// complete, exactly once; the reply is written in its turn. ctx must be the
// one the handler got. It returns nil when the request is not served on a
// connection (Server.serveFrame called directly): the handler then uses
// later.
func deferReply(ctx context.Context) *inflight {
	slot, _ := ctx.Value(replySlotKey{}).(*replySlot)
	if slot == nil {
		return nil
	}
	if slot.it == nil {
		slot.it = &inflight{corr: slot.corr, done: make(chan struct{})}
	}
	return slot.it
}

// answeredLater is the Reply of a handler that took its reply with
// deferReply (the zero Reply, which no other handler returns).
var answeredLater = Reply{}

// serve runs the connection until the client leaves, a protocol error, or
// the server stops. It closes nc. The replies of requests already read are
// written before it does, unless the connection is dropped (ctx).
func (c *conn) serve() {
	defer c.cancel()
	if c.s.auth != nil && c.sasl == nil {
		c.sasl = &connSASL{}
	}
	c.slots = make(chan struct{}, maxInFlight)
	c.drained = make(chan struct{})
	c.bw = bufio.NewWriterSize(c.nc, 64<<10)
	ctx := context.WithValue(c.ctx, replySlotKey{}, &c.slot)
	err := c.readLoop(ctx)
	c.wmu.Lock()
	c.closing = true
	if len(c.queue) == 0 && !c.writing {
		close(c.drained)
		c.closing = false
	}
	c.wmu.Unlock()
	select {
	case <-c.drained:
	case <-c.ctx.Done():
		// Dropped: replies still to come are discarded.
		c.wmu.Lock()
		c.wfailed = true
		c.wmu.Unlock()
	}
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded):
		c.log.Debug("connection closed")
	default:
		c.log.Warn("closing connection", "reason", err)
	}
	_ = c.nc.Close()
}

// readLoop reads frames until an error. Each decoded request is handled
// here, in order; its reply is queued, and written at once if it is ready
// and first in line. ctx is the connection's, carrying its replySlot.
func (c *conn) readLoop(ctx context.Context) error {
	br := bufio.NewReaderSize(c.nc, 64<<10)
	var sizeBuf [4]byte
	// kept is a frame buffer to read the next request into. Who owns the
	// bytes of a frame: kmsg decodes byte fields (record batches, group
	// member metadata, SASL tokens) as slices of the frame, not copies, and
	// a handler may keep them past its return (a group keeps its members'
	// metadata), so a frame belongs to its request for good, except after
	// a Produce: its handler keeps nothing of the frame once it returns,
	// because storage copies each batch into its write-behind buffer or
	// writes it to the file within Log.Append, and a deferred acks=all
	// reply holds only the response (00_produce.go). Only then is the
	// frame kept and read over, which spares an allocation and its zeroing
	// per produce request.
	var kept []byte
	for {
		if _, err := io.ReadFull(br, sizeBuf[:]); err != nil {
			return err
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		if size < 0 || size > c.s.cfg.MaxRequestSize {
			return fmt.Errorf("request size %d is outside 0 to %d bytes (max-request-size)", size, c.s.cfg.MaxRequestSize)
		}
		if c.sasl != nil && !c.sasl.authenticated() && size > maxUnauthenticatedRequest {
			return fmt.Errorf("request of %d bytes before the sasl login; at most %d are read until then", size, maxUnauthenticatedRequest)
		}
		var frame []byte
		if int(size) <= cap(kept) {
			frame = kept[:size]
		} else {
			frame = make([]byte, size)
		}
		kept = nil
		if _, err := io.ReadFull(br, frame); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read request of %d bytes: %w", size, err)
		}
		var item *inflight
		var err error
		if c.sasl != nil && !c.sasl.authenticated() {
			// An answer and an error together: write the answer (a
			// failed login's error code), then close.
			item, err = c.serveUnauthenticated(frame)
		} else {
			item, err = c.s.serveFrame(ctx, frame, c.nc.RemoteAddr())
			if err == nil && reusableFrame(frame) {
				kept = frame
			}
		}
		if item != nil {
			select {
			case c.slots <- struct{}{}:
			case <-c.ctx.Done():
				return c.ctx.Err()
			}
			c.wmu.Lock()
			c.queue = append(c.queue, item)
			c.wmu.Unlock()
			item.c.Store(c)
			c.pump()
		}
		if err != nil {
			return err
		}
	}
}

// maxKeptFrame bounds the frame buffer a connection keeps between
// requests, as writeLoop bounds its response buffer: the largest batch a
// client sends by default (1 MB) fits.
const maxKeptFrame = 1 << 20

// apiKeyProduce is the API key of Produce.
const apiKeyProduce int16 = 0

// reusableFrame reports whether a served frame may be read over by the next
// request: it was a Produce request, whose handler keeps none of its bytes
// (see readLoop), and it is not too large to keep.
func reusableFrame(frame []byte) bool {
	return len(frame) >= 2 && int16(binary.BigEndian.Uint16(frame)) == apiKeyProduce && cap(frame) <= maxKeptFrame
}

// pump writes the replies at the head of the queue that are ready, in
// order, and flushes them, unless another goroutine is writing: that one
// looks at the queue again before it stops, so a reply made ready meanwhile
// is not left behind. Replies that are ready together go out in one write.
// After a failed write (or reply) it discards replies instead, and closes
// the connection.
func (c *conn) pump() {
	c.wmu.Lock()
	if c.writing {
		c.wmu.Unlock()
		return
	}
	c.writing = true
	for {
		n := 0
		for n < len(c.queue) && c.queue[n].ready() {
			n++
		}
		if n == 0 {
			if !c.wfailed && c.bw.Buffered() > 0 {
				c.wmu.Unlock()
				c.writeErr(c.bw.Flush())
				c.wmu.Lock()
				continue // look again: replies may have become ready
			}
			c.writing = false
			if c.closing && len(c.queue) == 0 {
				close(c.drained)
				c.closing = false
			}
			c.wmu.Unlock()
			return
		}
		c.batch = append(c.batch[:0], c.queue[:n]...)
		m := copy(c.queue, c.queue[n:])
		clear(c.queue[m:])
		c.queue = c.queue[:m]
		failed := c.wfailed
		c.wmu.Unlock()
		for i, it := range c.batch {
			<-c.slots
			c.batch[i] = nil
			if failed {
				continue
			}
			if it.fail != nil {
				c.log.Warn("closing connection", "reason", it.fail)
				c.drop()
				failed = true
				continue
			}
			if it.resp == nil && !it.isRaw {
				continue
			}
			if it.isRaw {
				c.buf = binary.BigEndian.AppendUint32(c.buf[:0], uint32(len(it.raw)))
				c.buf = append(c.buf, it.raw...)
			} else {
				c.buf = appendResponse(c.buf[:0], it.corr, it.resp)
			}
			_, err := c.bw.Write(c.buf)
			if cap(c.buf) > 1<<20 {
				c.buf = nil // do not keep a large fetch response's buffer around
			}
			if err != nil {
				c.writeErr(err)
				failed = true
			}
		}
		c.wmu.Lock()
	}
}

// writeErr drops the connection after a failed write (err non-nil).
func (c *conn) writeErr(err error) {
	if err == nil {
		return
	}
	c.log.Debug("write response", "err", err)
	c.drop()
}

// drop marks the connection failed, cancels its context and closes it:
// the reading goroutine stops, replies still queued are discarded.
func (c *conn) drop() {
	c.wmu.Lock()
	c.wfailed = true
	c.wmu.Unlock()
	c.cancel()
	_ = c.nc.Close()
}

// serveFrame decodes one request frame and runs its handler. It returns
// the queue item for the reply (nil when the client expects none), or an
// error that closes the connection. It never panics on client bytes: a
// panic in decoding or in a handler is recovered, logged with its stack,
// and closes the connection.
func (s *Server) serveFrame(ctx context.Context, frame []byte, remote net.Addr) (item *inflight, err error) {
	var h header
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving request", "api_key", h.key, "version", h.version, "panic", p, "stack", string(debug.Stack()))
			item, err = nil, fmt.Errorf("internal error serving api key %d v%d: %v", h.key, h.version, p)
		}
	}()
	h, rest, err := readHeaderStart(frame)
	if err != nil {
		return nil, err
	}
	a, ok := s.apis[h.key]
	if !ok {
		return nil, fmt.Errorf("unsupported api key %d (%s)", h.key, kmsg.NameForKey(h.key))
	}
	if h.version < a.min || h.version > a.max {
		if h.key == apiKeyApiVersions && h.version > a.max {
			// The client does not know our versions yet: answer in the
			// v0 shape so it can read the error and the key list.
			return done(h.correlationID, s.apiVersionsUnsupported()), nil
		}
		return nil, fmt.Errorf("unsupported version %d of %s (api key %d); supported %d to %d",
			h.version, kmsg.NameForKey(h.key), h.key, a.min, a.max)
	}
	msg := kmsg.RequestForKey(h.key)
	msg.SetVersion(h.version)
	clientID, body, err := readHeaderRest(rest, msg.IsFlexible())
	if err != nil {
		return nil, err
	}
	if err := msg.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decode %s v%d: %w", kmsg.NameForKey(h.key), h.version, err)
	}
	req := &Request{Key: h.key, Version: h.version, CorrelationID: h.correlationID, ClientID: clientID, Msg: msg, RemoteAddr: remote}
	slot, _ := ctx.Value(replySlotKey{}).(*replySlot)
	if slot != nil {
		slot.corr, slot.it = h.correlationID, nil
	}
	reply, err := a.handle(ctx, req)
	if slot != nil && slot.it != nil {
		// The handler answers from a callback (deferReply); it has
		// committed to complete the reply, error or not.
		it := slot.it
		slot.it = nil
		if err != nil {
			return it, fmt.Errorf("%s v%d: %w", kmsg.NameForKey(h.key), h.version, err)
		}
		if reply.resp != nil || reply.wait != nil || reply.none {
			return it, fmt.Errorf("%s v%d: handler took its reply for later but returned another", kmsg.NameForKey(h.key), h.version)
		}
		return it, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s v%d: %w", kmsg.NameForKey(h.key), h.version, err)
	}
	switch {
	case reply.none:
		return nil, nil
	case reply.wait != nil:
		it := &inflight{corr: h.correlationID, done: make(chan struct{})}
		s.goDeferred(ctx, it, h, reply.wait)
		return it, nil
	case reply.resp == nil:
		return nil, fmt.Errorf("%s v%d: handler returned no response", kmsg.NameForKey(h.key), h.version)
	}
	return done(h.correlationID, reply.resp), nil
}

// goDeferred runs a deferred reply. Its goroutine is owned by the
// connection: it ends when wait returns, which wait must do promptly once
// ctx (the connection's) is cancelled.
func (s *Server) goDeferred(ctx context.Context, it *inflight, h header, wait func(context.Context) kmsg.Response) {
	s.waiting.Add(1)
	go func() {
		defer it.complete()
		defer s.waiting.Add(-1)
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic serving request", "api_key", h.key, "version", h.version, "panic", p, "stack", string(debug.Stack()))
				it.resp = nil
				it.fail = fmt.Errorf("internal error serving api key %d v%d: %v", h.key, h.version, p)
			}
		}()
		it.resp = wait(ctx)
	}()
}

func done(corr int32, resp kmsg.Response) *inflight {
	it := &inflight{corr: corr, done: make(chan struct{}), resp: resp}
	close(it.done)
	return it
}
