package cli_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/cli"
)

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestNewClientUnreachableNamesTheAddress(t *testing.T) {
	addr := closedAddr(t)
	start := time.Now()
	_, err := cli.ConnOptions{Bootstrap: []string{addr}, Timeout: 2 * time.Second}.NewClient(context.Background())
	if !errors.Is(err, cli.ErrUnreachable) {
		t.Fatalf("NewClient(%s) = %v, want an error wrapping ErrUnreachable", addr, err)
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("NewClient(%s) error %q does not name the address and the refusal", addr, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("NewClient took %s with a 2s timeout", d)
	}
}

// A server that accepts connections but never answers must not hang the
// command: the timeout bounds it.
func TestNewClientSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				<-done
				c.Close()
			}()
		}
	}()
	start := time.Now()
	_, err = cli.ConnOptions{Bootstrap: []string{ln.Addr().String()}, Timeout: 500 * time.Millisecond}.NewClient(context.Background())
	if !errors.Is(err, cli.ErrUnreachable) {
		t.Fatalf("NewClient = %v, want an error wrapping ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q does not name the address", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("NewClient took %s with a 500ms timeout", d)
	}
}

func TestParseBootstrap(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "127.0.0.1:9092", want: "127.0.0.1:9092"},
		{in: "a:1, b:2,", want: "a:1,b:2"},
		{in: "localhost", wantErr: true},
		{in: " , ", wantErr: true},
	} {
		got, err := cli.ParseBootstrap(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseBootstrap(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && strings.Join(got, ",") != tc.want {
			t.Errorf("ParseBootstrap(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
