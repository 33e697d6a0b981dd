package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// startNATS runs nats-server -js on a random port with a temporary store.
func startNATS(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nats-server"); err != nil {
			t.Skip("nats-server is not installed")
		}
		bin = "/usr/sbin/nats-server"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-sd", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return "nats://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server does not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBenchCountsEveryAcknowledgedPublish(t *testing.T) {
	url := startNATS(t)
	for _, sync := range []bool{false, true} {
		o := options{server: url, stream: "T", subject: "t", recordSize: 256, numRecords: 2000, sync: sync, maxPending: 100}
		s, err := bench(context.Background(), o, nil)
		if err != nil {
			t.Fatalf("bench(sync=%v): %v", sync, err)
		}
		if s.Records != 2000 || s.Bytes != 2000*256 || s.Errors != 0 || s.Latency == nil || s.Latency.Count != 2000 {
			t.Errorf("bench(sync=%v) = %+v, want 2000 acknowledged records of 256 bytes with latencies", sync, s)
		}
	}
}
