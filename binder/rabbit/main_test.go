package rabbit_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/binder/rabbit/rabbittest"
)

// server is the package's private rabbitmq-server, started by TestMain.
var server *rabbittest.Server

func TestMain(m *testing.M) {
	var err error
	server, err = rabbittest.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "binder/rabbit tests need rabbitmq-server: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

// newBinder connects a binder to the test server; it is closed when the
// test ends (closing twice is fine).
func newBinder(t testing.TB) *rabbit.Binder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := rabbit.New(ctx, rabbit.Config{URL: server.URL, CloseTimeout: 2 * time.Second, ReconnectWait: 15 * time.Second})
	if err != nil {
		t.Fatalf("rabbit.New(%s): %v", server.URL, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
