package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/millstream/millstream/broker/auth"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

func newAuth(t *testing.T) *auth.Authenticator {
	t.Helper()
	cred, err := auth.DeriveSCRAM(auth.ScramSHA512, "only-derived", []byte("0123456789abcdef"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Mechanisms, map[string]auth.User{
		"alice":     {Password: "wonder,land="},
		"bob":       {ScramSHA512: &cred},
		"a,b=c":     {Password: "escaped"},
		"only-plan": {Password: "p"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// run drives a franz-go client mechanism against a server session, as the
// broker does, and returns the server's error.
func run(t *testing.T, a *auth.Authenticator, m sasl.Mechanism) error {
	t.Helper()
	sess, err := a.Start(m.Name())
	if err != nil {
		t.Fatal(err)
	}
	cs, msg, err := m.Authenticate(context.Background(), "broker:9092")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		reply, done, err := sess.Step(msg)
		if err != nil {
			return err
		}
		cdone, next, cerr := cs.Challenge(reply)
		if cerr != nil {
			t.Fatalf("client refused the server's reply %q: %v", reply, cerr)
		}
		if done {
			if !cdone {
				t.Fatal("server done but client not")
			}
			return nil
		}
		msg = next
	}
	t.Fatal("exchange did not finish in 5 steps")
	return nil
}

func TestFranzGoClients(t *testing.T) {
	a := newAuth(t)
	ok := []struct {
		name string
		m    sasl.Mechanism
	}{
		{"plain", plain.Auth{User: "alice", Pass: "wonder,land="}.AsMechanism()},
		{"plain against stored scram credential", plain.Auth{User: "bob", Pass: "only-derived"}.AsMechanism()},
		{"scram-256", scram.Auth{User: "alice", Pass: "wonder,land="}.AsSha256Mechanism()},
		{"scram-512", scram.Auth{User: "alice", Pass: "wonder,land="}.AsSha512Mechanism()},
		{"scram-512 stored credential", scram.Auth{User: "bob", Pass: "only-derived"}.AsSha512Mechanism()},
		{"scram-256 escaped name", scram.Auth{User: "a,b=c", Pass: "escaped"}.AsSha256Mechanism()},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			if err := run(t, a, tc.m); err != nil {
				t.Fatalf("authentication failed: %v", err)
			}
		})
	}
	bad := []struct {
		name string
		m    sasl.Mechanism
	}{
		{"plain wrong password", plain.Auth{User: "alice", Pass: "wonder"}.AsMechanism()},
		{"plain unknown user", plain.Auth{User: "mallory", Pass: "wonder,land="}.AsMechanism()},
		{"plain wrong password vs stored credential", plain.Auth{User: "bob", Pass: "x"}.AsMechanism()},
		{"plain other authzid", plain.Auth{Zid: "bob", User: "alice", Pass: "wonder,land="}.AsMechanism()},
		{"scram-256 wrong password", scram.Auth{User: "alice", Pass: "nope"}.AsSha256Mechanism()},
		{"scram-512 unknown user", scram.Auth{User: "mallory", Pass: "nope"}.AsSha512Mechanism()},
		{"scram-256 user without that credential", scram.Auth{User: "bob", Pass: "only-derived"}.AsSha256Mechanism()},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := run(t, a, tc.m)
			if !errors.Is(err, auth.ErrAuthenticationFailed) {
				t.Fatalf("err = %v, want ErrAuthenticationFailed", err)
			}
		})
	}
}

func TestUnknownAndKnownUserFailAlike(t *testing.T) {
	a := newAuth(t)
	e1 := run(t, a, scram.Auth{User: "alice", Pass: "nope"}.AsSha256Mechanism())
	e2 := run(t, a, scram.Auth{User: "mallory", Pass: "nope"}.AsSha256Mechanism())
	if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
		t.Fatalf("errors differ: %v / %v", e1, e2)
	}
	e1 = run(t, a, plain.Auth{User: "alice", Pass: "nope"}.AsMechanism())
	e2 = run(t, a, plain.Auth{User: "mallory", Pass: "nope"}.AsMechanism())
	if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
		t.Fatalf("errors differ: %v / %v", e1, e2)
	}
}

func TestStartUnsupported(t *testing.T) {
	a, err := auth.New([]string{auth.Plain}, map[string]auth.User{"u": {Password: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Start(auth.ScramSHA256); !errors.Is(err, auth.ErrUnsupportedMechanism) {
		t.Fatalf("Start(SCRAM-SHA-256) err = %v, want ErrUnsupportedMechanism", err)
	}
}

func TestMalformedMessages(t *testing.T) {
	a := newAuth(t)
	cases := []struct{ mech, first, final, want string }{
		{auth.Plain, "alice\x00wonder,land=", "", "malformed PLAIN"},
		{auth.ScramSHA256, "p=tls-unique,,n=alice,r=abc", "", "channel binding is not supported"},
		{auth.ScramSHA256, "n,,m=x,n=alice,r=abc", "", "mandatory extensions"},
		{auth.ScramSHA256, "n,,n=al=2Xce,r=abc", "", "badly escaped"},
		{auth.ScramSHA256, "n,,n=alice,r=", "", "nonce"},
		{auth.ScramSHA256, "n,a=bob,n=alice,r=abc", "", "authorization id"},
		{auth.ScramSHA256, "n,,n=alice,r=abc", "c=biws,r=abc,p=AAAA", "nonce does not match"},
		{auth.ScramSHA256, "n,,n=alice,r=abc", "c=eSws,r=abc,p=AAAA", "channel binding does not match"},
		{auth.ScramSHA256, "n,,n=alice,r=abc", "c=biws,r=abc", "no proof"},
	}
	for _, tc := range cases {
		s, err := a.Start(tc.mech)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.Step([]byte(tc.first))
		if tc.final != "" {
			if err != nil {
				t.Fatalf("first %q: %v", tc.first, err)
			}
			_, _, err = s.Step([]byte(tc.final))
		}
		if !errors.Is(err, auth.ErrAuthenticationFailed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q / %q: err = %v, want one containing %q", tc.mech, tc.first, tc.final, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	err := auth.Validate([]string{"GSSAPI"}, map[string]auth.User{
		"x": {},
		"y": {ScramSHA256: &auth.SCRAMCredential{Salt: "c2FsdA==", Iterations: 10, StoredKey: "AA==", ServerKey: "AA=="}},
	})
	for _, want := range []string{`mechanism "GSSAPI"`, `user "x": give a password`, `user "y" SCRAM-SHA-256: stored-key`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate err = %v, want it to contain %q", err, want)
		}
	}
	if err := auth.Validate(nil, nil); err == nil || !strings.Contains(err.Error(), "no mechanism") || !strings.Contains(err.Error(), "no users") {
		t.Errorf("Validate(nil, nil) = %v", err)
	}
}
