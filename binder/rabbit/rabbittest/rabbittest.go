// Package rabbittest starts and stops a private rabbitmq-server for tests.
//
// The node is the Debian (or any) rabbitmq-server installation, run
// directly from its library scripts as the current user, with everything
// private to the test process:
//
//	setting                  value
//	-----------------------  ---------------------------------------------
//	node name                msNNNNNN@localhost (random)
//	AMQP listener            127.0.0.1:<random free port>
//	distribution port        <random free port>
//	epmd                     its own, on a random port (ERL_EPMD_PORT), a
//	                         child of the test process, killed on Stop
//	HOME, Erlang cookie      <temp dir>/home
//	data, logs, config       <temp dir>/mnesia, /log, /rabbitmq.conf
//	plugins                  none (no management plugin)
//
// Start one server per test package, from TestMain:
//
//	func TestMain(m *testing.M) {
//		srv, err := rabbittest.Start()
//		if err != nil { ... }
//		code := m.Run()
//		srv.Stop()
//		os.Exit(code)
//	}
package rabbittest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Locations of the server scripts. The Debian /usr/sbin wrappers switch to
// the rabbitmq user when run as root; the library scripts do not.
var scriptDirs = []string{"/usr/lib/rabbitmq/bin", "/usr/local/lib/rabbitmq/bin", "/opt/homebrew/sbin", "/usr/local/sbin", "/usr/sbin"}

// ErrNotInstalled is returned by [Start] when no rabbitmq-server is found.
var ErrNotInstalled = errors.New("rabbittest: rabbitmq-server is not installed (apt-get install rabbitmq-server, or make tools)")

// StartTimeout bounds the wait for the node to accept AMQP connections.
const StartTimeout = 60 * time.Second

// Server is a running private RabbitMQ node.
type Server struct {
	// URL is the AMQP URL of the node (guest:guest on 127.0.0.1).
	URL string
	// Node is the Erlang node name, for rabbitmqctl -n.
	Node string
	// Dir holds the node's data, logs and HOME; it is removed by Stop.
	Dir string

	bin      string
	epmdPort int
	epmd     *exec.Cmd
	epmdDone chan struct{}
	cmd      *exec.Cmd
	exited   chan struct{}
	stopOnce sync.Once
}

// Start starts a node and waits until it accepts AMQP connections.
func Start() (*Server, error) {
	bin := ""
	for _, d := range scriptDirs {
		if _, err := os.Stat(filepath.Join(d, "rabbitmqctl")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "rabbitmq-server")); err == nil {
				bin = d
				break
			}
		}
	}
	if bin == "" {
		return nil, ErrNotInstalled
	}
	dir, err := os.MkdirTemp("", "rabbittest-")
	if err != nil {
		return nil, fmt.Errorf("rabbittest: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{
		Node:     fmt.Sprintf("ms%06d@localhost", rand.IntN(1_000_000)),
		Dir:      dir,
		URL:      fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", ports[0]),
		bin:      bin,
		epmdPort: ports[2],
		exited:   make(chan struct{}),
	}
	for _, sub := range []string{"home", "mnesia", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("rabbittest: %w", err)
		}
	}
	files := map[string]string{
		"enabled_plugins":   "[].\n",
		"rabbitmq.conf":     "loopback_users = none\nlog.console = false\n",
		"rabbitmq-env.conf": "",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("rabbittest: %w", err)
		}
	}
	if err := s.startEPMD(); err != nil {
		s.Stop()
		return nil, err
	}
	cmd := exec.Command(filepath.Join(bin, "rabbitmq-server"))
	cmd.Dir = dir
	cmd.Env = append(s.baseEnv(),
		"RABBITMQ_NODENAME="+s.Node,
		"RABBITMQ_NODE_PORT="+strconv.Itoa(ports[0]),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(ports[1]),
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(dir, "rabbitmq-env.conf"),
		"RABBITMQ_PLUGINS_EXPAND_DIR="+filepath.Join(dir, "plugins-expand"),
	)
	logFile, err := os.Create(filepath.Join(dir, "server.out"))
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("rabbittest: %w", err)
	}
	defer logFile.Close()
	// A file, not a pipe: Wait would also wait for every process that
	// inherited a pipe to close it.
	cmd.Stdout, cmd.Stderr = logFile, logFile
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("rabbittest: start rabbitmq-server: %w", err)
	}
	s.cmd = cmd
	go func() { cmd.Wait(); close(s.exited) }()
	if err := s.awaitAMQP(StartTimeout); err != nil {
		out, _ := os.ReadFile(filepath.Join(dir, "server.out"))
		s.Stop()
		return nil, fmt.Errorf("%w\nserver output:\n%s", err, tail(string(out), 4000))
	}
	return s, nil
}

// baseEnv is what both the server and rabbitmqctl need: the same HOME (so
// the same Erlang cookie) and the same epmd.
func (s *Server) baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RABBITMQ_") && !strings.HasPrefix(kv, "HOME=") &&
			!strings.HasPrefix(kv, "ERL_") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+filepath.Join(s.Dir, "home"), "ERL_EPMD_PORT="+strconv.Itoa(s.epmdPort))
}

func (s *Server) awaitAMQP(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := amqp.DialConfig(s.URL, amqp.Config{Dial: amqp.DefaultDial(time.Second)})
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("rabbittest: rabbitmq-server exited during start-up: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rabbittest: rabbitmq-server did not accept connections within %v: %w", timeout, err)
		}
	}
}

// Ctl runs rabbitmqctl against the node and returns its combined output.
func (s *Server) Ctl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, "rabbitmqctl"), append([]string{"-n", s.Node}, args...)...)
	cmd.Env = s.baseEnv()
	cmd.Dir = s.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("rabbittest: rabbitmqctl %v: %w: %s", args, err, out)
	}
	return string(out), nil
}

// CloseAllConnections makes the node drop every client connection, as a
// network failure would.
func (s *Server) CloseAllConnections(ctx context.Context) error {
	_, err := s.Ctl(ctx, "close_all_connections", "rabbittest")
	return err
}

// Stop stops the node (rabbitmqctl stop, then a kill if it lingers), its
// epmd, and removes its directory. It is safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if s.cmd != nil && s.cmd.Process != nil {
			select {
			case <-s.exited:
			default:
				s.Ctl(ctx, "stop") // best effort; the signals below are the backstop
				select {
				case <-s.exited:
				case <-time.After(10 * time.Second):
					// The script forwards SIGTERM to the node and waits for it.
					s.cmd.Process.Signal(syscall.SIGTERM)
					select {
					case <-s.exited:
					case <-time.After(5 * time.Second):
						s.cmd.Process.Kill()
						<-s.exited
					}
				}
			}
		}
		if s.epmd != nil {
			s.epmd.Process.Kill()
			<-s.epmdDone
		}
		os.RemoveAll(s.Dir)
	})
}

// startEPMD starts the node's own epmd, in the foreground as a child of
// the test process (dying with it), so that the node does not start a
// daemon that would outlive the tests.
func (s *Server) startEPMD() error {
	path, err := exec.LookPath("epmd")
	if err != nil {
		matches, _ := filepath.Glob("/usr/lib/erlang/erts-*/bin/epmd")
		if len(matches) == 0 {
			return fmt.Errorf("rabbittest: epmd (part of Erlang) not found: %w", err)
		}
		path = matches[0]
	}
	cmd := exec.Command(path, "-port", strconv.Itoa(s.epmdPort), "-address", "127.0.0.1")
	cmd.Env = s.baseEnv()
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("rabbittest: start epmd: %w", err)
	}
	s.epmd, s.epmdDone = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.epmdDone) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.epmdPort))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-s.epmdDone:
			return fmt.Errorf("rabbittest: epmd on %s exited at start", addr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rabbittest: epmd does not listen on %s: %w", addr, err)
		}
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("rabbittest: find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
