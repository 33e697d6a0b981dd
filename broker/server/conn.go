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
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxInFlight bounds the requests of one connection that are read but not
// yet answered; reading pauses when it is reached.
const maxInFlight = 64

// conn is one client connection. Its reading goroutine decodes a request
// and runs the handler; its writing goroutine writes the replies in the
// order the requests came, waiting for deferred ones.
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
	// unanswered counts the queued replies the writer has not finished
	// with. When it is 0 the writer waits for the next one and can run a
	// deferred reply's wait itself (see readLoop).
	unanswered atomic.Int32
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
	// wait, when not nil, is a deferred reply not started yet: the writer
	// runs it when the item's turn comes (runDeferred), or the reader
	// starts it on a goroutine of its own (goDeferred). key and version
	// name the request in a panic's log.
	wait         func(context.Context) kmsg.Response
	key, version int16
}

// serve runs the connection until the client leaves, a protocol error, or
// the server stops. It closes nc.
func (c *conn) serve() {
	defer c.cancel()
	if c.s.auth != nil && c.sasl == nil {
		c.sasl = &connSASL{}
	}
	queue := make(chan *inflight, maxInFlight)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(queue)
	}()
	err := c.readLoop(queue)
	close(queue)
	<-writerDone
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded):
		c.log.Debug("connection closed")
	default:
		c.log.Warn("closing connection", "reason", err)
	}
	_ = c.nc.Close()
}

// readLoop reads frames until an error. Each decoded request is handled
// here, in order; its reply is queued for the writer.
func (c *conn) readLoop(queue chan<- *inflight) error {
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
			item, err = c.s.serveFrame(c.ctx, frame, c.nc.RemoteAddr())
			if err == nil && reusableFrame(frame) {
				kept = frame
			}
		}
		if item != nil && item.wait != nil && c.unanswered.Load() > 0 {
			// The writer is busy with earlier replies: the wait starts
			// now, on its own goroutine, so that it overlaps theirs (an
			// fsync of another partition, a long-poll). When nothing is
			// ahead of it, the writer runs it itself: one goroutine and
			// two wake-ups fewer for a client with one request in flight,
			// which waits for each reply (acks=all with fsync, long-polls).
			c.s.goDeferred(c.ctx, item)
		}
		if item != nil {
			c.unanswered.Add(1)
			select {
			case queue <- item:
			case <-c.ctx.Done():
				return c.ctx.Err()
			}
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

// writeLoop writes each queued reply once it is ready, in queue order.
// After a write error it keeps draining (so readers never block) but
// writes nothing.
func (c *conn) writeLoop(queue <-chan *inflight) {
	w := &replyWriter{c: c, bw: bufio.NewWriterSize(c.nc, 64<<10)}
	for it := range queue {
		send := w.await(it)
		// The reply stops counting as unanswered before its bytes go
		// out: a client that sends its next request as soon as it reads
		// this reply must find the writer free for it.
		c.unanswered.Add(-1)
		if send {
			w.write(it)
		}
	}
	if !w.failed {
		_ = w.bw.Flush()
	}
}

// replyWriter is the writing goroutine's state.
type replyWriter struct {
	c   *conn
	bw  *bufio.Writer
	buf []byte
	// failed is set after a write error or a reply that closes the
	// connection: nothing more is written.
	failed bool
}

// await waits until it is ready, running its deferred wait first if
// nobody started it, and reports whether it has something to write.
func (w *replyWriter) await(it *inflight) bool {
	if w.failed {
		return false
	}
	select {
	case <-it.done:
	default:
		// Not ready (a long-poll, an fsync): send what is buffered first,
		// so earlier responses do not wait for this one.
		if w.bw.Buffered() > 0 {
			if err := w.bw.Flush(); err != nil {
				w.drop(err, false)
				return false
			}
		}
		if it.wait != nil {
			w.c.s.runDeferred(w.c.ctx, it) // the reader left it to us
		}
		select {
		case <-it.done:
		case <-w.c.ctx.Done():
			w.failed = true
			return false
		}
	}
	if it.fail != nil {
		w.drop(it.fail, true)
		return false
	}
	return it.resp != nil || it.isRaw
}

// write writes the reply of it, which is ready.
func (w *replyWriter) write(it *inflight) {
	if it.isRaw {
		w.buf = binary.BigEndian.AppendUint32(w.buf[:0], uint32(len(it.raw)))
		w.buf = append(w.buf, it.raw...)
	} else {
		w.buf = appendResponse(w.buf[:0], it.corr, it.resp)
	}
	_, err := w.bw.Write(w.buf)
	if err == nil && w.c.unanswered.Load() == 0 {
		// Flush when nothing else is queued, so pipelined responses share
		// a write and a lone one is not held back.
		err = w.bw.Flush()
	}
	if err != nil {
		w.drop(err, false)
	}
	if cap(w.buf) > 1<<20 {
		w.buf = nil // do not keep a large fetch response's buffer around
	}
}

// drop closes the connection because of reason: a reply that asks for it
// (logged as a warning) or a failed write.
func (w *replyWriter) drop(reason error, asked bool) {
	if asked {
		w.c.log.Warn("closing connection", "reason", reason)
	} else {
		w.c.log.Debug("write response", "err", reason)
	}
	w.failed = true
	w.c.cancel()
	_ = w.c.nc.Close()
}

// serveFrame decodes one request frame and runs its handler. It returns
// the queue item for the reply (nil when the client expects none), or an
// error that closes the connection. A deferred reply's wait is left in the
// item, not started: the caller runs it (runDeferred) or starts it
// (goDeferred). It never panics on client bytes: a panic in decoding or in
// a handler is recovered, logged with its stack, and closes the
// connection.
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
	reply, err := a.handle(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s v%d: %w", kmsg.NameForKey(h.key), h.version, err)
	}
	switch {
	case reply.none:
		return nil, nil
	case reply.wait != nil:
		return &inflight{corr: h.correlationID, done: make(chan struct{}), wait: reply.wait, key: h.key, version: h.version}, nil
	case reply.resp == nil:
		return nil, fmt.Errorf("%s v%d: handler returned no response", kmsg.NameForKey(h.key), h.version)
	}
	return done(h.correlationID, reply.resp), nil
}

// goDeferred starts the deferred wait of it on a goroutine owned by the
// connection: it ends when the wait returns, which the wait must do
// promptly once ctx (the connection's) is cancelled.
func (s *Server) goDeferred(ctx context.Context, it *inflight) {
	wait := s.takeWait(it)
	go s.finishDeferred(ctx, it, wait)
}

// runDeferred runs the deferred wait of it on the calling goroutine.
func (s *Server) runDeferred(ctx context.Context, it *inflight) {
	s.finishDeferred(ctx, it, s.takeWait(it))
}

// takeWait takes the wait out of it, so that nobody runs it twice, and
// counts it in s.waiting until finishDeferred ends.
func (s *Server) takeWait(it *inflight) func(context.Context) kmsg.Response {
	wait := it.wait
	it.wait = nil
	s.waiting.Add(1)
	return wait
}

// finishDeferred runs wait and hands its response (or the panic it raised)
// to it. s.waiting counts it in until then.
func (s *Server) finishDeferred(ctx context.Context, it *inflight, wait func(context.Context) kmsg.Response) {
	defer close(it.done)
	defer s.waiting.Add(-1)
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving request", "api_key", it.key, "version", it.version, "panic", p, "stack", string(debug.Stack()))
			it.resp = nil
			it.fail = fmt.Errorf("internal error serving api key %d v%d: %v", it.key, it.version, p)
		}
	}()
	it.resp = wait(ctx)
}

func done(corr int32, resp kmsg.Response) *inflight {
	it := &inflight{corr: corr, done: make(chan struct{}), resp: resp}
	close(it.done)
	return it
}
