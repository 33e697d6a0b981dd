// Package auth is the server side of SASL for the broker: PLAIN (RFC 4616)
// and SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677).
//
// It knows nothing of Kafka framing. The broker's connection code asks an
// [Authenticator] for a [Session] of the mechanism the client named in
// SaslHandshake and feeds it the client's tokens one by one; each Step
// returns the token to send back, until the session is done or fails.
//
// # Users
//
// A [User] carries a password, pre-derived SCRAM credentials, or both. With
// a password, [New] derives the SCRAM credentials itself (a random salt,
// [DefaultIterations]); with only SCRAM credentials the password never sits
// in the broker's configuration, and PLAIN still works: the password the
// client sends is salted and hashed and compared with the stored key.
//
// # SCRAM exchange
//
//	client-first   n,,n=USER,r=CNONCE
//	server-first   r=CNONCE SNONCE,s=SALT,i=ITERATIONS
//	client-final   c=biws,r=CNONCE SNONCE,p=PROOF
//	server-final   v=SERVER-SIGNATURE
//
// Channel binding is not supported (a gs2 header of "p=..." is refused);
// extensions (Kafka's tokenauth=true) are accepted and ignored, so
// delegation tokens are not supported either. Every comparison of secret
// material is constant-time, and an unknown user runs the same exchange as
// a known one against made-up credentials, so the failure cannot tell a
// wrong user from a wrong password.
package auth
