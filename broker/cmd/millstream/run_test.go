package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// syncBuffer is a bytes.Buffer safe for the broker's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBrokerCommandServesAndStops runs `millstream broker` in process,
// talks to it, then cancels its context as SIGINT would, and checks the
// shutdown was clean.
func TestBrokerCommandServesAndStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCmd()
	var logs syncBuffer
	root.SetErr(&logs)
	root.SetArgs([]string{"broker", "--data-dir", dir, "--kafka-addr", "127.0.0.1:0", "--default-partitions", "2"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	addrRE := regexp.MustCompile(`msg="broker started" kafka_addr=(\S+)`)
	var addr string
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" {
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("broker exited early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker did not start:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	md, err := kadm.NewClient(cl).Metadata(ctx, "from-cmd")
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(md.Topics["from-cmd"].Partitions); n != 2 {
		t.Errorf("auto-created topic has %d partitions, want the flag's 2", n)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("broker command returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("broker did not stop after its context was cancelled")
	}
	if !strings.Contains(logs.String(), "broker stopped cleanly") {
		t.Errorf("no clean-stop log line:\n%s", logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "from-cmd-1")); err != nil {
		t.Errorf("partition directory missing: %v", err)
	}
}
