package docscheck_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/millstream/millstream/internal/docscheck"
)

// root is the repository, two levels up from this package.
const root = "../.."

func loadSite(t *testing.T) *docscheck.Site {
	t.Helper()
	s, err := docscheck.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pages) == 0 || len(s.Nav) == 0 {
		t.Fatalf("Load(%s): %d pages, %d nav entries; want some of each", root, len(s.Pages), len(s.Nav))
	}
	return s
}

func report(t *testing.T, ps []docscheck.Problem) {
	t.Helper()
	for _, p := range ps {
		t.Error(p)
	}
}

func TestEveryPageIsInTheNav(t *testing.T) {
	report(t, loadSite(t).CheckNav())
}

func TestRelativeLinksResolve(t *testing.T) {
	report(t, loadSite(t).CheckLinks())
}

func TestMarkupRendersAsWritten(t *testing.T) {
	report(t, loadSite(t).CheckMarkup())
}

func TestSnippetFilesExist(t *testing.T) {
	report(t, loadSite(t).CheckSnippets())
}

// millstreamTree is the command tree of the millstream binary, read from
// broker/cmd/millstream/testdata/commands.txt, which a test there keeps equal
// to the real root command (every subcommand, cobra's help and completion
// included).
func millstreamTree(t *testing.T) docscheck.Tree {
	t.Helper()
	list, err := os.ReadFile(filepath.Join(root, "broker/cmd/millstream/testdata/commands.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tree := docscheck.Tree{}
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		tree[line] = true
	}
	for _, want := range []string{"broker", "topics create", "produce", "consume", "groups reset-offsets", "perf produce"} {
		if !tree[want] {
			t.Fatalf("command tree has no %q; got %v", want, tree)
		}
	}
	return tree
}

func TestMillstreamCommandsInDocsExist(t *testing.T) {
	s := loadSite(t)
	ms := s.Mentions("millstream")
	if len(ms) < 10 {
		t.Fatalf("found %d mentions of millstream commands in the docs; the scanner is broken", len(ms))
	}
	report(t, docscheck.CheckCommands("millstream", ms, millstreamTree(t)))
}

func TestMakeTargetsInDocsExist(t *testing.T) {
	s := loadSite(t)
	// The docs speak of the repository's Makefile and of the one starter new
	// writes into a project.
	targets := docscheck.Tree{}
	for _, name := range []string{"Makefile", "starter/templates/Makefile.tmpl"} {
		mk, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		for k := range docscheck.MakeTargets(mk) {
			targets[k] = true
		}
	}
	if !targets["test"] || !targets["docs"] || !targets["integration"] {
		t.Fatalf("make targets = %v; want test, docs and integration among them", targets)
	}
	var ms []docscheck.Mention
	for _, m := range s.Mentions("make") {
		// Only the first word is a target; VAR=value and flags end the words.
		m.Words = m.Words[:1]
		ms = append(ms, m)
	}
	report(t, docscheck.CheckCommands("make", ms, targets))
}

// The checks must find what they are for: a small broken site.
func TestChecksFindProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("mkdocs.yml", "site_name: x\nnav:\n  - Home: index.md\n  - Part:\n      - Gone: gone.md\n      - Sub: sub/page.md\n")
	write("code.go", "package x\n")
	write("docs/index.md", strings.Join([]string{
		"# Home",
		"## The broker's address",
		"[ok](sub/page.md#a-b-c) [ok](#the-brokers-address) [ext](https://example.com/x.md)",
		"[bad file](nothere.md) [bad anchor](sub/page.md#nope)",
		"`[not a link](inline.md)`",
		"```sh",
		"[not a link](fenced.md)",
		"# not a heading",
		"millstream topics create t && bin/millstream produce t # github.com/millstream/millstream v0 ./millstream perf",
		"millstream topix list",
		"millstream topics frobnicate",
		"make docs && make nosuch VAR=1",
		"```",
		"Run `millstream groups list|explode` or `make test`.",
		`--8<-- "code.go"`,
		`--8<-- "missing.go"`,
		`--8<-- "code.go:section"`,
		"| `a\\|b` | `c|d` |",
	}, "\n"))
	write("docs/sub/page.md", "# A `b` c\n\n[up](../index.md#not-a-heading)\n")
	write("docs/orphan.md", "# Orphan\n")

	s, err := docscheck.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tree := docscheck.Tree{"topics": true, "topics create": true, "produce": true, "perf": true, "groups": true, "groups list": true}
	var got []string
	for _, ps := range [][]docscheck.Problem{
		s.CheckNav(), s.CheckLinks(), s.CheckSnippets(), s.CheckMarkup(),
		docscheck.CheckCommands("millstream", s.Mentions("millstream"), tree),
		docscheck.CheckCommands("make", s.Mentions("make"), docscheck.MakeTargets([]byte("docs:\n\tmkdocs\ntest: lint\nX := 1\n"))),
	} {
		for _, p := range ps {
			got = append(got, p.String())
		}
	}
	want := []string{
		"mkdocs.yml: nav names docs/gone.md, which does not exist",
		"docs/orphan.md: page is not in mkdocs.yml's nav; add it there",
		`docs/index.md:4: link "nothere.md": docs/nothere.md does not exist`,
		`docs/index.md:4: link "sub/page.md#nope": docs/sub/page.md has no heading with anchor #nope`,
		`docs/sub/page.md:3: link "../index.md#not-a-heading": docs/index.md has no heading with anchor #not-a-heading`,
		`docs/index.md:16: snippet "missing.go": the file does not exist`,
		`docs/index.md:17: snippet "code.go:section": pymdownx 9.5 has no file:section form; quote the whole file (put the section in a file of its own)`,
		`docs/index.md:10: "millstream topix list": millstream has no command "topix"`,
		`docs/index.md:11: "millstream topics frobnicate": millstream topics has no subcommand "frobnicate"`,
		`docs/index.md:14: "millstream groups list|explode": millstream groups has no subcommand "explode"`,
		`docs/index.md:12: "make nosuch": make has no command "nosuch"`,
		`docs/index.md:18: inline code "a\\|b" shows its backslashes; write | without \ (it does not split a table cell inside backticks)`,
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Embedded mode: no server at all": "embedded-mode-no-server-at-all",
		"The broker's address":            "the-brokers-address",
		"compose/stack":                   "composestack",
		"Acknowledgements (acks)":         "acknowledgements-acks",
		"Spring Cloud Stream — keys":      "spring-cloud-stream-keys",
		"  Trailing  spaces  ":            "trailing-spaces",
	} {
		if got := docscheck.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}
