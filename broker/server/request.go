package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A Request is one decoded client request, as handlers see it.
type Request struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      string // "" when the client sent a null client id
	// Msg is the decoded body; its concrete type is the kmsg request type
	// of Key (*kmsg.ProduceRequest for 0, ...), at Version.
	Msg        kmsg.Request
	RemoteAddr net.Addr
}

// A Reply is what a handler returns: a response to write now, a function
// that produces the response later, or no response at all (acks=0).
//
// Whatever the kind, the connection writes responses in request order.
type Reply struct {
	resp kmsg.Response
	wait func(ctx context.Context) kmsg.Response
	none bool
}

// respond replies with resp, written as soon as every earlier response of
// the connection has been written.
func respond(resp kmsg.Response) Reply { return Reply{resp: resp} }

// later runs wait off the reading goroutine (on the writing one when
// nothing is ahead of it, else on a goroutine of its own) and replies with
// what it returns. Handlers use it for work that blocks (a fetch
// long-poll, a produce that waits for fsync) so the connection can read
// and start the next request.
// ctx is cancelled when the connection is dropped; wait must then return
// promptly (its response is discarded).
func later(wait func(ctx context.Context) kmsg.Response) Reply { return Reply{wait: wait} }

// noResponse is the reply to a request the client expects no answer to.
var noResponse = Reply{none: true}

// handler serves one API. It runs on the connection's reading goroutine,
// one request at a time, so a connection's requests take effect in the
// order they were sent (appends of pipelined produces stay in order). A
// returned error closes the connection and is logged; it is for requests
// the broker cannot answer at all.
type handler func(ctx context.Context, r *Request) (Reply, error)

// header is the fixed part of a request header (v0 to v2).
type header struct {
	key           int16
	version       int16
	correlationID int32
}

var errShortFrame = errors.New("frame shorter than a request header")

// readHeaderStart decodes api key, version and correlation id.
func readHeaderStart(frame []byte) (header, []byte, error) {
	if len(frame) < 8 {
		return header{}, nil, errShortFrame
	}
	h := header{
		key:           int16(binary.BigEndian.Uint16(frame)),
		version:       int16(binary.BigEndian.Uint16(frame[2:])),
		correlationID: int32(binary.BigEndian.Uint32(frame[4:])),
	}
	return h, frame[8:], nil
}

// readHeaderRest decodes the client id (a nullable string in every header
// version from 1) and, for header v2 (flexible requests), skips the tagged
// fields. It returns the body.
func readHeaderRest(b []byte, flexible bool) (clientID string, body []byte, err error) {
	if len(b) < 2 {
		return "", nil, errors.New("request header: client id length missing")
	}
	n := int16(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n >= 0 {
		if int(n) > len(b) {
			return "", nil, fmt.Errorf("request header: client id of %d bytes, %d left", n, len(b))
		}
		clientID, b = string(b[:n]), b[n:]
	} else if n != -1 {
		return "", nil, fmt.Errorf("request header: client id length %d", n)
	}
	if !flexible {
		return clientID, b, nil
	}
	count, b, err := uvarint(b)
	if err != nil {
		return "", nil, fmt.Errorf("request header: tag count: %w", err)
	}
	for i := uint64(0); i < count; i++ {
		if _, b, err = uvarint(b); err != nil {
			return "", nil, fmt.Errorf("request header: tag: %w", err)
		}
		var size uint64
		if size, b, err = uvarint(b); err != nil {
			return "", nil, fmt.Errorf("request header: tag size: %w", err)
		}
		if size > uint64(len(b)) {
			return "", nil, fmt.Errorf("request header: tag of %d bytes, %d left", size, len(b))
		}
		b = b[size:]
	}
	return clientID, b, nil
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errors.New("bad varint")
	}
	return v, b[n:], nil
}

// appendResponse frames resp for correlation id corr: size, correlation
// id, the header tag byte for flexible responses (never for ApiVersions,
// whose response header stays v0 so clients can parse it before they know
// the broker's versions), then the body.
func appendResponse(dst []byte, corr int32, resp kmsg.Response) []byte {
	if n := len(dst) + responseSizeHint(resp); cap(dst) < n {
		// A fetch response is mostly record bytes: growing the buffer by
		// doubling would copy them about twice more.
		dst = append(make([]byte, 0, n), dst...)
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(corr))
	if resp.IsFlexible() && resp.Key() != apiKeyApiVersions {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// responseSizeHint is a little more than the encoded size of a fetch
// response (its record bytes plus room for the fields around them), and 0
// for other responses, which are small.
func responseSizeHint(resp kmsg.Response) int {
	f, ok := resp.(*kmsg.FetchResponse)
	if !ok {
		return 0
	}
	n := 64
	for i := range f.Topics {
		t := &f.Topics[i]
		n += 64 + len(t.Topic)
		for j := range t.Partitions {
			p := &t.Partitions[j]
			n += 96 + len(p.RecordBatches) + 32*len(p.AbortedTransactions)
		}
	}
	return n
}

// response returns the empty response to r, at r's version, with kmsg's
// field defaults applied (ControllerID -1, authorized operations "not
// computed", ...).
func response[T kmsg.Response](r *Request) T {
	resp := r.Msg.ResponseKind()
	if d, ok := resp.(interface{ Default() }); ok {
		d.Default()
	}
	resp.SetVersion(r.Version)
	return resp.(T)
}
