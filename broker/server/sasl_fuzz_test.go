package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/millstream/millstream/broker/auth"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzSASLLogin feeds a sequence of frames to a connection that has not
// logged in: no panic, and no login without the password.
func FuzzSASLLogin(f *testing.F) {
	cfg := DefaultConfig()
	cfg.SASLMechanisms = auth.Mechanisms
	cfg.SASLUsers = map[string]auth.User{"alice": {Password: "alice-secret"}}
	s, err := New(cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	reqFrame := func(req kmsg.Request) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
		b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = append(b, 'f')
		if req.IsFlexible() {
			b = append(b, 0)
		}
		return req.AppendTo(b)
	}
	// Input: frames separated by the 4 bytes "\xff|\xff|".
	sep := []byte("\xff|\xff|")
	for v := int16(0); v <= 1; v++ {
		for _, mech := range append(auth.Mechanisms, "GSSAPI") {
			hs := &kmsg.SASLHandshakeRequest{Version: v, Mechanism: mech}
			var tok []byte
			if mech == auth.Plain {
				tok = []byte("\x00alice\x00alice-secret")
			} else {
				tok = []byte("n,,n=alice,r=abcdef")
			}
			second := tok
			if v == 1 {
				for av := int16(0); av <= 2; av++ {
					second = reqFrame(&kmsg.SASLAuthenticateRequest{Version: av, SASLAuthBytes: tok})
					f.Add(bytes.Join([][]byte{reqFrame(hs), second, reqFrame(kmsg.NewPtrMetadataRequest())}, sep))
				}
				continue
			}
			f.Add(bytes.Join([][]byte{reqFrame(hs), second, reqFrame(kmsg.NewPtrMetadataRequest())}, sep))
		}
	}
	f.Add(reqFrame(kmsg.NewPtrApiVersionsRequest()))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := &conn{s: s, nc: a, ctx: ctx, cancel: cancel, log: slog.New(slog.DiscardHandler), sasl: &connSASL{}}
		for _, frame := range bytes.Split(in, sep) {
			if c.sasl.authenticated() {
				break
			}
			_, err := c.serveUnauthenticated(frame)
			if err != nil && strings.HasPrefix(err.Error(), "internal error") {
				t.Fatalf("panic: %v", err)
			}
			if err != nil {
				return
			}
		}
		if c.sasl.authenticated() && !bytes.Contains(in, []byte("alice\x00alice-secret")) {
			t.Fatalf("logged in as %q without the password: %q", c.sasl.user, in)
		}
	})
}
