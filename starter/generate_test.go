package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkout is the Millstream checkout these tests run in.
func checkout(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := findCheckout(wd)
	if root == "" {
		t.Fatalf("findCheckout(%s) found no checkout", wd)
	}
	return root
}

// goCmd runs go in dir offline: every module must come from the cache.
func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

// TestGeneratedProjectsBuildAndPass generates every kind on every binder
// from this checkout, offline, and runs go vet (the integration test
// included), go build and go test in each.
func TestGeneratedProjectsBuildAndPass(t *testing.T) {
	root := checkout(t)
	type combo struct{ kind, binder string }
	var combos []combo
	for _, b := range binders {
		for _, k := range kinds {
			combos = append(combos, combo{k, b})
		}
	}
	if testing.Short() {
		combos = combos[:1] // function on kafka
	}
	// The generated projects build offline from the module cache. A fresh
	// machine's cache holds only what this checkout's own packages needed
	// so far, not every module of its build list (go-spew, a test-only
	// requirement of Watermill's, say), which tidy reads: fetch those first.
	download := exec.Command("go", "mod", "download", "all")
	download.Dir = root
	if out, err := download.CombinedOutput(); err != nil {
		t.Fatalf("go mod download all in %s: %v\n%s", root, err, out)
	}
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOPROXY", "off") // tidy in Generate must not need the network either
	for _, c := range combos {
		t.Run(c.kind+"-"+c.binder, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(root, "binder", c.binder, "fx.go")); err != nil {
				t.Skipf("this checkout has no %s binder module yet: %v", c.binder, err)
			}
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "app")
			p, err := Generate(context.Background(), Options{
				Name: "my-" + c.kind, Kind: c.kind, Binder: c.binder,
				Module: "example.com/apps/my-" + c.kind, Dir: dir, MillstreamPath: root,
			})
			if err != nil {
				t.Fatal(err)
			}
			if p.Func != "my"+strings.ToUpper(c.kind[:1])+c.kind[1:] {
				t.Errorf("Func = %q", p.Func)
			}
			for _, f := range []string{"go.mod", "go.sum", "main.go", "handler.go", "handler_test.go",
				"integration_test.go", "millstream.yaml", "Makefile", "Dockerfile", "compose.yaml", "README.md"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("missing %s: %v", f, err)
				}
			}
			mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
			if !bytes.Contains(mod, []byte("replace github.com/millstream/millstream => "+root)) {
				t.Errorf("go.mod has no replace to %s:\n%s", root, mod)
			}
			goCmd(t, dir, "vet", "-tags", "integration", "./...")
			goCmd(t, dir, "build", "-o", filepath.Join(t.TempDir(), "app"), ".")
			goCmd(t, dir, "test", "-count=1", "./...")
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string // in the error; empty: valid
	}{
		{Options{Name: "orders"}, ""},
		{Options{Name: "order-audit2", Binder: "rabbit", Kind: "supplier", Module: "example.com/x/order-audit2"}, ""},
		{Options{Name: "Orders"}, "lower-case letters"},
		{Options{Name: "2fast"}, "starting with a letter"},
		{Options{Name: "a--b"}, "single hyphens"},
		{Options{Name: "my app"}, "for example order-audit"},
		{Options{Name: ""}, "name"},
		{Options{Name: "con"}, "reserved file name on Windows"},
		{Options{Name: "lpt1"}, "reserved file name on Windows"},
		{Options{Name: "console"}, ""},
		{Options{Name: "ok", Binder: "nats"}, "--binder \"nats\": use one of kafka, rabbit"},
		{Options{Name: "ok", Kind: "processor"}, "--kind \"processor\": use one of function, consumer, supplier"},
		{Options{Name: "ok", Module: "example.com//x"}, "is not a module path"},
		{Options{Name: "ok", Module: "../x"}, "is not a module path"},
		{Options{Name: "ok", MillstreamPath: t.TempDir()}, "no go.mod of module github.com/millstream/millstream"},
	} {
		err := tc.o.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Validate(%+v) = %v, want nil", tc.o, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Validate(%+v) = %v, want an error containing %q", tc.o, err, tc.want)
		}
	}
}

func TestRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(context.Background(), Options{Name: "orders", Dir: dir, SkipTidy: true})
	if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Generate into a non-empty dir = %v, want ErrNotEmpty naming --force", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "main.go")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("main.go written despite the refusal (stat: %v)", err)
	}
	if _, err := Generate(context.Background(), Options{Name: "orders", Dir: dir, SkipTidy: true, Force: true}); err != nil {
		t.Fatalf("Generate with Force = %v", err)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
		t.Fatalf("--force touched an unrelated file: %q, %v", b, err)
	}
}

func TestWithoutCheckoutNoReplace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "orders")
	if _, err := Generate(context.Background(), Options{Name: "orders", Dir: dir, SkipTidy: true}); err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(mod, []byte("replace")) || !bytes.HasPrefix(mod, []byte("module orders\n")) {
		t.Fatalf("go.mod without a checkout:\n%s", mod)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("go.sum written without a checkout (stat: %v)", err)
	}
}

func TestFindCheckout(t *testing.T) {
	root := checkout(t)
	if got := checkoutAbove(filepath.Join(root, "sdk", "stream")); got != root {
		t.Errorf("checkoutAbove(sdk/stream) = %q, want %q", got, root)
	}
	if got := checkoutAbove(t.TempDir()); got != "" {
		t.Errorf("checkoutAbove(temp dir) = %q, want none", got)
	}
}

func TestCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x")
	cmd := rootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"new", "Bad_Name", "--dir", dir})
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), `name "Bad_Name"`) {
		t.Fatalf("starter new Bad_Name = %v, want an error naming the name", err)
	}
	cmd = rootCommand()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"new", "ticks", "--kind", "supplier", "--dir", dir, "--skip-tidy", "--millstream-path", checkout(t)})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "wrote "+dir+" (supplier ticks on kafka)") {
		t.Fatalf("output = %q", out.String())
	}
}
