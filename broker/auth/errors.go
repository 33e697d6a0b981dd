package auth

import "errors"

// Sentinel errors. Every error a Session returns wraps ErrAuthenticationFailed;
// its message is safe to show the client (it never says whether the user
// exists).
var (
	// ErrAuthenticationFailed: the credentials were wrong or the exchange
	// was malformed. The broker answers SASL_AUTHENTICATION_FAILED.
	ErrAuthenticationFailed = errors.New("authentication failed")
	// ErrUnsupportedMechanism: the mechanism is not enabled.
	ErrUnsupportedMechanism = errors.New("unsupported sasl mechanism")
)
