package server

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslHandshake: key 17. Listed only when SASL is on (Config.SASLMechanisms).
//
// Version notes:
//   - v0: after the handshake the client sends bare SASL tokens, each framed
//     by its size alone, and reads replies framed the same way (no Kafka
//     header); a failed login closes the connection without an answer.
//   - v1: the tokens travel in SaslAuthenticate requests instead.
//
// The exchange is served by serveUnauthenticated (sasl_conn.go), which
// sees a connection's requests until it is authenticated. A handshake
// reaching this handler comes after a successful login: re-authentication
// (KIP-368) is not supported, and Kafka answers ILLEGAL_SASL_STATE too.

func (s *Server) handleSaslHandshake(_ context.Context, r *Request) (Reply, error) {
	resp := response[*kmsg.SASLHandshakeResponse](r)
	resp.ErrorCode = kerr.IllegalSaslState.Code
	resp.SupportedMechanisms = s.auth.Mechanisms()
	return respond(resp), nil
}

// saslHandshake starts the exchange of the mechanism the client names. An
// unknown mechanism is answered with UNSUPPORTED_SASL_MECHANISM and the
// enabled list, then the connection is closed, as Kafka does.
func (c *conn) saslHandshake(r *Request) (*inflight, error) {
	req := r.Msg.(*kmsg.SASLHandshakeRequest)
	resp := response[*kmsg.SASLHandshakeResponse](r)
	resp.SupportedMechanisms = c.s.auth.Mechanisms()
	if c.sasl.session != nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return done(r.CorrelationID, resp), fmt.Errorf("client %q sent a second SaslHandshake", r.ClientID)
	}
	sess, err := c.s.auth.Start(req.Mechanism)
	if err != nil {
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		return done(r.CorrelationID, resp), fmt.Errorf("client %q asked for sasl mechanism %q; enabled: %v", r.ClientID, req.Mechanism, resp.SupportedMechanisms)
	}
	c.sasl.session, c.sasl.mechanism, c.sasl.clientID = sess, req.Mechanism, r.ClientID
	c.sasl.raw = r.Version == 0
	return done(r.CorrelationID, resp), nil
}

// failedLogin is the error that closes a connection after a login failed;
// it names the user and the client for the log.
func (c *conn) failedLogin(err error) error {
	return fmt.Errorf("sasl %s login of user %q (client %q) failed: %w", c.sasl.mechanism, c.sasl.session.User(), c.sasl.clientID, err)
}

// loggedIn records a completed login.
func (c *conn) loggedIn() {
	c.sasl.user = c.sasl.session.User()
	c.sasl.session = nil
	c.log.Debug("sasl login", "user", c.sasl.user, "mechanism", c.sasl.mechanism, "client_id", c.sasl.clientID)
}
