package server

import (
	"fmt"
	"runtime/debug"

	"github.com/millstream/millstream/broker/auth"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxUnauthenticatedRequest bounds a frame read before the login, so a
// client that has not proved who it is cannot make the broker allocate
// max-request-size per connection. Kafka's sasl.server.max.receive.size
// has the same default; logins and ApiVersions are far smaller.
const maxUnauthenticatedRequest = 512 << 10

// connSASL is where one connection stands in its SASL login. The
// connection's reading goroutine owns it.
type connSASL struct {
	// session is the exchange under way, from SaslHandshake until it ends.
	session   auth.Session
	mechanism string
	clientID  string
	// raw: the handshake was v0, so tokens come without Kafka headers.
	raw bool
	// user is set once the login succeeded.
	user string
}

func (st *connSASL) authenticated() bool { return st.user != "" }

// serveUnauthenticated serves a frame of a connection that has not logged
// in yet: ApiVersions, SaslHandshake and SaslAuthenticate, or a bare token
// after a v0 handshake. Anything else closes the connection, as Kafka does
// (it answers nothing: the client cannot have meant to skip the login).
// It may return an item to write and an error: the answer is written,
// then the connection closed.
func (c *conn) serveUnauthenticated(frame []byte) (item *inflight, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.s.log.Error("panic serving sasl login", "panic", p, "stack", string(debug.Stack()))
			item, err = nil, fmt.Errorf("internal error serving sasl login: %v", p)
		}
	}()
	if c.sasl.raw && c.sasl.session != nil {
		return c.saslRawToken(frame)
	}
	h, rest, err := readHeaderStart(frame)
	if err != nil {
		return nil, err
	}
	switch h.key {
	case apiKeyApiVersions:
		return c.s.serveFrame(c.ctx, frame, c.nc.RemoteAddr())
	case apiKeySaslHandshake, apiKeySaslAuthenticate:
	default:
		clientID := "?"
		if msg := kmsg.RequestForKey(h.key); msg != nil {
			msg.SetVersion(h.version)
			if id, _, err := readHeaderRest(rest, msg.IsFlexible()); err == nil {
				clientID = id
			}
		}
		return nil, fmt.Errorf("client %q sent %s before authenticating: sasl is on (mechanisms %v); configure the client's SASL settings",
			clientID, kmsg.NameForKey(h.key), c.s.auth.Mechanisms())
	}
	a := c.s.apis[h.key]
	if h.version < a.min || h.version > a.max {
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
	r := &Request{Key: h.key, Version: h.version, CorrelationID: h.correlationID, ClientID: clientID, Msg: msg, RemoteAddr: c.nc.RemoteAddr()}
	if h.key == apiKeySaslHandshake {
		return c.saslHandshake(r)
	}
	return c.saslAuthenticate(r)
}
