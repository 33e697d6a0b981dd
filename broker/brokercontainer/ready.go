package brokercontainer

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go/wait"
)

// healthCommand is what the image's HEALTHCHECK runs: the binary's own
// client lists topics through the listener. The image has no shell, so
// the check cannot be a script.
var healthCommand = []string{"/millstream", "topics", "list", "-b", "127.0.0.1:9092", "--timeout", "2s"}

// readyStrategy waits until healthCommand succeeds in the container, and
// fails at once, with the broker's last log lines, when the container
// exits first (a bad flag, an unusable data directory).
type readyStrategy struct {
	timeout time.Duration
}

var (
	_ wait.Strategy        = (*readyStrategy)(nil)
	_ wait.StrategyTimeout = (*readyStrategy)(nil)
)

// Timeout bounds the wait.
func (s *readyStrategy) Timeout() *time.Duration { return &s.timeout }

// WaitUntilReady polls every 200ms until the broker answers or the
// timeout passes.
func (s *readyStrategy) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := target.State(ctx)
		if err != nil {
			return fmt.Errorf("broker state: %w", err)
		}
		if !st.Running {
			return fmt.Errorf("broker exited with code %d before it was ready: %s", st.ExitCode, lastLogs(ctx, target))
		}
		code, _, err := target.Exec(ctx, healthCommand)
		if err == nil && code == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker not ready after %v: %s", s.timeout, lastLogs(context.Background(), target))
		case <-tick.C:
		}
	}
}

// lastLogs returns the end of the container's output, for error messages.
func lastLogs(ctx context.Context, target wait.StrategyTarget) string {
	rc, err := target.Logs(ctx)
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}
