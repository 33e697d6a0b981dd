package compat_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawConn is a bare Kafka connection: kmsg encodes the requests, and nothing
// hides what the broker sends back or when it hangs up.
type rawConn struct {
	net.Conn
	corr int32
	fmt  *kmsg.RequestFormatter
}

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &rawConn{Conn: c, fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID("compat-raw"))}, nil
}

// maxResponse bounds what readFrame accepts, so a broken broker cannot make
// the test allocate gigabytes.
const maxResponse = 64 << 20

// roundTrip sends req and decodes the response of the same version.
func (c *rawConn) roundTrip(req kmsg.Request, timeout time.Duration) (kmsg.Response, error) {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	c.corr++
	corr := c.corr
	if _, err := c.Write(c.fmt.AppendRequest(nil, req, corr)); err != nil {
		return nil, fmt.Errorf("write %s v%d: %w", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	body, err := c.readFrame()
	if err != nil {
		return nil, fmt.Errorf("read %s v%d response: %w", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	if len(body) < 4 {
		return nil, fmt.Errorf("%s response of %d bytes has no correlation id", kmsg.NameForKey(req.Key()), len(body))
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		return nil, fmt.Errorf("%s response correlation id = %d, want %d", kmsg.NameForKey(req.Key()), got, corr)
	}
	body = body[4:]
	// Flexible responses carry a tag section in the header, except
	// ApiVersions, whose header is always v0.
	if req.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		if len(body) < 1 || body[0] != 0 {
			return nil, fmt.Errorf("%s response header: want an empty tag section", kmsg.NameForKey(req.Key()))
		}
		body = body[1:]
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decode %s v%d response: %w", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp, nil
}

// readFrame reads one size-prefixed frame.
func (c *rawConn) readFrame() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 0 || n > maxResponse {
		return nil, fmt.Errorf("response frame size %d", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		return nil, err
	}
	return body, nil
}

// waitClosed reads until the broker closes the connection, discarding any
// bytes, and fails if it is still open after timeout.
func (c *rawConn) waitClosed(timeout time.Duration) error {
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, c)
	if err == nil {
		return nil // EOF: closed
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return fmt.Errorf("connection still open after %v (%d bytes received)", timeout, n)
	}
	return nil // reset by peer also means closed
}
