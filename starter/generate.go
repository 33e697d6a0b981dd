package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// templates holds one template per file of a new project; the name is the
// file's path with ".tmpl" added ("gitignore.tmpl" is ".gitignore").
//
//go:embed templates/*.tmpl
var templates embed.FS

// Binders and kinds that [Options] accept.
var (
	binders = []string{"kafka", "rabbit"}
	kinds   = []string{"function", "consumer", "supplier"}
)

// Options says what to generate. The zero values of the optional fields
// are their defaults.
type Options struct {
	// Name of the project: lower-case letters, digits and single hyphens,
	// starting with a letter. Required.
	Name string
	// Binder is "kafka" (default) or "rabbit".
	Binder string
	// Kind of the handler: "function" (default), "consumer" or "supplier".
	Kind string
	// Module path of the new project. Default: Name.
	Module string
	// Dir to write into. Default: ./Name.
	Dir string
	// MillstreamPath is a Millstream checkout to build against through a
	// replace directive. Default none: the published module.
	MillstreamPath string
	// Force writes into a directory that is not empty.
	Force bool
	// SkipTidy leaves out `go mod tidy`, which completes go.mod and
	// go.sum.
	SkipTidy bool
}

// ErrNotEmpty is returned for a target directory that holds files when
// Force is off.
var ErrNotEmpty = errors.New("directory is not empty")

var (
	nameRE       = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	modulePathRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9][A-Za-z0-9._~-]*)*$`)
)

// Validate checks o and says how to fix what is wrong.
func (o Options) Validate() error {
	var errs []error
	switch {
	case !nameRE.MatchString(o.Name):
		errs = append(errs, fmt.Errorf("name %q: use lower-case letters, digits and single hyphens, starting with a letter (for example order-audit)", o.Name))
	case o.Module == "" && windowsReserved(o.Name):
		errs = append(errs, fmt.Errorf("name %q is a reserved file name on Windows, which Go refuses as a module path; choose another name or pass --module", o.Name))
	}
	if o.Binder != "" && !slices.Contains(binders, o.Binder) {
		errs = append(errs, fmt.Errorf("--binder %q: use one of %s", o.Binder, strings.Join(binders, ", ")))
	}
	if o.Kind != "" && !slices.Contains(kinds, o.Kind) {
		errs = append(errs, fmt.Errorf("--kind %q: use one of %s", o.Kind, strings.Join(kinds, ", ")))
	}
	if o.Module != "" {
		if !modulePathRE.MatchString(o.Module) || strings.Contains(o.Module, "..") {
			errs = append(errs, fmt.Errorf("--module %q is not a module path: use elements of letters, digits, '.', '-', '_' and '~' separated by '/' (for example example.com/you/%s)", o.Module, o.Name))
		}
	}
	if o.MillstreamPath != "" && !isCheckout(o.MillstreamPath) {
		errs = append(errs, fmt.Errorf("--millstream-path %s: no go.mod of module %s there; name the root of a Millstream checkout", o.MillstreamPath, millstreamModule))
	}
	return errors.Join(errs...)
}

// windowsReserved reports whether name is a device name that Go refuses
// as a module path element.
func windowsReserved(name string) bool {
	switch name {
	case "con", "prn", "aux", "nul":
		return true
	}
	if len(name) == 4 && (strings.HasPrefix(name, "com") || strings.HasPrefix(name, "lpt")) && name[3] >= '1' && name[3] <= '9' {
		return true
	}
	return false
}

// Project is what the templates see.
type Project struct {
	Name   string // "order-audit"
	Module string // "order-audit" or --module
	Func   string // the handler's function name and binding prefix, "orderAudit"
	Kind   string // "function", "consumer" or "supplier"
	Binder string // "kafka" or "rabbit"
	// In and Out are the destinations the handler reads and writes
	// (empty when the kind has none).
	In, Out string
	// MillstreamPath is the absolute path of the checkout the project's
	// replace directive points at; empty for none.
	MillstreamPath string
	// Dir is the directory written, absolute.
	Dir string
}

// HasIn reports whether the handler reads a destination.
func (p Project) HasIn() bool { return p.Kind != "supplier" }

// HasOut reports whether the handler writes a destination.
func (p Project) HasOut() bool { return p.Kind != "consumer" }

// Generate writes a new project and, unless SkipTidy, runs go mod tidy in
// it (offline when the project builds against a checkout and the module
// cache is warm).
func Generate(ctx context.Context, o Options) (*Project, error) {
	if o.Binder == "" {
		o.Binder = "kafka"
	}
	if o.Kind == "" {
		o.Kind = "function"
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("new: %w", err)
	}
	p := &Project{Name: o.Name, Module: o.Module, Func: identifier(o.Name), Kind: o.Kind, Binder: o.Binder}
	if p.Module == "" {
		p.Module = o.Name
	}
	if p.HasIn() {
		p.In = o.Name + "-in"
	}
	if p.HasOut() {
		p.Out = o.Name + "-out"
	}
	dir := o.Dir
	if dir == "" {
		dir = o.Name
	}
	var err error
	if p.Dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("new: %w", err)
	}
	if o.MillstreamPath != "" {
		if p.MillstreamPath, err = filepath.Abs(o.MillstreamPath); err != nil {
			return nil, fmt.Errorf("new: %w", err)
		}
	}
	if err := checkDir(p.Dir, o.Force); err != nil {
		return nil, fmt.Errorf("new: %w", err)
	}
	files, err := render(p)
	if err != nil {
		return nil, fmt.Errorf("new: %w", err)
	}
	if p.MillstreamPath != "" {
		// The checkout's go.sum holds every hash the project can need, so
		// tidy has nothing to download.
		sum, err := os.ReadFile(filepath.Join(p.MillstreamPath, "go.sum"))
		if err != nil {
			return nil, fmt.Errorf("new: read the checkout's go.sum: %w", err)
		}
		files["go.sum"] = sum
	}
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("new: %w", err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(p.Dir, name), files[name], 0o644); err != nil {
			return nil, fmt.Errorf("new: %w", err)
		}
	}
	if !o.SkipTidy {
		if err := tidy(ctx, p.Dir); err != nil {
			return p, fmt.Errorf("new: wrote %s, but %w", p.Dir, err)
		}
	}
	return p, nil
}

// checkDir refuses a directory that holds anything, unless force.
func checkDir(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(entries) > 0 && !force:
		return fmt.Errorf("%s: %w (%d entries); choose another --dir, or pass --force to overwrite", dir, ErrNotEmpty, len(entries))
	}
	return nil
}

// render executes every template for p; Go files are gofmt'ed.
func render(p *Project) (map[string][]byte, error) {
	paths, err := fs.Glob(templates, "templates/*.tmpl")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(paths))
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".tmpl")
		if name == "gitignore" || name == "dockerignore" {
			name = "." + name
		}
		t, err := template.New(filepath.Base(path)).Funcs(template.FuncMap{
			"upper": strings.ToUpper,
			"env":   envName,
		}).ParseFS(templates, path)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", path, err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, p); err != nil {
			return nil, fmt.Errorf("template %s: %w", path, err)
		}
		b := buf.Bytes()
		if strings.HasSuffix(name, ".go") {
			if b, err = format.Source(b); err != nil {
				return nil, fmt.Errorf("template %s: generated code does not parse: %w", path, err)
			}
		}
		out[name] = b
	}
	return out, nil
}

// tidy runs go mod tidy in dir with the caller's environment.
func tidy(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go mod tidy failed (%w): %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// identifier turns a project name into a Go identifier in camel case:
// "order-audit" is orderAudit.
func identifier(name string) string {
	parts := strings.Split(name, "-")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

// envName is the MILLSTREAM_* variable of a binding property: the key upper
// case, with "-" and "." as "_".
func envName(s string) string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(s))
}
