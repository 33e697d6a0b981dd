package rabbit_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/binder/rabbit/rabbittest"
)

// The package's one private rabbitmq-server, started by the first test that
// needs it and stopped by TestMain. Lazily, so that fuzz workers and tests
// that need no broker start none.
var (
	serverOnce sync.Once
	server     *rabbittest.Server
	serverErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if server != nil {
		server.Stop()
	}
	os.Exit(code)
}

// broker returns the test server, starting it if needed.
func broker(t testing.TB) *rabbittest.Server {
	t.Helper()
	serverOnce.Do(func() { server, serverErr = rabbittest.Start() })
	if serverErr != nil {
		t.Fatalf("binder/rabbit tests need rabbitmq-server: %v", serverErr)
	}
	return server
}

// newBinder connects a binder to the test server; it is closed when the
// test ends (closing twice is fine).
func newBinder(t testing.TB) *rabbit.Binder {
	t.Helper()
	url := broker(t).URL
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := rabbit.New(ctx, rabbit.Config{URL: url, CloseTimeout: 2 * time.Second, ReconnectWait: 15 * time.Second})
	if err != nil {
		t.Fatalf("rabbit.New(%s): %v", url, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
