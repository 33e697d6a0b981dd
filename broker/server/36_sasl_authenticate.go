package server

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslAuthenticate: key 36. Listed only when SASL is on.
//
// Version notes:
//   - v0: carries one SASL token each way, after SaslHandshake v1.
//   - v1: SessionLifetimeMillis in the response (KIP-368); we answer 0:
//     the session does not expire and the client never re-authenticates.
//   - v2: flexible.
//
// A wrong password is answered with SASL_AUTHENTICATION_FAILED and a
// message, then the connection is closed, as Kafka does. Like
// SaslHandshake, the exchange itself is served by serveUnauthenticated; a
// request reaching this handler comes after a completed login.

func (s *Server) handleSaslAuthenticate(_ context.Context, r *Request) (Reply, error) {
	resp := response[*kmsg.SASLAuthenticateResponse](r)
	resp.ErrorCode = kerr.IllegalSaslState.Code
	msg := "SaslAuthenticate after a completed login; re-authentication is not supported"
	resp.ErrorMessage = &msg
	return respond(resp), nil
}

// saslAuthenticate passes the client's token to the session.
func (c *conn) saslAuthenticate(r *Request) (*inflight, error) {
	req := r.Msg.(*kmsg.SASLAuthenticateRequest)
	resp := response[*kmsg.SASLAuthenticateResponse](r)
	if c.sasl.session == nil || c.sasl.raw {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		msg := "SaslAuthenticate before a SaslHandshake v1"
		resp.ErrorMessage = &msg
		return done(r.CorrelationID, resp), fmt.Errorf("client %q sent %s", r.ClientID, msg)
	}
	reply, ok, err := c.sasl.session.Step(req.SASLAuthBytes)
	if err != nil {
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := err.Error()
		resp.ErrorMessage = &msg
		return done(r.CorrelationID, resp), c.failedLogin(err)
	}
	resp.SASLAuthBytes = reply
	if ok {
		c.loggedIn()
	}
	return done(r.CorrelationID, resp), nil
}

// saslRawToken serves one bare token after SaslHandshake v0. A failed
// login closes the connection without an answer: v0 has no way to carry
// an error.
func (c *conn) saslRawToken(token []byte) (*inflight, error) {
	reply, ok, err := c.sasl.session.Step(token)
	if err != nil {
		return nil, c.failedLogin(err)
	}
	if ok {
		c.loggedIn()
	}
	it := &inflight{done: make(chan struct{}), raw: reply, isRaw: true}
	close(it.done)
	return it, nil
}
