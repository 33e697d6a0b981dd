package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/server"
)

func TestHealthz(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithConfig(func(c *server.Config) { c.HTTPAddr = "127.0.0.1:0" }))
	addr := b.Server().HTTPAddr()
	if addr == "" {
		t.Fatal("HTTPAddr() is empty with http-addr set")
	}
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("GET /healthz = %d %q, want 200 ok", resp.StatusCode, body)
	}
}

func TestHTTPAddrInUseFailsStart(t *testing.T) {
	b := brokertest.Start(t)
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.KafkaAddr, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0", b.Addr()
	s, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		s.Close()
		t.Fatal("Start with a busy http-addr succeeded")
	} else if !strings.Contains(err.Error(), "http-addr") {
		t.Errorf("error %q does not name http-addr", err)
	}
}
