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

// TestSCRAMClientNonceRepeated: librdkafka 2.0 sends r=CNONCE followed by
// the whole server-first nonce (which starts with CNONCE again). Kafka
// accepts it and so must we; a nonce that does not end with ours is
// refused.
func TestSCRAMClientNonceRepeated(t *testing.T) {
	a, err := New([]string{ScramSHA256}, map[string]User{"u": {Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	login := func(final func(nonce string) string) error {
		sess, _ := a.Start(ScramSHA256)
		first, _, err := sess.Step([]byte("n,,n=u,r=cnonce"))
		if err != nil {
			t.Fatal(err)
		}
		s := sess.(*scramSession)
		wo := final(s.nonce)
		authMsg := "n=u,r=cnonce," + string(first) + "," + wo
		k := a.users["u"].scram[ScramSHA256]
		salted := deriveSalted(s.h, "pw", k.salt, k.iterations)
		clientKey := hmacSum(s.h, salted, []byte("Client Key"))
		sig := hmacSum(s.h, k.stored, []byte(authMsg))
		for i := range clientKey {
			clientKey[i] ^= sig[i]
		}
		_, _, err = sess.Step([]byte(wo + ",p=" + base64.StdEncoding.EncodeToString(clientKey)))
		return err
	}
	if err := login(func(n string) string { return "c=biws,r=cnonce" + n }); err != nil {
		t.Fatalf("librdkafka-style nonce refused: %v", err)
	}
	if err := login(func(n string) string { return "c=biws,r=" + n + "x" }); err == nil {
		t.Fatal("a nonce not ending with the server's was accepted")
	}
}
