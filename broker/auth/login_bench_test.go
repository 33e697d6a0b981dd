package auth

import (
	"encoding/base64"
	"strings"
	"testing"
)

// BenchmarkSCRAMLogin measures the server's side of one SCRAM login: both
// steps, with the client's salted password computed once (as clients
// cache it), so the figure is what a login costs the broker.
func BenchmarkSCRAMLogin(b *testing.B) {
	for _, mech := range []string{ScramSHA256, ScramSHA512} {
		b.Run(mech, func(b *testing.B) {
			a, err := New([]string{mech}, map[string]User{"u": {Password: "pw"}})
			if err != nil {
				b.Fatal(err)
			}
			k := a.users["u"].scram[mech]
			h := scramHash(mech)
			salted := deriveSalted(h, "pw", k.salt, k.iterations)
			clientKey := hmacSum(h, salted, []byte("Client Key"))
			proof := make([]byte, len(clientKey))
			b.ReportAllocs()
			for b.Loop() {
				sess, _ := a.Start(mech)
				first, _, err := sess.Step([]byte("n,,n=u,r=cnonce"))
				if err != nil {
					b.Fatal(err)
				}
				nonce := strings.TrimPrefix(strings.SplitN(string(first), ",", 2)[0], "r=")
				wo := "c=biws,r=" + nonce
				sig := hmacSum(h, k.stored, []byte("n=u,r=cnonce,"+string(first)+","+wo))
				for i := range proof {
					proof[i] = clientKey[i] ^ sig[i]
				}
				if _, done, err := sess.Step([]byte(wo + ",p=" + base64.StdEncoding.EncodeToString(proof))); err != nil || !done {
					b.Fatalf("login: done %v, err %v", done, err)
				}
			}
		})
	}
}

// BenchmarkPlainLogin: a PLAIN login against a password, and against a
// stored SCRAM credential (one PBKDF2 of 4096 iterations per login).
func BenchmarkPlainLogin(b *testing.B) {
	cred, err := DeriveSCRAM(ScramSHA256, "pw", []byte("0123456789abcdef"), DefaultIterations)
	if err != nil {
		b.Fatal(err)
	}
	a, err := New([]string{Plain}, map[string]User{"pass": {Password: "pw"}, "cred": {ScramSHA256: &cred}})
	if err != nil {
		b.Fatal(err)
	}
	for _, user := range []string{"pass", "cred"} {
		b.Run(user, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sess, _ := a.Start(Plain)
				if _, done, err := sess.Step([]byte("\x00" + user + "\x00pw")); err != nil || !done {
					b.Fatalf("login: done %v, err %v", done, err)
				}
			}
		})
	}
}
