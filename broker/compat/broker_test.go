package compat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// brokerEnv names an executable to test instead of the millstream binary; it
// must accept `broker --data-dir DIR --kafka-addr HOST:PORT`.
const brokerEnv = "MILLSTREAM_COMPAT_BROKER"

// logDirEnv names a directory to copy every broker's log into, as
// <test name>.log, for reading after the run.
const logDirEnv = "MILLSTREAM_COMPAT_LOGDIR"

// keepLog copies a broker log into dir.
func keepLog(t testing.TB, path, dir string) {
	data, err := os.ReadFile(path)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
		err = os.WriteFile(filepath.Join(dir, name+".log"), data, 0o644)
	}
	if err != nil {
		t.Logf("keep broker log: %v", err)
	}
}

// Time limits for the broker process.
const (
	brokerStartTimeout = 30 * time.Second
	brokerStopTimeout  = 15 * time.Second
	// brokerLifetime bounds every broker process a test starts, in case the
	// test forgets it; cleanup kills it much earlier.
	brokerLifetime = 10 * time.Minute
)

// binaryBuild builds the broker binary once per test run.
type binaryBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

var millstreamBuild binaryBuild

func TestMain(m *testing.M) {
	code := m.Run()
	if millstreamBuild.dir != "" {
		os.RemoveAll(millstreamBuild.dir)
	}
	os.Exit(code)
}

// brokerBinary returns the executable under test, building
// broker/cmd/millstream on first use.
func brokerBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(brokerEnv); p != "" {
		return p
	}
	b := &millstreamBuild
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "millstream-compat-")
		if b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "millstream")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.path, "github.com/millstream/millstream/broker/cmd/millstream")
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build broker/cmd/millstream: %w\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// broker is one broker process with a fixed data directory and address that
// survive restarts.
type broker struct {
	t       testing.TB
	bin     string
	dataDir string
	addr    string
	logPath string

	args   []string // extra command-line arguments
	cmd    *exec.Cmd
	cancel context.CancelFunc
	exited chan struct{} // closed when cmd has been waited for
	starts int
}

// brokerOpt changes how startBroker runs the broker.
type brokerOpt func(*broker)

// withArgs adds command-line arguments after the data directory and address.
func withArgs(args ...string) brokerOpt {
	return func(b *broker) { b.args = append(b.args, args...) }
}

// withAddr makes the broker listen on addr instead of a random port.
func withAddr(addr string) brokerOpt {
	return func(b *broker) { b.addr = addr }
}

// startBroker starts a broker on a random port with its data in a fresh
// temporary directory and stops it when the test ends.
func startBroker(t testing.TB, opts ...brokerOpt) *broker {
	t.Helper()
	dir := t.TempDir()
	b := &broker{
		t:       t,
		bin:     brokerBinary(t),
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "broker.log"),
	}
	for _, o := range opts {
		o(b)
	}
	t.Cleanup(func() {
		if b.running() {
			b.Kill()
		}
		if t.Failed() {
			t.Logf("broker log (last 4 KiB of %s):\n%s", b.logPath, b.logTail(4096))
		}
		if dir := os.Getenv(logDirEnv); dir != "" {
			keepLog(t, b.logPath, dir)
		}
	})
	// A free port can be taken by someone else before the broker binds it;
	// try a few.
	var err error
	fixed := b.addr != ""
	for range 3 {
		if !fixed {
			b.addr = freeAddr(t)
		}
		if err = b.start(); err == nil || fixed {
			break
		}
	}
	if err == nil {
		return b
	}
	t.Fatalf("start broker: %v\nlog:\n%s", err, b.logTail(4096))
	return nil
}

// Addr is the broker's Kafka listener, host:port.
func (b *broker) Addr() string { return b.addr }

// Pid is the broker's current process id.
func (b *broker) Pid() int { return b.cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to go.
func (b *broker) Kill() {
	b.t.Helper()
	if !b.running() {
		b.t.Fatalf("kill broker: not running")
	}
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		b.t.Fatalf("kill broker: %v", err)
	}
	<-b.exited
	b.cancel()
}

// Stop sends SIGTERM and waits for a clean exit.
func (b *broker) Stop() {
	b.t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.t.Fatalf("stop broker: %v", err)
	}
	select {
	case <-b.exited:
	case <-time.After(brokerStopTimeout):
		b.Kill()
		b.t.Fatalf("stop broker: no exit %v after SIGTERM", brokerStopTimeout)
	}
	b.cancel()
	if code := b.cmd.ProcessState.ExitCode(); code != 0 {
		b.t.Errorf("broker exited with status %d after SIGTERM", code)
	}
}

// Restart starts the broker again on the same address and data directory
// after Kill or Stop.
func (b *broker) Restart() {
	b.t.Helper()
	if b.running() {
		b.t.Fatalf("restart broker: still running")
	}
	if err := b.start(); err != nil {
		b.t.Fatalf("restart broker: %v\nlog:\n%s", err, b.logTail(4096))
	}
}

// Alive reports an error if the process has exited, which a broker must not
// do on its own.
func (b *broker) Alive() error {
	select {
	case <-b.exited:
		return fmt.Errorf("broker process exited: %v", b.cmd.ProcessState)
	default:
		return nil
	}
}

func (b *broker) running() bool {
	if b.cmd == nil {
		return false
	}
	select {
	case <-b.exited:
		return false
	default:
		return true
	}
}

func (b *broker) start() error {
	logf, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	b.starts++
	fmt.Fprintf(logf, "=== start %d: %s broker --data-dir %s --kafka-addr %s %s\n", b.starts, b.bin, b.dataDir, b.addr, strings.Join(b.args, " "))
	ctx, cancel := context.WithTimeout(context.Background(), brokerLifetime)
	args := append([]string{"broker", "--data-dir", b.dataDir, "--kafka-addr", b.addr}, b.args...)
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Never outlive the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		cancel()
		logf.Close()
		return fmt.Errorf("exec %s: %w", b.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(exited)
	}()
	b.cmd, b.cancel, b.exited = cmd, cancel, exited
	if err := waitServing(b.addr, exited, brokerStartTimeout); err != nil {
		if b.running() {
			b.Kill()
		}
		return err
	}
	return nil
}

// waitServing polls until addr answers an ApiVersions request, the process
// exits, or the timeout passes.
func waitServing(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = pingApiVersions(addr); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("broker at %s not serving after %v: %w", addr, timeout, last)
		}
		select {
		case <-exited:
			return fmt.Errorf("broker exited before serving on %s (last dial: %v)", addr, last)
		case <-tick.C:
		}
	}
}

func pingApiVersions(addr string) error {
	c, err := dialRaw(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 0
	_, err = c.roundTrip(req, time.Second)
	return err
}

func (b *broker) logTail(n int) string {
	data, err := os.ReadFile(b.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runTool runs an external command with a deadline and returns its stdout;
// the error carries stderr.
func runTool(t testing.TB, timeout time.Duration, stdin []byte, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 2 * time.Second
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s timed out after %v: %w", name, timeout, ctx.Err())
	}
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w\nstderr:\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	if testing.Verbose() && stderr.Len() > 0 {
		t.Logf("%s stderr:\n%s", name, stderr.String())
	}
	return stdout.Bytes(), nil
}

// requireKcat fails the test when kcat is not installed.
func requireKcat(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat not found: install the Debian package kcat (make test installs it): %v", err)
	}
	return p
}

// python is the interpreter that has kafka-python on Debian.
const python = "/usr/bin/python3"

// requireKafkaPython fails the test when /usr/bin/python3 cannot import kafka.
func requireKafkaPython(t testing.TB) {
	t.Helper()
	out, err := runTool(t, 30*time.Second, nil, python, "-c", "import kafka; print(kafka.__version__)")
	if err != nil {
		t.Fatalf("kafka-python not usable: install the Debian package python3-kafka (make test installs it): %v", err)
	}
	if v := strings.TrimSpace(string(out)); v != "2.0.2" {
		t.Logf("kafka-python %s (the suite targets 2.0.2)", v)
	}
}

// eventually polls cond until it returns nil or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done after %v: %v", what, timeout, err)
		}
		<-tick.C
	}
}
