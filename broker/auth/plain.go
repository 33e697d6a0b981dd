package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
)

// plainSession checks one PLAIN message (RFC 4616):
// authzid NUL authcid NUL passwd.
type plainSession struct {
	a    *Authenticator
	user string
	used bool
}

func (p *plainSession) User() string { return p.user }

func (p *plainSession) Step(token []byte) ([]byte, bool, error) {
	if p.used {
		return nil, false, fmt.Errorf("%w: PLAIN takes one message", ErrAuthenticationFailed)
	}
	p.used = true
	authz, user, pass, err := ParsePlain(token)
	if err != nil {
		return nil, false, err
	}
	p.user = user
	if authz != "" && authz != user {
		return nil, false, fmt.Errorf("%w: authorization id %q differs from the user name; acting as another user is not supported", ErrAuthenticationFailed, authz)
	}
	if !p.a.checkPassword(user, pass) {
		return nil, false, fmt.Errorf("%w: invalid username or password", ErrAuthenticationFailed)
	}
	return []byte{}, true, nil
}

// ParsePlain splits a PLAIN message into authorization id, user and
// password. Errors wrap ErrAuthenticationFailed.
func ParsePlain(token []byte) (authz, user, password string, err error) {
	parts := bytes.Split(token, []byte{0})
	if len(parts) != 3 {
		return "", "", "", fmt.Errorf("%w: malformed PLAIN message: want authzid NUL user NUL password", ErrAuthenticationFailed)
	}
	if len(parts[1]) == 0 || len(parts[2]) == 0 {
		return "", "", "", fmt.Errorf("%w: malformed PLAIN message: empty user or password", ErrAuthenticationFailed)
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}

// checkPassword compares pass with the user's password in constant time,
// or, with only SCRAM credentials stored, derives the stored key from it.
// An unknown user costs the same as a known one with a password.
func (a *Authenticator) checkPassword(name, pass string) bool {
	u, ok := a.users[name]
	if ok && u.password == "" {
		for _, mech := range []string{ScramSHA256, ScramSHA512} {
			if k, have := u.scram[mech]; have {
				got := deriveKeys(scramHash(mech), []byte(pass), k.salt, k.iterations)
				return subtle.ConstantTimeCompare(got.stored, k.stored) == 1
			}
		}
		return false
	}
	// Hash both sides so the comparison time does not depend on lengths.
	want := sha256.Sum256([]byte(u.password))
	got := sha256.Sum256([]byte(pass))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1 && ok
}
