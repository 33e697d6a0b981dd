package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/millstream/millstream/broker/brokertest"
)

// TestUppercaseOnKafkaWithKcat runs the sample unchanged against a real
// broker, produces a plain record with kcat (librdkafka, no CloudEvent
// headers) and reads the result with kcat: upper-cased, as a CloudEvent in
// binary mode.
func TestUppercaseOnKafkaWithKcat(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker and runs kcat")
	}
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (make tools installs it)")
	}
	b := brokertest.Start(t)
	t.Setenv("MILLSTREAM_BINDERS_KAFKA_BROKERS", b.Addr())

	app := fx.New(application(), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := app.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})

	produce := exec.CommandContext(ctx, kcat, "-P", "-b", b.Addr(), "-t", "words")
	produce.Stdin = strings.NewReader("hello from kcat\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}

	// -c 1 waits for one record; the context bounds the wait.
	consume := exec.CommandContext(ctx, kcat, "-C", "-b", b.Addr(), "-t", "upper-words",
		"-o", "beginning", "-c", "1", "-f", "%h\n%s\n")
	out, err := consume.Output()
	if err != nil {
		t.Fatalf("kcat -C upper-words: %v (nothing arrived?)", err)
	}
	headerLine, value, _ := strings.Cut(strings.TrimSuffix(string(out), "\n"), "\n")
	if value != "HELLO FROM KCAT" {
		t.Errorf("value = %q, want %q", value, "HELLO FROM KCAT")
	}
	headers := map[string]string{}
	for _, kv := range strings.Split(headerLine, ",") {
		k, v, _ := strings.Cut(kv, "=")
		headers[k] = v
	}
	for _, k := range []string{"ce_specversion", "ce_id", "ce_source", "ce_type"} {
		if headers[k] == "" {
			t.Errorf("header %s missing or empty; headers: %s", k, headerLine)
		}
	}
	if headers["ce_specversion"] != "1.0" {
		t.Errorf("ce_specversion = %q, want 1.0", headers["ce_specversion"])
	}
	if headers["content-type"] != "text/plain" {
		t.Errorf("content-type = %q, want text/plain", headers["content-type"])
	}
}
