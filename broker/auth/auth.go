package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sort"

	"golang.org/x/crypto/pbkdf2"
)

// Mechanism names, as clients send them in SaslHandshake.
const (
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
)

// Mechanisms lists every mechanism this package implements.
var Mechanisms = []string{Plain, ScramSHA256, ScramSHA512}

const (
	// DefaultIterations is the PBKDF2 iteration count of credentials New
	// derives from a password, and Kafka's minimum for SCRAM.
	DefaultIterations = 4096
	// MinIterations is the fewest iterations a stored credential may have.
	MinIterations = 4096
	// MaxIterations bounds the work a PLAIN login against a stored
	// credential costs the broker.
	MaxIterations = 1 << 20
)

// A User is one user's secrets. Give Password, or the SCRAM credentials of
// each SCRAM mechanism in use, or both (then the credentials win for SCRAM).
type User struct {
	// Password, in clear. Needed for PLAIN unless a SCRAM credential is
	// given (PLAIN then checks against it).
	Password string `yaml:"password,omitempty"`
	// ScramSHA256 and ScramSHA512 are pre-derived credentials (see
	// [DeriveSCRAM]).
	ScramSHA256 *SCRAMCredential `yaml:"scram-sha-256,omitempty"`
	ScramSHA512 *SCRAMCredential `yaml:"scram-sha-512,omitempty"`
}

// A SCRAMCredential is what the server stores for one user and mechanism
// (RFC 5802 section 3): the salt, the iteration count, StoredKey =
// H(HMAC(SaltedPassword, "Client Key")) and ServerKey =
// HMAC(SaltedPassword, "Server Key"). Byte fields are standard base64, as
// in the YAML config.
type SCRAMCredential struct {
	Salt       string `yaml:"salt"`
	Iterations int    `yaml:"iterations"`
	StoredKey  string `yaml:"stored-key"`
	ServerKey  string `yaml:"server-key"`
}

// scramHash returns the hash of a SCRAM mechanism, or nil.
func scramHash(mech string) func() hash.Hash {
	switch mech {
	case ScramSHA256:
		return sha256.New
	case ScramSHA512:
		return sha512.New
	}
	return nil
}

// DeriveSCRAM computes the credential of password for a SCRAM mechanism.
func DeriveSCRAM(mech, password string, salt []byte, iterations int) (SCRAMCredential, error) {
	h := scramHash(mech)
	if h == nil {
		return SCRAMCredential{}, fmt.Errorf("auth: derive credential: %q is not a SCRAM mechanism: %w", mech, ErrUnsupportedMechanism)
	}
	if iterations < MinIterations || iterations > MaxIterations {
		return SCRAMCredential{}, fmt.Errorf("auth: derive credential: iterations %d: must be %d to %d", iterations, MinIterations, MaxIterations)
	}
	k := deriveKeys(h, []byte(password), salt, iterations)
	enc := base64.StdEncoding.EncodeToString
	return SCRAMCredential{Salt: enc(salt), Iterations: iterations, StoredKey: enc(k.stored), ServerKey: enc(k.server)}, nil
}

// scramKeys is a decoded SCRAMCredential.
type scramKeys struct {
	salt       []byte
	iterations int
	stored     []byte
	server     []byte
}

func deriveSalted(h func() hash.Hash, password string, salt []byte, iterations int) []byte {
	return pbkdf2.Key([]byte(password), salt, iterations, h().Size(), h)
}

func deriveKeys(h func() hash.Hash, password, salt []byte, iterations int) scramKeys {
	salted := deriveSalted(h, string(password), salt, iterations)
	clientKey := hmacSum(h, salted, []byte("Client Key"))
	stored := h()
	stored.Write(clientKey)
	return scramKeys{salt: salt, iterations: iterations, stored: stored.Sum(nil), server: hmacSum(h, salted, []byte("Server Key"))}
}

func hmacSum(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}

func (c SCRAMCredential) decode(h func() hash.Hash) (scramKeys, error) {
	dec := base64.StdEncoding.DecodeString
	salt, err := dec(c.Salt)
	if err != nil || len(salt) == 0 {
		return scramKeys{}, fmt.Errorf("salt: want non-empty standard base64 (%v)", err)
	}
	stored, err := dec(c.StoredKey)
	if err != nil || len(stored) != h().Size() {
		return scramKeys{}, fmt.Errorf("stored-key: want %d bytes in standard base64 (%v)", h().Size(), err)
	}
	server, err := dec(c.ServerKey)
	if err != nil || len(server) != h().Size() {
		return scramKeys{}, fmt.Errorf("server-key: want %d bytes in standard base64 (%v)", h().Size(), err)
	}
	if c.Iterations < MinIterations || c.Iterations > MaxIterations {
		return scramKeys{}, fmt.Errorf("iterations %d: must be %d to %d", c.Iterations, MinIterations, MaxIterations)
	}
	return scramKeys{salt: salt, iterations: c.Iterations, stored: stored, server: server}, nil
}

// Validate reports every problem of a mechanism list and user table
// without deriving anything (it is cheap).
func Validate(mechanisms []string, users map[string]User) error {
	var errs []error
	if len(mechanisms) == 0 {
		errs = append(errs, errors.New("no mechanism: give one or more of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"))
	}
	for _, m := range mechanisms {
		if !slices.Contains(Mechanisms, m) {
			errs = append(errs, fmt.Errorf("mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", m))
		}
	}
	if len(users) == 0 {
		errs = append(errs, errors.New("no users: add at least one under sasl-users"))
	}
	for _, name := range sortedNames(users) {
		u := users[name]
		if name == "" {
			errs = append(errs, errors.New("user with an empty name"))
			continue
		}
		if u.Password == "" && u.ScramSHA256 == nil && u.ScramSHA512 == nil {
			errs = append(errs, fmt.Errorf("user %q: give a password or scram-sha-256/scram-sha-512 credentials", name))
		}
		for mech, c := range map[string]*SCRAMCredential{ScramSHA256: u.ScramSHA256, ScramSHA512: u.ScramSHA512} {
			if c == nil {
				continue
			}
			if _, err := c.decode(scramHash(mech)); err != nil {
				errs = append(errs, fmt.Errorf("user %q %s: %w", name, mech, err))
			}
		}
	}
	return errors.Join(errs...)
}

func sortedNames(users map[string]User) []string {
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// An Authenticator holds the enabled mechanisms and the users' secrets. It
// is immutable after New and safe for concurrent use.
type Authenticator struct {
	mechanisms []string
	users      map[string]user
	// fakeKey makes the made-up credentials of unknown users stable per
	// name (a fresh salt each time would tell them apart).
	fakeKey []byte
}

// user holds the decoded secrets of one user.
type user struct {
	password string // "" when only credentials were given
	scram    map[string]scramKeys
}

// New checks the configuration (see [Validate]) and derives the SCRAM
// credentials of users given with a password.
func New(mechanisms []string, users map[string]User) (*Authenticator, error) {
	if err := Validate(mechanisms, users); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	a := &Authenticator{mechanisms: slices.Clone(mechanisms), users: make(map[string]user, len(users)), fakeKey: make([]byte, 32)}
	if _, err := rand.Read(a.fakeKey); err != nil {
		return nil, fmt.Errorf("auth: random key: %w", err)
	}
	for name, u := range users {
		d := user{password: u.Password, scram: map[string]scramKeys{}}
		for _, mech := range []string{ScramSHA256, ScramSHA512} {
			h := scramHash(mech)
			c := u.ScramSHA256
			if mech == ScramSHA512 {
				c = u.ScramSHA512
			}
			switch {
			case c != nil:
				k, err := c.decode(h)
				if err != nil {
					return nil, fmt.Errorf("auth: user %q %s: %w", name, mech, err)
				}
				d.scram[mech] = k
			case u.Password != "" && slices.Contains(mechanisms, mech):
				salt := make([]byte, 24)
				if _, err := rand.Read(salt); err != nil {
					return nil, fmt.Errorf("auth: random salt: %w", err)
				}
				d.scram[mech] = deriveKeys(h, []byte(u.Password), salt, DefaultIterations)
			}
		}
		a.users[name] = d
	}
	return a, nil
}

// Mechanisms returns the enabled mechanisms, in configuration order.
func (a *Authenticator) Mechanisms() []string { return slices.Clone(a.mechanisms) }

// Enabled reports whether mech is enabled.
func (a *Authenticator) Enabled(mech string) bool { return slices.Contains(a.mechanisms, mech) }

// A Session is one authentication exchange. It is not safe for concurrent
// use; a connection owns it.
type Session interface {
	// Step consumes the client's next token and returns the token to send
	// back. done is true once the client is authenticated. An error wraps
	// ErrAuthenticationFailed; the exchange is over and the connection
	// should be closed.
	Step(token []byte) (reply []byte, done bool, err error)
	// User is the user name the client gave ("" before it gave one).
	User() string
}

// Start begins an exchange of mechanism mech.
func (a *Authenticator) Start(mech string) (Session, error) {
	if !a.Enabled(mech) {
		return nil, fmt.Errorf("auth: %q (enabled: %v): %w", mech, a.mechanisms, ErrUnsupportedMechanism)
	}
	if mech == Plain {
		return &plainSession{a: a}, nil
	}
	return &scramSession{a: a, mech: mech, h: scramHash(mech)}, nil
}
