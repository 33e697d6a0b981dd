package rabbittest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the node stop when the test binary dies (a test
// timeout, kill -9), so no node outlives its tests.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
