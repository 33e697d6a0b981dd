package main

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// millstreamModule is the module path a checkout's go.mod declares.
const millstreamModule = "github.com/millstream/millstream"

// findCheckout returns the root of the Millstream checkout that holds dir
// or, failing that, the one this binary was built from (its source path is
// known when it was not built with -trimpath, as with go run). It returns ""
// when there is none.
func findCheckout(dir string) string {
	if root := checkoutAbove(dir); root != "" {
		return root
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return checkoutAbove(filepath.Dir(file))
	}
	return ""
}

// checkoutAbove walks up from dir to the directory whose go.mod declares
// the Millstream module.
func checkoutAbove(dir string) string {
	if dir == "" {
		return ""
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if isCheckout(dir) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// isCheckout reports whether dir/go.mod declares the Millstream module.
func isCheckout(dir string) bool {
	return modulePath(filepath.Join(dir, "go.mod")) == millstreamModule
}

// modulePath is the module path that the go.mod file at path declares.
func modulePath(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
