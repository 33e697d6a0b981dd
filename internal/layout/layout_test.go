package layout_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/millstream/millstream/internal/layout"
)

// TestModuleKeepsImportRules is the check `make lint` runs: the whole module,
// as it is in the working tree.
func TestModuleKeepsImportRules(t *testing.T) {
	pkgs, err := layout.List("../..", "./...")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := layout.Check(pkgs)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Errorf("import rule broken: %s", v)
	}
}

// TestBrokenRulesAreReported builds a small module with the same path as ours,
// breaks each rule once, and expects each break to be named.
func TestBrokenRulesAreReported(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":                       "module " + layout.Module + "\n\ngo 1.26\n",
		"sdk/stream/stream.go":         "package stream\n",
		"sdk/stream/bad.go":            "package stream\n\nimport _ \"" + layout.Module + "/binder/memory\"\n",
		"binder/memory/memory.go":      "package memory\n\nimport _ \"" + layout.Module + "/sdk/cloudevent\"\n",
		"sdk/cloudevent/cloudevent.go": "package cloudevent\n",
		"broker/server/server.go":      "package server\n\nimport _ \"" + layout.Module + "/sdk/cloudevent\"\n",
		"binder/rabbit/rabbit.go":      "package rabbit\n\nimport _ \"" + layout.Module + "/broker/record\"\n",
		"broker/record/record.go":      "package record\n",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkgs, err := layout.List(dir, "./...")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := layout.Check(pkgs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Package+" -> "+strings.TrimPrefix(v.Imports, layout.Module+"/"))
	}
	want := []string{
		"binder/rabbit -> broker/record",
		"broker/server -> sdk/cloudevent",
		"sdk/stream -> binder/memory",
		// sdk/stream also reaches sdk/cloudevent through binder/memory; that
		// dependency is allowed (sdk -> sdk) and must not be reported.
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Check() reported\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestThirdPartyRules covers the per-file rule for binders and the
// module rule for third-party packages (fx, gin) without needing them in the
// module cache: the package graph is given directly.
func TestThirdPartyRules(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "publisher.go"),
		[]byte("package kafka\n\nimport _ \"go.uber.org/fx\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fx.go"),
		[]byte("package kafka\n\nimport _ \"go.uber.org/fx\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pkgs := []layout.Package{
		{ImportPath: layout.Module + "/binder/kafka", Dir: dir, GoFiles: []string{"fx.go", "publisher.go"},
			Imports: []string{"go.uber.org/fx"}},
		{ImportPath: layout.Module + "/sdk/stream", Imports: []string{"go.uber.org/fx", "github.com/gin-gonic/gin"}},
		{ImportPath: layout.Module + "/sdk/streamfx", Imports: []string{"go.uber.org/fx"}},
		{ImportPath: layout.Module + "/sdk/actuator", Imports: []string{"github.com/gin-gonic/gin"}},
		{ImportPath: layout.Module + "/broker/server", Imports: []string{"github.com/ThreeDotsLabs/watermill/message"}},
	}
	vs, err := layout.Check(pkgs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.String())
	}
	want := []string{
		"binder/kafka/publisher.go imports go.uber.org/fx: a binder keeps its fx module in fx.go, so the rest works without fx",
		"broker/server imports github.com/ThreeDotsLabs/watermill/message: broker/ does not use watermill or cloudevents",
		"sdk/stream imports github.com/gin-gonic/gin: gin is used only by the HTTP packages sdk/actuator and broker/admin",
		"sdk/stream imports go.uber.org/fx: fx is used only by sdk/streamfx, a binder's fx.go and samples",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Check() reported\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
