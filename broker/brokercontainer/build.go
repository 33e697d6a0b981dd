package brokercontainer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Dockerfile is the broker image's Dockerfile, relative to the
// repository root.
const Dockerfile = "compose/millstream.Dockerfile"

// buildContext writes a Docker build context for the image to a new
// temporary directory and returns it; the caller removes it. The context
// holds only what the Dockerfile copies: the Dockerfile itself and
// bin/millstream, a static binary built from the Go package the
// Dockerfile names on its "# package:" line. Sending the whole checkout
// instead would ship every build artefact in it to the daemon.
func buildContext(ctx context.Context, repoDir string) (dir string, err error) {
	df, err := os.ReadFile(filepath.Join(repoDir, Dockerfile))
	if err != nil {
		return "", fmt.Errorf("brokercontainer: build from %s: %w", repoDir, err)
	}
	pkg, err := dockerfilePackage(df)
	if err != nil {
		return "", fmt.Errorf("brokercontainer: %s: %w", Dockerfile, err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("brokercontainer: build from %s needs the go command: %w", repoDir, err)
	}
	dir, err = os.MkdirTemp("", "millstream-image-")
	if err != nil {
		return "", fmt.Errorf("brokercontainer: build context: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(Dockerfile)), 0o755); err != nil {
		return "", fmt.Errorf("brokercontainer: build context: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, Dockerfile), df, 0o644); err != nil {
		return "", fmt.Errorf("brokercontainer: build context: %w", err)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w",
		"-o", filepath.Join(dir, "bin", "millstream"), pkg)
	cmd.Dir = repoDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("brokercontainer: go build %s in %s: %w\n%s", pkg, repoDir, err, out.Bytes())
	}
	return dir, nil
}

// dockerfilePackage returns the Go package named by a "# package: PATH"
// comment line of a Dockerfile (scripts/build-images reads the same line).
func dockerfilePackage(dockerfile []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(dockerfile))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "# package:"); ok {
			if pkg := strings.TrimSpace(rest); pkg != "" {
				return pkg, nil
			}
		}
	}
	return "", fmt.Errorf(`no "# package: ./path/to/cmd" line naming the Go package to build`)
}
