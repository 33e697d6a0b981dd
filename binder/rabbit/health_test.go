package rabbit_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/sdk/actuator"
	"github.com/millstream/millstream/sdk/stream"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata")

// cutProxy forwards TCP connections to target until cut: then it closes
// its listener and every connection, as a network failure would, so that a
// client can neither keep nor re-establish its connection; restore listens
// on the same address again.
type cutProxy struct {
	t      *testing.T
	target string
	addr   string

	// mu guards ln and conns.
	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	p := &cutProxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() { // ends when the listener is closed
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) restore() { p.listen(p.addr) }

// TestHealthDetailsConnectionState: the binder reports the state of both
// connections, with the password out of the URL: not connected before the
// first use, connected, reconnecting while the broker cannot be reached
// (the actuator then answers 503 with the details; kept in
// testdata/health-reconnecting.json, which the RabbitMQ binder's page
// quotes), connected again, and closed.
func TestHealthDetailsConnectionState(t *testing.T) {
	if raceDetector {
		t.Skip("watermill-amqp v3 has a data race on reconnect (ThreeDotsLabs/watermill#693); run without -race")
	}
	u, err := url.Parse(broker(t).URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.User = url.UserPassword("guest", "guest")
	u.Host = proxy.addr
	b, err := rabbit.Open(rabbit.Config{URL: u.String(), CloseTimeout: 2 * time.Second, ReconnectWait: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	app := stream.New(stream.Config{Application: "health"}, stream.WithBinder("rabbit", b))
	srv := httptest.NewServer(actuator.New(app, actuator.Options{}))
	t.Cleanup(srv.Close)

	redacted := "amqp://guest:xxxxx@" + proxy.addr + "/"
	states := func() (pub, sub string) {
		t.Helper()
		d := b.HealthDetails(t.Context())
		if d["url"] != redacted {
			t.Errorf("HealthDetails url = %v, want %s", d["url"], redacted)
		}
		c := d["connections"].(map[string]string)
		return c["publish"], c["consume"]
	}
	await := func(want string) {
		t.Helper()
		var pub, sub string
		for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if pub, sub = states(); pub == want && sub == want {
				return
			}
		}
		t.Fatalf("connections: publish %s, consume %s; want both %s", pub, sub, want)
	}

	await(rabbit.StateNotConnected)
	if err := b.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	await(rabbit.StateConnected)

	proxy.cut()
	await(rabbit.StateReconnecting)
	resp, err := http.Get(srv.URL + "/actuator/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || bytes.Contains(body, []byte("guest:guest")) {
		t.Errorf("GET /actuator/health while reconnecting = %d %s, want 503 without the password", resp.StatusCode, body)
	}
	golden(t, "testdata/health-reconnecting.json", body, strings.NewReplacer(proxy.addr, "localhost:5672"))

	proxy.restore()
	await(rabbit.StateConnected)
	if err := b.Health(t.Context()); err != nil {
		t.Errorf("Health after the connections came back = %v, want nil", err)
	}
	b.Close()
	await(rabbit.StateClosed)
}

// golden compares the indented JSON body, with the replacements made, to
// the file at path (rewritten with -rewrite).
func golden(t *testing.T, path string, body []byte, r *strings.Replacer) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	got := r.Replace(pretty.String()) + "\n"
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -rewrite)", err)
	}
	if got != string(want) {
		t.Errorf("response differs from %s (run go test ./binder/rabbit -run %s -rewrite and review):\n%s", path, t.Name(), got)
	}
}
