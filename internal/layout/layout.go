// Package layout checks the import direction of the Millstream module.
//
// The rules are the ones in ARCHITECTURE.md: imports point one way,
//
//	samples ─► starter ─► binder ─► sdk          broker (stands alone)
//
// and some third-party modules are allowed only in named places (fx in
// sdk/streamfx, samples and binder fx.go files; gin in the HTTP packages).
// [Check] reads the package graph that `go list -deps -json` prints and returns
// every broken rule; the test in this package runs it over the whole module, so
// a bad import fails `make lint` and `make test`.
package layout

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Module is the path of the Millstream module.
const Module = "github.com/millstream/millstream"

// Package is the part of `go list -json` output that the rules need.
type Package struct {
	ImportPath string
	Dir        string
	Standard   bool
	GoFiles    []string
	Imports    []string // direct imports
	Deps       []string // every package this one depends on, transitively
}

// A Violation is one broken rule.
type Violation struct {
	Package string // import path, relative to the module ("broker/server")
	File    string // the file, where the rule is per file; empty otherwise
	Imports string // the offending import path
	Rule    string // the rule that it breaks, in words
}

func (v Violation) String() string {
	where := v.Package
	if v.File != "" {
		where += "/" + v.File
	}
	return fmt.Sprintf("%s imports %s: %s", where, v.Imports, v.Rule)
}

// third-party module paths that only some packages may use.
const (
	fxModule          = "go.uber.org/fx"
	digModule         = "go.uber.org/dig"
	ginModule         = "github.com/gin-gonic/gin"
	watermillModule   = "github.com/ThreeDotsLabs/watermill"
	cloudeventsModule = "github.com/cloudevents/sdk-go"
)

// List runs `go list -deps -json` for patterns in dir and decodes the result.
func List(dir string, patterns ...string) ([]Package, error) {
	args := append([]string{"list", "-deps", "-json=ImportPath,Dir,Standard,GoFiles,Imports,Deps"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("layout: go list: %w: %s", err, stderr.String())
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []Package
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("layout: decode go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// Check returns every violation of the import rules among pkgs, sorted.
// Packages outside the module are not checked themselves; they are only
// imported.
func Check(pkgs []Package) ([]Violation, error) {
	var out []Violation
	for _, p := range pkgs {
		rel, ok := relative(p.ImportPath)
		if !ok {
			continue
		}
		vs, err := checkPackage(rel, p)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func checkPackage(rel string, p Package) ([]Violation, error) {
	var out []Violation
	add := func(imp, rule string) {
		out = append(out, Violation{Package: rel, Imports: imp, Rule: rule})
	}
	top := strings.SplitN(rel, "/", 2)[0]

	// Our own packages: the direction of the arrows, over all dependencies.
	for _, dep := range p.Deps {
		drel, ok := relative(dep)
		if !ok {
			continue
		}
		dtop := strings.SplitN(drel, "/", 2)[0]
		switch top {
		case "broker":
			if dtop != "broker" && dtop != "internal" {
				add(dep, "broker/ stands alone and imports nothing of sdk/, binder/, starter/ or samples/")
			}
		case "sdk":
			if dtop != "sdk" && dtop != "internal" {
				add(dep, "sdk/ imports only sdk/")
			}
		case "binder":
			switch {
			case dtop == "sdk" || dtop == "internal" || drel == rel || strings.HasPrefix(drel, rel+"/"):
			case dtop == "broker" && strings.HasPrefix(rel, "binder/kafka"):
				// the embedded mode starts the bundled broker in process
			case dtop == "binder":
				add(dep, "a binder does not import another binder")
			default:
				add(dep, "binder/ imports only sdk/ (and binder/kafka the broker, for the embedded mode)")
			}
		case "starter":
			if dtop == "samples" || dtop == "broker" {
				add(dep, "starter/ imports neither samples/ nor broker/")
			}
		}
	}

	// Third-party modules allowed only in some places; direct imports.
	for _, imp := range p.Imports {
		switch {
		case hasModule(imp, ginModule):
			if rel != "sdk/actuator" && !strings.HasPrefix(rel, "broker/admin") {
				add(imp, "gin is used only by the HTTP packages sdk/actuator and broker/admin")
			}
		case hasModule(imp, fxModule) || hasModule(imp, digModule):
			switch {
			case rel == "sdk/streamfx" || top == "samples":
			case top == "binder":
				// allowed in the binder's own fx.go only; checked per file below
			default:
				add(imp, "fx is used only by sdk/streamfx, a binder's fx.go and samples")
			}
		case hasModule(imp, watermillModule) || hasModule(imp, cloudeventsModule):
			if top == "broker" {
				add(imp, "broker/ does not use watermill or cloudevents")
			}
		}
	}
	if top == "binder" {
		vs, err := checkBinderFiles(rel, p)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

// checkBinderFiles keeps fx inside a binder's fx.go.
func checkBinderFiles(rel string, p Package) ([]Violation, error) {
	var out []Violation
	fset := token.NewFileSet()
	for _, name := range p.GoFiles {
		if name == "fx.go" {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.ImportsOnly)
		if err != nil {
			return nil, fmt.Errorf("layout: parse %s: %w", name, err)
		}
		for _, is := range f.Imports {
			imp := strings.Trim(is.Path.Value, `"`)
			if hasModule(imp, fxModule) || hasModule(imp, digModule) {
				out = append(out, Violation{Package: rel, File: name, Imports: imp,
					Rule: "a binder keeps its fx module in fx.go, so the rest works without fx"})
			}
		}
	}
	return out, nil
}

func relative(importPath string) (string, bool) {
	if importPath == Module {
		return "", true
	}
	rest, ok := strings.CutPrefix(importPath, Module+"/")
	return rest, ok
}

func hasModule(imp, module string) bool {
	return imp == module || strings.HasPrefix(imp, module+"/")
}
