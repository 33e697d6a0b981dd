package auth

import (
	"encoding/base64"
	"testing"
)

// TestSCRAMSHA256RFC7677 replays the example exchange of RFC 7677 section
// 3 (user "user", password "pencil"): the proof it gives must be accepted
// and our server signature must equal the RFC's.
func TestSCRAMSHA256RFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	cred, err := DeriveSCRAM(ScramSHA256, "pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New([]string{ScramSHA256}, map[string]User{"user": {ScramSHA256: &cred}})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := a.Start(ScramSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, done, err := sess.Step([]byte("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")); err != nil || done {
		t.Fatalf("client-first: done %v, err %v", done, err)
	}
	// Our server nonce is random; put in the RFC's so the proof matches.
	s := sess.(*scramSession)
	s.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	s.serverFirst = "r=" + s.nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	reply, done, err := sess.Step([]byte("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	if err != nil || !done {
		t.Fatalf("client-final: done %v, err %v", done, err)
	}
	if want := "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="; string(reply) != want {
		t.Fatalf("server-final = %q, want %q", reply, want)
	}
	if sess.User() != "user" {
		t.Fatalf("User() = %q, want user", sess.User())
	}
}
