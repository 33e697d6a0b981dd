// Package compose_test brings the dev stack of compose.yaml up with the
// Docker engine, as `make compose-up` does, and checks what a developer
// relies on: the broker answers on the published port, records survive a
// restart on the named volume, and the samples run and answer on their
// published ports (samples_test.go).
package compose_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// stack runs compose/stack with the test's project name and port, and
// fails the test with the command's output if it fails.
type stack struct {
	t   *testing.T
	env []string
}

func (s *stack) run(ctx context.Context, args ...string) {
	s.t.Helper()
	start := time.Now()
	defer func() {
		s.t.Logf("compose/stack %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	}()
	cmd := exec.CommandContext(ctx, "./stack", args...)
	cmd.Env = s.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("compose/stack %s: %v\n%s", strings.Join(args, " "), err, out.Bytes())
	}
}

// freePorts returns n distinct free ports: all are held open until the
// last is chosen, so none is handed out twice.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func TestStack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images and runs the compose stack")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Fatalf("the Docker engine is not reachable (docker info: %v: %s); this test needs it (go test -short skips it)", err, bytes.TrimSpace(out))
	}
	// The images' binaries are compiled first, with a bound of their own:
	// on a fresh checkout, while other packages' tests compile and run,
	// that alone took most of the two minutes that once bound the stack's run.
	buildCtx, cancelBuild := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancelBuild()
	build := exec.CommandContext(buildCtx, "../scripts/build-images")
	start := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build-images: %v\n%s", err, out)
	}
	t.Logf("scripts/build-images: %v", time.Since(start).Round(time.Millisecond))
	// Two stack starts (each waits up to STACK_WAIT_SECONDS) and the reads.
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()

	ports := freePorts(t, 4)
	port, ordersPort, logsPort, logs2Port := ports[0], ports[1], ports[2], ports[3]
	logsDir := t.TempDir() // removed after the stack is down: cleanups run last first
	project := "millstream-test-" + strings.ToLower(rand.Text()[:8])
	s := &stack{t: t, env: append(os.Environ(),
		"COMPOSE_PROJECT_NAME="+project,
		"MILLSTREAM_KAFKA_PORT="+strconv.Itoa(port),
		"MILLSTREAM_ORDERS_PORT="+strconv.Itoa(ordersPort),
		"MILLSTREAM_LOGS_PORT="+strconv.Itoa(logsPort),
		"MILLSTREAM_LOGS_2_PORT="+strconv.Itoa(logs2Port),
		"MILLSTREAM_LOGS_DIR="+logsDir,
		"COMPOSE_PROFILES=", // never the rabbit profile: its image cannot be pulled here
		"STACK_WAIT_SECONDS=60",
	)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		s.run(ctx, "down", "-v")
	})
	s.run(ctx, "up")

	brokers := []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// Random words, so a stale volume or another run cannot pass the test.
	words := make([]string, 5)
	for i := range words {
		words[i] = "word " + rand.Text()[:12]
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "words", Value: []byte(words[i])}).FirstErr(); err != nil {
			t.Fatalf("produce to words through 127.0.0.1:%d: %v", port, err)
		}
	}
	if got := readValues(t, ctx, brokers, "words", len(words)); !slices.Equal(got, words) {
		t.Fatalf("words read back %q, want %q", got, words)
	}

	uppercase := exists("../samples/uppercase")
	if uppercase {
		want := make([]string, len(words))
		for i, w := range words {
			want[i] = strings.ToUpper(w)
		}
		if got := readValues(t, ctx, brokers, "upper-words", len(words)); !slices.Equal(got, want) {
			t.Fatalf("upper-words = %q, want %q (the uppercase sample's output)", got, want)
		}
	}

	if exists("../samples/orders") {
		checkOrders(t, ctx, brokers, fmt.Sprintf("http://127.0.0.1:%d/orders", ordersPort))
	}
	if exists("../samples/logs") {
		checkLogs(t, ctx, logsDir, []string{
			fmt.Sprintf("http://127.0.0.1:%d/counts", logsPort),
			fmt.Sprintf("http://127.0.0.1:%d/counts", logs2Port),
		})
	}

	// Stop and start the stack: the broker's data is on the named volume.
	s.run(ctx, "stop")
	s.run(ctx, "up")
	if got := readValues(t, ctx, brokers, "words", len(words)); !slices.Equal(got, words) {
		t.Fatalf("after a restart words holds %q, want %q", got, words)
	}
	if uppercase {
		// The sample's group resumes after its committed offset: a new
		// word is processed once, and the old ones are not repeated.
		next := "word " + rand.Text()[:12]
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "words", Value: []byte(next)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		got := readValues(t, ctx, brokers, "upper-words", len(words)+1)
		if got[len(got)-1] != strings.ToUpper(next) {
			t.Fatalf("after a restart upper-words = %q, want %q last", got, strings.ToUpper(next))
		}
	}
}

// exists says whether a sample's directory is there: compose/stack starts
// only the samples that exist.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readValues reads exactly n values of a one-partition topic from its start,
// in offset order, then checks that nothing more arrives for a moment.
func readValues(t *testing.T, ctx context.Context, brokers []string, topic string, n int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []string
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatalf("read %s: %d of %d values before: %v (got %q)", topic, len(got), n, err, got)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	extra, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	fs := cl.PollFetches(extra)
	fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	if len(got) != n {
		t.Fatalf("%s holds %d values, want %d: %q", topic, len(got), n, got)
	}
	return got
}
