package streamfx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/millstream/millstream/sdk/stream"
)

// DefaultConfigFile is the configuration file read when no other is named.
// It may be absent.
const DefaultConfigFile = "millstream.yaml"

// Loader reads the configuration of an application: a YAML file, then
// MILLSTREAM_* environment variables, which override the file. The zero
// value reads ./millstream.yaml (when it exists) and the process
// environment. [Module] runs one with the names of the registered handlers.
type Loader struct {
	// File is the path of the YAML file. Default [DefaultConfigFile], which
	// may be absent; a file named here or in MILLSTREAM_CONFIG must exist.
	// MILLSTREAM_CONFIG, when set, overrides File.
	File string
	// Environ is the environment, in the form of os.Environ. Default:
	// os.Environ().
	Environ []string
	// Functions are the names of the registered handlers. With the function
	// definition they give the binding names ("<fn>-in-0", "<fn>-out-0")
	// that MILLSTREAM_BINDINGS_* variables are matched against.
	Functions []string
	// Bindings are more binding names to match variables against, such as
	// the bridge bindings.
	Bindings []string
}

// Loaded is a loaded configuration.
type Loaded struct {
	// Config is the configuration, without defaults applied.
	Config stream.Config
	// File is the file that was read; empty when there was none.
	File string
	// Sources says where each key that was set came from: "path:line" or
	// "env NAME". Keys are full ("millstream.bindings.x-in-0.group"); the
	// entry of a binding or binder itself ("millstream.bindings.x-in-0") is
	// where it first appeared.
	Sources map[string]string
}

// Annotate rewrites an error of sdk/stream that names configuration keys
// (such as [stream.App.Start]'s) so that each key is preceded by where it
// was set. The result wraps err.
func (l *Loaded) Annotate(err error) error { return annotate(err, l.Sources) }

// Load reads the file and the environment into a [stream.Config] and checks
// it with [stream.Config.Validate]. Every problem is reported, each as a
// [*ConfigError] naming the key, where it was set and the fix; they are
// joined with errors.Join.
func (l Loader) Load() (*Loaded, error) {
	environ := l.Environ
	if environ == nil {
		environ = os.Environ()
	}
	env := parseEnviron(environ)
	st := &loadState{out: &Loaded{Sources: make(map[string]string)}}

	path, required := l.File, l.File != ""
	if p, ok := env[EnvConfigFile]; ok && p != "" {
		path, required = p, true
	}
	if path == "" {
		path = DefaultConfigFile
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		st.out.File = path
		st.file(path, data)
	case errors.Is(err, fs.ErrNotExist) && !required:
	default:
		return nil, fmt.Errorf("streamfx: read configuration: %w (set %s or the file option to an existing file)", err, EnvConfigFile)
	}
	st.env(env, l.Functions, l.Bindings)
	if len(st.errs) > 0 {
		return nil, fmt.Errorf("streamfx: invalid configuration:\n%w", errors.Join(st.errs...))
	}
	if err := st.out.Config.Validate(); err != nil {
		return nil, fmt.Errorf("streamfx: invalid configuration:\n%w", st.out.Annotate(err))
	}
	return st.out, nil
}

// loadState collects the configuration and every problem found.
type loadState struct {
	out  *Loaded
	errs []error
}

func (st *loadState) fail(source, key string, format string, args ...any) {
	st.errs = append(st.errs, &ConfigError{Source: source, Key: key, Err: fmt.Errorf(format, args...)})
}

func (st *loadState) setSource(key, source string) {
	if _, ok := st.out.Sources[key]; !ok {
		st.out.Sources[key] = source
	}
}

// set applies one scalar value of a key below "millstream." (not of a
// binder), found at source.
func (st *loadState) set(source, key, value string) {
	full := "millstream." + key
	if err := st.out.Config.Set(key, value); err != nil {
		st.errs = append(st.errs, &ConfigError{Source: source, Key: full,
			Err: fmt.Errorf("%q is not valid; write %s (%w)", value, kindOf(key).example(), innermost(err))})
		return
	}
	st.out.Sources[full] = source
}

// kindOf is the syntax of a key's value.
func kindOf(key string) valueKind {
	if rest, ok := strings.CutPrefix(key, "bindings."); ok {
		spec, _ := propertySpec(rest[strings.LastIndexByte(rest, '.')+1:])
		return spec.kind
	}
	spec, _ := topSpec(key)
	return spec.kind
}

// innermost is the error at the end of err's chain, such as strconv's.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// setBinder stores one value of a binder's settings.
func (st *loadState) setBinder(source, binder, key string, value any) {
	c := &st.out.Config
	if c.Binders == nil {
		c.Binders = make(map[string]stream.BinderConfig)
	}
	if c.Binders[binder] == nil {
		c.Binders[binder] = stream.BinderConfig{}
	}
	c.Binders[binder][key] = value
	st.out.Sources["millstream.binders."+binder+"."+key] = source
}

// file reads the YAML document. Keys are walked one by one, so that an
// unknown key is reported with its line and the nearest known key.
func (st *loadState) file(path string, data []byte) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		st.errs = append(st.errs, &ConfigError{Source: path, Err: fmt.Errorf("not valid YAML: %w", err)})
		return
	}
	if len(doc.Content) == 0 {
		return // empty file
	}
	at := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d", path, n.Line) }
	root := resolve(doc.Content[0])
	if isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		st.fail(at(root), "", "want a mapping with a millstream: section, got %s", kindName(root))
		return
	}
	st.mapping(root, "", at, func(k, v *yaml.Node) {
		if k.Value != "millstream" {
			st.fail(at(k), k.Value, "unknown key; %s", didYouMean(k.Value, []string{"millstream"}, "top-level keys"))
			return
		}
		st.millstream(v, at)
	})
}

// millstreamKeys are the keys directly below millstream; function.definition
// may also be written as one key.
var millstreamKeys = []string{"application", "function.definition", "default-binder", "shutdown-timeout", "dynamic-destination-cache-size", "binders", "bindings"}

func (st *loadState) millstream(n *yaml.Node, at func(*yaml.Node) string) {
	if !st.wantMapping(n, "millstream", at) {
		return
	}
	st.mapping(n, "millstream", at, func(k, v *yaml.Node) {
		key := k.Value
		switch key {
		case "binders":
			st.binders(v, at)
		case "bindings":
			st.bindings(v, at)
		case "function":
			if !st.wantMapping(v, "millstream.function", at) {
				return
			}
			st.mapping(v, "millstream.function", at, func(k, v *yaml.Node) {
				if k.Value != "definition" {
					st.fail(at(k), "millstream.function."+k.Value, "unknown key; %s", didYouMean(k.Value, []string{"definition"}, "keys"))
					return
				}
				st.scalar("function.definition", v, at)
			})
		default:
			if _, ok := topSpec(key); !ok {
				st.fail(at(k), "millstream."+key, "unknown key; %s", didYouMean(key, millstreamKeys, "keys"))
				return
			}
			st.scalar(key, v, at)
		}
	})
}

func (st *loadState) scalar(key string, v *yaml.Node, at func(*yaml.Node) string) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.ScalarNode {
		st.fail(at(v), "millstream."+key, "want a single value, got %s", kindName(v))
		return
	}
	st.set(at(v), key, v.Value)
}

func (st *loadState) bindings(n *yaml.Node, at func(*yaml.Node) string) {
	if !st.wantMapping(n, "millstream.bindings", at) {
		return
	}
	keys := stream.PropertyKeys()
	st.mapping(n, "millstream.bindings", at, func(k, v *yaml.Node) {
		name := k.Value
		prefix := "millstream.bindings." + name
		if name == "" {
			st.fail(at(k), "millstream.bindings", "a binding name is empty")
			return
		}
		st.setSource(prefix, at(k))
		if st.out.Config.Bindings == nil {
			st.out.Config.Bindings = make(map[string]stream.BindingProperties)
		}
		if _, ok := st.out.Config.Bindings[name]; !ok {
			st.out.Config.Bindings[name] = stream.BindingProperties{}
		}
		if !st.wantMapping(v, prefix, at) {
			return
		}
		st.mapping(v, prefix, at, func(pk, pv *yaml.Node) {
			if !slices.Contains(keys, pk.Value) {
				st.fail(at(pk), prefix+"."+pk.Value, "unknown binding property; %s", didYouMean(pk.Value, keys, "properties"))
				return
			}
			st.scalar("bindings."+name+"."+pk.Value, pv, at)
		})
	})
}

func (st *loadState) binders(n *yaml.Node, at func(*yaml.Node) string) {
	if !st.wantMapping(n, "millstream.binders", at) {
		return
	}
	st.mapping(n, "millstream.binders", at, func(k, v *yaml.Node) {
		name := k.Value
		prefix := "millstream.binders." + name
		st.setSource(prefix, at(k))
		c := &st.out.Config
		if c.Binders == nil {
			c.Binders = make(map[string]stream.BinderConfig)
		}
		if c.Binders[name] == nil {
			c.Binders[name] = stream.BinderConfig{}
		}
		if !st.wantMapping(v, prefix, at) {
			return
		}
		st.mapping(v, prefix, at, func(bk, bv *yaml.Node) {
			var val any
			if err := bv.Decode(&val); err != nil {
				st.fail(at(bv), prefix+"."+bk.Value, "%v", err)
				return
			}
			st.setBinder(at(bk), name, bk.Value, val)
		})
	})
}

// wantMapping reports whether n is a mapping (null counts as an empty one,
// for which it returns false without complaint).
func (st *loadState) wantMapping(n *yaml.Node, key string, at func(*yaml.Node) string) bool {
	n = resolve(n)
	if isNull(n) {
		return false
	}
	if n.Kind != yaml.MappingNode {
		st.fail(at(n), key, "want a mapping (keys below it), got %s", kindName(n))
		return false
	}
	return true
}

// mapping calls fn for each key and value of n, reporting keys that are not
// strings and keys set twice.
func (st *loadState) mapping(n *yaml.Node, key string, at func(*yaml.Node) string, fn func(k, v *yaml.Node)) {
	n = resolve(n)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			st.fail(at(k), key, "a key is %s; keys are names", kindName(k))
			continue
		}
		full := k.Value
		if key != "" {
			full = key + "." + k.Value
		}
		if line, ok := seen[k.Value]; ok {
			st.fail(at(k), full, "set twice (first on line %d); keep one", line)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return resolve(n.Content[0])
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	default:
		return "nothing"
	}
}
