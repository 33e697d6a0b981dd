// Package docscheck keeps the documentation site honest. It reads the
// Markdown pages under docs/ and mkdocs.yml the way mkdocs and
// pymdownx.snippets do, and reports what `mkdocs build --strict` does not
// catch, or catches only as an info line:
//
//   - a page under docs/ that the nav leaves out, or a nav entry without a page;
//   - a relative link to a file that does not exist, or to an anchor that no
//     heading of the target page produces;
//   - a `--8<--` snippet that names a missing file, or uses the
//     "file:section" form that the pymdownx here (9.5) does not know;
//   - a command (`millstream topics create`, `make docs`) quoted in code that
//     the binary or the Makefile does not have;
//   - a `\|` in inline code, which shows its backslash.
//
// # Usage
//
//	site, err := docscheck.Load(repoRoot)
//	problems := site.CheckNav()
//	problems = append(problems, site.CheckLinks()...)
//
// The test in this package runs every check on the repository.
package docscheck

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with the docs, located in a file of the
// repository.
type Problem struct {
	File string // relative to the repository root, with "/"
	Line int    // 1-based; 0 when the problem is not on one line
	Msg  string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Msg
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
}

// Site is the documentation as mkdocs sees it.
type Site struct {
	// Root is the repository root, where mkdocs runs and snippet paths start.
	Root string
	// Nav lists the pages named in mkdocs.yml's nav, relative to docs/, in
	// order.
	Nav []string
	// Pages maps every Markdown file under docs/ (relative to docs/, with
	// "/") to its lines.
	Pages map[string][]string
}

// Load reads mkdocs.yml and every Markdown page under root/docs.
func Load(root string) (*Site, error) {
	raw, err := os.ReadFile(filepath.Join(root, "mkdocs.yml"))
	if err != nil {
		return nil, fmt.Errorf("docscheck: %w", err)
	}
	nav, err := NavPages(raw)
	if err != nil {
		return nil, err
	}
	s := &Site{Root: root, Nav: nav, Pages: map[string][]string{}}
	docs := filepath.Join(root, "docs")
	err = filepath.WalkDir(docs, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".md") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(docs, p)
		if err != nil {
			return err
		}
		s.Pages[filepath.ToSlash(rel)] = strings.Split(string(b), "\n")
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("docscheck: read docs: %w", err)
	}
	return s, nil
}

// NavPages returns the page paths of mkdocs.yml's nav, depth first. Entries
// that are external URLs are left out.
func NavPages(mkdocsYAML []byte) ([]string, error) {
	var cfg struct {
		Nav []any `yaml:"nav"`
	}
	// mkdocs.yml may carry !!python tags elsewhere; only nav is decoded.
	if err := yaml.Unmarshal(mkdocsYAML, &cfg); err != nil {
		return nil, fmt.Errorf("docscheck: parse mkdocs.yml: %w", err)
	}
	var out []string
	var walk func(v any) error
	walk = func(v any) error {
		switch v := v.(type) {
		case string:
			if !strings.Contains(v, "://") {
				out = append(out, v)
			}
		case []any:
			for _, e := range v {
				if err := walk(e); err != nil {
					return err
				}
			}
		case map[string]any:
			for _, e := range v {
				if err := walk(e); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("docscheck: mkdocs.yml nav: unexpected entry %v (%T)", v, v)
		}
		return nil
	}
	if err := walk(cfg.Nav); err != nil {
		return nil, err
	}
	return out, nil
}

// CheckNav reports pages missing from the nav, nav entries without a page,
// and pages named twice.
func (s *Site) CheckNav() []Problem {
	var ps []Problem
	seen := map[string]bool{}
	for _, p := range s.Nav {
		if _, ok := s.Pages[p]; !ok {
			ps = append(ps, Problem{File: "mkdocs.yml", Msg: fmt.Sprintf("nav names docs/%s, which does not exist", p)})
		}
		if seen[p] {
			ps = append(ps, Problem{File: "mkdocs.yml", Msg: fmt.Sprintf("nav names docs/%s twice", p)})
		}
		seen[p] = true
	}
	for _, p := range s.sortedPages() {
		if !seen[p] {
			ps = append(ps, Problem{File: "docs/" + p, Msg: "page is not in mkdocs.yml's nav; add it there"})
		}
	}
	return ps
}

func (s *Site) sortedPages() []string {
	var ps []string
	for p := range s.Pages {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// line is one line of a page outside fenced code, with its inline code
// removed, or inside fenced code.
type line struct {
	n      int
	text   string   // prose without inline code; empty inside fences
	code   []string // inline code spans, or the whole line inside a fence
	fenced bool
}

var (
	fenceRe  = regexp.MustCompile("^\\s*(```+|~~~+)")
	inlineRe = regexp.MustCompile("`+[^`]*`+")
)

// scan splits a page into prose and code, line by line.
func scan(lines []string) []line {
	var out []line
	fence := ""
	for i, l := range lines {
		if m := fenceRe.FindStringSubmatch(l); m != nil {
			switch {
			case fence == "":
				fence = m[1]
				continue
			case strings.HasPrefix(m[1], fence) && strings.TrimSpace(l) == m[1]:
				fence = ""
				continue
			}
		}
		if fence != "" {
			out = append(out, line{n: i + 1, code: []string{l}, fenced: true})
			continue
		}
		var spans []string
		for _, m := range inlineRe.FindAllString(l, -1) {
			spans = append(spans, strings.Trim(m, "`"))
		}
		out = append(out, line{n: i + 1, text: inlineRe.ReplaceAllString(l, "``"), code: spans})
	}
	return out
}

var (
	headingRe = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	mdLinkRe  = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	htmlTagRe = regexp.MustCompile(`<[^>]+>`)
	slugDrop  = regexp.MustCompile(`[^\w\s-]`)
	slugSpace = regexp.MustCompile(`[-\s]+`)
)

// Slugify is the anchor Python-Markdown's toc extension gives a heading's
// text by default: ASCII, lower case, punctuation dropped, runs of spaces and
// hyphens turned into one hyphen. (toc first decomposes accented letters, so
// "é" becomes "e"; here every non-ASCII letter is dropped, which the English
// headings of these docs never notice.)
func Slugify(heading string) string {
	var b strings.Builder
	for _, r := range heading {
		if r < unicode.MaxASCII {
			b.WriteRune(r)
		}
	}
	v := slugDrop.ReplaceAllString(b.String(), "")
	v = strings.ToLower(strings.TrimSpace(v))
	return slugSpace.ReplaceAllString(v, "-")
}

// headingText is what a heading shows: Markdown links, code marks and
// emphasis removed.
func headingText(h string) string {
	h = mdLinkRe.ReplaceAllStringFunc(h, func(m string) string {
		return m[1:strings.Index(m, "](")]
	})
	h = htmlTagRe.ReplaceAllString(h, "")
	return strings.NewReplacer("`", "", "**", "", "*", "").Replace(h)
}

// Anchors returns the anchors of a page's headings, as toc makes them:
// a repeated slug gets _1, _2, ...
func Anchors(lines []string) map[string]bool {
	out := map[string]bool{}
	for _, l := range scan(lines) {
		if l.fenced {
			continue
		}
		// scan replaced inline code with ``; take the heading from the
		// original line.
		m := headingRe.FindStringSubmatch(lines[l.n-1])
		if m == nil {
			continue
		}
		slug := Slugify(headingText(m[2]))
		a := slug
		for i := 1; out[a]; i++ {
			a = fmt.Sprintf("%s_%d", slug, i)
		}
		out[a] = true
	}
	return out
}

// CheckLinks reports relative links whose file does not exist, and links to
// a Markdown page's anchor that none of its headings makes.
func (s *Site) CheckLinks() []Problem {
	var ps []Problem
	anchors := map[string]map[string]bool{}
	anchorsOf := func(page string) map[string]bool {
		if a, ok := anchors[page]; ok {
			return a
		}
		anchors[page] = Anchors(s.Pages[page])
		return anchors[page]
	}
	for _, page := range s.sortedPages() {
		for _, l := range scan(s.Pages[page]) {
			if l.fenced {
				continue
			}
			for _, m := range mdLinkRe.FindAllStringSubmatch(l.text, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "/") {
					continue
				}
				file, anchor, _ := strings.Cut(target, "#")
				dest := page
				if file != "" {
					dest = path.Clean(path.Join(path.Dir(page), file))
				}
				at := Problem{File: "docs/" + page, Line: l.n}
				if _, ok := s.Pages[dest]; !ok {
					if _, err := os.Stat(filepath.Join(s.Root, "docs", filepath.FromSlash(dest))); err != nil {
						at.Msg = fmt.Sprintf("link %q: docs/%s does not exist", target, dest)
						ps = append(ps, at)
						continue
					}
				}
				if anchor != "" && strings.HasSuffix(dest, ".md") && !anchorsOf(dest)[anchor] {
					at.Msg = fmt.Sprintf("link %q: docs/%s has no heading with anchor #%s", target, dest, anchor)
					ps = append(ps, at)
				}
			}
		}
	}
	return ps
}

// CheckMarkup reports Markdown that renders other than it reads: a `\|`
// inside inline code shows its backslash (Python-Markdown's tables already
// keep a "|" inside backticks in its cell).
func (s *Site) CheckMarkup() []Problem {
	var ps []Problem
	for _, page := range s.sortedPages() {
		for _, l := range scan(s.Pages[page]) {
			if l.fenced {
				continue
			}
			for _, c := range l.code {
				if strings.Contains(c, `\|`) {
					ps = append(ps, Problem{File: "docs/" + page, Line: l.n, Msg: fmt.Sprintf("inline code %q shows its backslashes; write | without \\ (it does not split a table cell inside backticks)", c)})
				}
			}
		}
	}
	return ps
}

var snippetRe = regexp.MustCompile(`^\s*-+8<-+\s+"([^"]+)"`)

// CheckSnippets reports `--8<--` lines that name a file that does not exist
// (paths start at the repository root, mkdocs.yml's base_path), or that use
// the "file:section" form.
func (s *Site) CheckSnippets() []Problem {
	var ps []Problem
	for _, page := range s.sortedPages() {
		for i, l := range s.Pages[page] {
			m := snippetRe.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			at := Problem{File: "docs/" + page, Line: i + 1}
			p := m[1]
			if j := strings.LastIndex(p, ":"); j > strings.LastIndex(p, "/") {
				at.Msg = fmt.Sprintf("snippet %q: pymdownx 9.5 has no file:section form; quote the whole file (put the section in a file of its own)", p)
				ps = append(ps, at)
				continue
			}
			if _, err := os.Stat(filepath.Join(s.Root, filepath.FromSlash(p))); err != nil {
				at.Msg = fmt.Sprintf("snippet %q: the file does not exist", p)
				ps = append(ps, at)
			}
		}
	}
	return ps
}

// Mention is a command line quoted in a page's code: the program and the
// words after it.
type Mention struct {
	File  string // relative to the repository root
	Line  int
	Words []string // the words after the program name, up to the first flag or placeholder
}

// Mentions finds every quoted use of program in the pages' code (fenced
// blocks and inline code; prose is not read): "millstream topics create",
// "bin/millstream consume". Words stop at a flag, a placeholder, a shell
// operator or the end of the line.
func (s *Site) Mentions(program string) []Mention {
	re := regexp.MustCompile(`(?:^|[\s/(\[$])` + regexp.QuoteMeta(program) + `((?:[ \t]+[a-z][a-z0-9|-]*)+)`)
	var out []Mention
	for _, page := range s.sortedPages() {
		for _, l := range scan(s.Pages[page]) {
			for _, c := range l.code {
				for _, m := range re.FindAllStringSubmatchIndex(c, -1) {
					if !commandPath(c[:m[0]+1]) {
						continue
					}
					out = append(out, Mention{File: "docs/" + page, Line: l.n, Words: strings.Fields(c[m[2]:m[3]])})
				}
			}
		}
	}
	return out
}

// commandPath tells whether the text before a program name makes it a
// command ("bin/millstream", "./millstream", "/millstream", or nothing) and
// not part of a module path or URL ("github.com/millstream/millstream v0").
func commandPath(before string) bool {
	tok := before[strings.LastIndexAny(before, " \t(['\"$")+1:]
	tok = strings.TrimPrefix(strings.TrimPrefix(tok, "../"), "./")
	return !strings.Contains(tok, ".")
}

// Tree is a command tree: each command's path ("topics create") maps to
// true; the root is "".
type Tree map[string]bool

// CheckCommands reports mentions of program whose first word is not a
// command of tree, or whose second word is not a subcommand of a command
// that has subcommands. Words joined with "|" ("create|list") are checked
// one by one.
func CheckCommands(program string, ms []Mention, tree Tree) []Problem {
	hasChildren := func(cmd string) bool {
		for k := range tree {
			if strings.HasPrefix(k, cmd+" ") {
				return true
			}
		}
		return false
	}
	var ps []Problem
	for _, m := range ms {
		first := m.Words[0]
		for _, w := range strings.Split(first, "|") {
			if !tree[w] {
				ps = append(ps, Problem{File: m.File, Line: m.Line, Msg: fmt.Sprintf("%q: %s has no command %q", program+" "+strings.Join(m.Words, " "), program, w)})
				continue
			}
			if len(m.Words) < 2 || !hasChildren(w) {
				continue
			}
			for _, sub := range strings.Split(m.Words[1], "|") {
				if !tree[w+" "+sub] {
					ps = append(ps, Problem{File: m.File, Line: m.Line, Msg: fmt.Sprintf("%q: %s %s has no subcommand %q", program+" "+strings.Join(m.Words, " "), program, w, sub)})
				}
			}
		}
	}
	return ps
}

var makeTargetRe = regexp.MustCompile(`(?m)^([A-Za-z0-9][\w.-]*)\s*:([^=]|$)`)

// MakeTargets returns the targets a Makefile defines.
func MakeTargets(makefile []byte) Tree {
	t := Tree{}
	for _, m := range makeTargetRe.FindAllSubmatch(makefile, -1) {
		t[string(m[1])] = true
	}
	return t
}
