package auth_test

import (
	"errors"
	"testing"

	"github.com/millstream/millstream/broker/auth"
)

func FuzzParseClientFirst(f *testing.F) {
	for _, s := range []string{"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", "y,a=u,n=u,r=x,tokenauth=true", "n,,n=a=2Cb=3D,r=abc", "p=x,,n=u,r=n", "", ",,", "n,,n=,r="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		cf, err := auth.ParseClientFirst(msg)
		if err != nil {
			if !errors.Is(err, auth.ErrAuthenticationFailed) {
				t.Fatalf("err %v does not wrap ErrAuthenticationFailed", err)
			}
			return
		}
		if cf.User == "" || cf.Nonce == "" || cf.GS2Header+cf.Bare != string(msg) {
			t.Fatalf("accepted %q as %+v", msg, cf)
		}
	})
}

func FuzzParseClientFinal(f *testing.F) {
	for _, s := range []string{"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "c=biws,r=a,x=y,p=AAAA", ",p=", "c=,r=,p=AA=="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		cf, err := auth.ParseClientFinal(msg)
		if err != nil {
			if !errors.Is(err, auth.ErrAuthenticationFailed) {
				t.Fatalf("err %v does not wrap ErrAuthenticationFailed", err)
			}
			return
		}
		if cf.Nonce == "" || len(cf.Proof) == 0 {
			t.Fatalf("accepted %q as %+v", msg, cf)
		}
	})
}

// FuzzSession feeds arbitrary tokens to every mechanism: no panic, and no
// success without the password.
func FuzzSession(f *testing.F) {
	a, err := auth.New(auth.Mechanisms, map[string]auth.User{"u": {Password: "secret"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), []byte("\x00u\x00x"), []byte{})
	f.Add(uint8(1), []byte("n,,n=u,r=abc"), []byte("c=biws,r=abc,p=AAAA"))
	f.Fuzz(func(t *testing.T, m uint8, first, final []byte) {
		s, err := a.Start(auth.Mechanisms[int(m)%len(auth.Mechanisms)])
		if err != nil {
			t.Fatal(err)
		}
		if _, done, err := s.Step(first); done || err != nil {
			if done {
				if string(first) != "\x00u\x00secret" && string(first) != "u\x00u\x00secret" {
					t.Fatalf("PLAIN %q accepted", first)
				}
			}
			return
		}
		if _, done, _ := s.Step(final); done {
			t.Fatalf("SCRAM accepted %q / %q without the password", first, final)
		}
	})
}
