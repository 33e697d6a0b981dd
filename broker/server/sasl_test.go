package server_test

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/auth"
	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/server"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// startSASL starts a broker with every mechanism on and two users: alice
// with a password, bob with only a SCRAM-SHA-512 credential.
func startSASL(t *testing.T) *brokertest.Broker {
	t.Helper()
	cred, err := auth.DeriveSCRAM(auth.ScramSHA512, "bob-secret", []byte("salt-of-bob-1234"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	return brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) {
		c.SASLMechanisms = auth.Mechanisms
		c.SASLUsers = map[string]auth.User{
			"alice": {Password: "alice-secret"},
			"bob":   {ScramSHA512: &cred},
		}
	}))
}

func saslClient(t *testing.T, addr string, m sasl.Mechanism, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.SASL(m), kgo.RequestRetries(0), kgo.RetryTimeout(time.Second)}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestSASLClientsProduceAndConsume(t *testing.T) {
	b := startSASL(t)
	for _, tc := range []struct {
		name string
		m    sasl.Mechanism
	}{
		{"PLAIN", plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()},
		{"PLAIN with stored SCRAM credential", plain.Auth{User: "bob", Pass: "bob-secret"}.AsMechanism()},
		{"SCRAM-SHA-256", scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha256Mechanism()},
		{"SCRAM-SHA-512", scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism()},
		{"SCRAM-SHA-512 stored credential", scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha512Mechanism()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := "sasl-" + strings.NewReplacer(" ", "-").Replace(strings.ToLower(tc.name))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cl := saslClient(t, b.Addr(), tc.m, kgo.ConsumeTopics(topic), kgo.AllowAutoTopicCreation())
			want := []byte("payload over " + tc.name)
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: want}).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatalf("fetch: %v", err)
			}
			recs := fs.Records()
			if len(recs) != 1 || string(recs[0].Value) != string(want) {
				t.Fatalf("consumed %d records (first %q), want one %q", len(recs), firstValue(recs), want)
			}
		})
	}
}

func firstValue(recs []*kgo.Record) []byte {
	if len(recs) == 0 {
		return nil
	}
	return recs[0].Value
}

func TestSASLWrongPasswordRefused(t *testing.T) {
	b := startSASL(t)
	for _, m := range []sasl.Mechanism{
		plain.Auth{User: "alice", Pass: "wrong"}.AsMechanism(),
		plain.Auth{User: "nobody", Pass: "alice-secret"}.AsMechanism(),
		scram.Auth{User: "alice", Pass: "wrong"}.AsSha256Mechanism(),
		scram.Auth{User: "alice", Pass: "wrong"}.AsSha512Mechanism(),
		scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha256Mechanism(), // bob has no SHA-256 credential
	} {
		t.Run(m.Name(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cl := saslClient(t, b.Addr(), m)
			err := cl.Ping(ctx)
			if !errors.Is(err, kerr.SaslAuthenticationFailed) {
				t.Fatalf("Ping err = %v, want SASL_AUTHENTICATION_FAILED", err)
			}
			if !strings.Contains(err.Error(), "invalid") {
				t.Fatalf("Ping err = %v, want the broker's message (invalid ...)", err)
			}
		})
	}
}

// TestSASLWrongPasswordAnswerThenClose checks the bytes: the failed
// SaslAuthenticate is answered with the error and a message, then the
// connection is closed.
func TestSASLWrongPasswordAnswerThenClose(t *testing.T) {
	b := startSASL(t)
	c := dialRaw(t, b.Addr())
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, auth.Plain
	c.send(hs, 1)
	hsResp := kmsg.NewPtrSASLHandshakeResponse()
	hsResp.Version = 1
	c.read(1, hsResp)
	if hsResp.ErrorCode != 0 || !slices.Equal(hsResp.SupportedMechanisms, auth.Mechanisms) {
		t.Fatalf("handshake: error %d, mechanisms %v", hsResp.ErrorCode, hsResp.SupportedMechanisms)
	}
	a := kmsg.NewPtrSASLAuthenticateRequest()
	a.Version, a.SASLAuthBytes = 2, []byte("\x00alice\x00wrong")
	c.send(a, 2)
	aResp := kmsg.NewPtrSASLAuthenticateResponse()
	aResp.Version = 2
	c.read(2, aResp)
	if aResp.ErrorCode != kerr.SaslAuthenticationFailed.Code || aResp.ErrorMessage == nil || !strings.Contains(*aResp.ErrorMessage, "invalid username or password") {
		t.Fatalf("authenticate: error %d, message %v", aResp.ErrorCode, aResp.ErrorMessage)
	}
	c.expectClosed()
}

func TestSASLUnauthenticatedRequestClosesConnection(t *testing.T) {
	b := startSASL(t)

	// ApiVersions is allowed before the login and lists the SASL APIs.
	c := dialRaw(t, b.Addr())
	c.send(kmsg.NewPtrApiVersionsRequest(), 1)
	av := kmsg.NewPtrApiVersionsResponse()
	c.read(1, av)
	var keys []int16
	for _, k := range av.ApiKeys {
		keys = append(keys, k.ApiKey)
	}
	if !slices.Contains(keys, 17) || !slices.Contains(keys, 36) {
		t.Fatalf("ApiVersions keys %v lack SaslHandshake (17) or SaslAuthenticate (36)", keys)
	}
	// Anything else closes the connection.
	c.send(kmsg.NewPtrMetadataRequest(), 2)
	c.expectClosed()

	// A SaslAuthenticate without a handshake is refused and closed.
	c = dialRaw(t, b.Addr())
	a := kmsg.NewPtrSASLAuthenticateRequest()
	a.SASLAuthBytes = []byte("\x00alice\x00alice-secret")
	c.send(a, 1)
	aResp := kmsg.NewPtrSASLAuthenticateResponse()
	c.read(1, aResp)
	if aResp.ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("authenticate before handshake: error %d, want ILLEGAL_SASL_STATE", aResp.ErrorCode)
	}
	c.expectClosed()

	// A client without SASL settings gets no data.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err == nil {
		t.Fatal("metadata without a login succeeded")
	}
}

// TestSASLLargeFrameBeforeLoginClosesConnection: before the login a frame
// may be at most 512 KiB, whatever max-request-size allows; after it, the
// usual limit applies.
func TestSASLLargeFrameBeforeLoginClosesConnection(t *testing.T) {
	b := startSASL(t)
	c := dialRaw(t, b.Addr())
	c.write(binary.BigEndian.AppendUint32(nil, 512<<10+1))
	c.expectClosed()

	c = dialRaw(t, b.Addr())
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, auth.Plain
	c.send(hs, 1)
	c.read(1, &kmsg.SASLHandshakeResponse{Version: 1})
	a := kmsg.NewPtrSASLAuthenticateRequest()
	a.SASLAuthBytes = []byte("\x00alice\x00alice-secret")
	c.send(a, 2)
	aResp := kmsg.NewPtrSASLAuthenticateResponse()
	c.read(2, aResp)
	if aResp.ErrorCode != 0 {
		t.Fatalf("login: error %d", aResp.ErrorCode)
	}
	// A 600 KiB produce is read (and answered) after the login.
	p := produceReq("big-after-login", 0, 1, make([]byte, 600<<10))
	c.send(p, 3)
	if _, err := c.readFrame(); err != nil {
		t.Fatalf("600 KiB request after the login: %v", err)
	}
}

func TestSASLUnsupportedMechanism(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) {
		c.SASLMechanisms = []string{auth.ScramSHA256}
		c.SASLUsers = map[string]auth.User{"u": {Password: "p"}}
	}))
	c := dialRaw(t, b.Addr())
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, auth.Plain
	c.send(hs, 1)
	resp := kmsg.NewPtrSASLHandshakeResponse()
	resp.Version = 1
	c.read(1, resp)
	if resp.ErrorCode != kerr.UnsupportedSaslMechanism.Code || !slices.Equal(resp.SupportedMechanisms, []string{auth.ScramSHA256}) {
		t.Fatalf("handshake for PLAIN: error %d, mechanisms %v; want UNSUPPORTED_SASL_MECHANISM, [SCRAM-SHA-256]", resp.ErrorCode, resp.SupportedMechanisms)
	}
	c.expectClosed()
}

// TestSASLHandshakeV0RawTokens logs in the way old clients do: SaslHandshake
// v0, then the PLAIN token framed by its size alone, answered by an empty
// frame; then ordinary requests work.
func TestSASLHandshakeV0RawTokens(t *testing.T) {
	b := startSASL(t)
	login := func(pass string) *rawConn {
		c := dialRaw(t, b.Addr())
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version, hs.Mechanism = 0, auth.Plain
		c.send(hs, 1)
		resp := kmsg.NewPtrSASLHandshakeResponse()
		c.read(1, resp)
		if resp.ErrorCode != 0 {
			t.Fatalf("handshake v0: error %d", resp.ErrorCode)
		}
		tok := []byte("\x00alice\x00" + pass)
		c.write(binary.BigEndian.AppendUint32(nil, uint32(len(tok))))
		c.write(tok)
		return c
	}
	c := login("alice-secret")
	reply, err := c.readFrame()
	if err != nil || len(reply) != 0 {
		t.Fatalf("raw PLAIN reply = %q, %v; want an empty frame", reply, err)
	}
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 4
	c.send(md, 2)
	mdResp := kmsg.NewPtrMetadataResponse()
	mdResp.Version = 4
	c.read(2, mdResp)
	if len(mdResp.Brokers) != 1 {
		t.Fatalf("metadata after raw login: %d brokers", len(mdResp.Brokers))
	}
	// A second handshake after the login is an illegal state.
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, auth.Plain
	c.send(hs, 3)
	hsResp := kmsg.NewPtrSASLHandshakeResponse()
	hsResp.Version = 1
	c.read(3, hsResp)
	if hsResp.ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("second handshake: error %d, want ILLEGAL_SASL_STATE", hsResp.ErrorCode)
	}

	// A wrong password over v0 closes the connection without an answer.
	login("wrong").expectClosed()
}

// TestSASLOffByDefault: without SASL the broker does not list or accept
// the SASL APIs.
func TestSASLOffByDefault(t *testing.T) {
	if len(server.DefaultConfig().SASLMechanisms) != 0 {
		t.Fatal("SASL is on by default")
	}
	b := brokertest.Start(t)
	c := dialRaw(t, b.Addr())
	c.send(kmsg.NewPtrApiVersionsRequest(), 1)
	av := kmsg.NewPtrApiVersionsResponse()
	c.read(1, av)
	for _, k := range av.ApiKeys {
		if k.ApiKey == 17 || k.ApiKey == 36 {
			t.Fatalf("SASL off, yet ApiVersions lists key %d", k.ApiKey)
		}
	}
}

func TestSASLConfigValidate(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.SASLMechanisms = []string{"PLAIN", "GSSAPI"}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), `mechanism "GSSAPI"`) || !strings.Contains(err.Error(), "no users") {
		t.Fatalf("Validate() = %v, want errors naming GSSAPI and the missing users", err)
	}
}
