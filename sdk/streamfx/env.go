package streamfx

import (
	"slices"
	"strings"

	"github.com/millstream/millstream/sdk/stream"
)

// parseEnviron keeps the MILLSTREAM_* variables of environ.
func parseEnviron(environ []string) map[string]string {
	out := make(map[string]string)
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) {
			out[k] = v
		}
	}
	return out
}

// env applies the MILLSTREAM_* variables over what the file set.
//
// Keys hold "." and "-", which both become "_" in a variable's name, so a
// name cannot be split back on its own. It is matched instead:
//
//   - the top-level keys by their exact variable name;
//   - MILLSTREAM_BINDINGS_<B>_<P> against every known binding name B (bound
//     functions' <fn>-in-0 and <fn>-out-0, bridge bindings, bindings in the
//     file) and every property P;
//   - MILLSTREAM_BINDERS_<B>_<K> against the binders named in the file,
//     default-binder and the bindings' binder, else B is the first word.
//     K is the key in the file whose variable name matches, else the rest
//     in lower case with "_" as "-". A value with commas is a list.
func (st *loadState) env(env map[string]string, functions, extraBindings []string) {
	names := make([]string, 0, len(env))
	for k := range env {
		if k != EnvConfigFile {
			names = append(names, k)
		}
	}
	slices.Sort(names)

	// Top-level keys first: function.definition decides the binding names.
	var rest []string
	for _, name := range names {
		key, ok := topKeyOfEnv(name)
		if !ok {
			rest = append(rest, name)
			continue
		}
		st.set("env "+name, key, env[name])
	}
	bindings := st.knownBindings(functions, extraBindings)
	binders := st.knownBinders()
	for _, name := range rest {
		src := "env " + name
		switch {
		case strings.HasPrefix(name, EnvPrefix+"BINDINGS_"):
			st.envBinding(name, env[name], bindings)
		case strings.HasPrefix(name, EnvPrefix+"BINDERS_"):
			st.envBinder(name, env[name], binders)
		default:
			st.fail(src, "", "unknown variable; %s", envHint(name, bindings))
		}
	}
}

func topKeyOfEnv(name string) (string, bool) {
	for _, k := range topKeys {
		if EnvName(k.key) == name {
			return k.key, true
		}
	}
	return "", false
}

// knownBindings is every binding name a variable may refer to, sorted.
func (st *loadState) knownBindings(functions, extra []string) []string {
	set := map[string]bool{}
	units, err := stream.ParseDefinition(st.out.Config.FunctionDefinition)
	if err != nil || units == nil {
		for _, f := range functions {
			units = append(units, []string{f})
		}
	}
	for _, u := range units {
		fn := strings.Join(u, "")
		set[stream.InputBinding(fn, 0)] = true
		set[stream.OutputBinding(fn, 0)] = true
	}
	for _, b := range extra {
		set[b] = true
	}
	for b := range st.out.Config.Bindings {
		set[b] = true
	}
	out := make([]string, 0, len(set))
	for b := range set {
		out = append(out, b)
	}
	slices.Sort(out)
	return out
}

func (st *loadState) knownBinders() []string {
	c := &st.out.Config
	set := map[string]bool{}
	for b := range c.Binders {
		set[b] = true
	}
	if c.DefaultBinder != "" {
		set[c.DefaultBinder] = true
	}
	for _, p := range c.Bindings {
		if p.Binder != "" {
			set[p.Binder] = true
		}
	}
	out := make([]string, 0, len(set))
	for b := range set {
		out = append(out, b)
	}
	slices.Sort(out)
	return out
}

func (st *loadState) envBinding(name, value string, bindings []string) {
	src := "env " + name
	rest := strings.TrimPrefix(name, EnvPrefix+"BINDINGS_")
	props := stream.PropertyKeys()
	type match struct{ binding, prop string }
	var matches []match
	var bindingOnly []string // bindings that match, with an unknown property
	for _, b := range bindings {
		eb := envPart(b) + "_"
		tail, ok := strings.CutPrefix(rest, eb)
		if !ok {
			continue
		}
		found := false
		for _, p := range props {
			if envPart(p) == tail {
				matches = append(matches, match{b, p})
				found = true
			}
		}
		if !found {
			bindingOnly = append(bindingOnly, b)
		}
	}
	switch {
	case len(matches) == 1:
		m := matches[0]
		st.setSource("millstream.bindings."+m.binding, src)
		st.set(src, "bindings."+m.binding+"."+m.prop, value)
	case len(matches) > 1:
		var keys []string
		for _, m := range matches {
			keys = append(keys, "millstream.bindings."+m.binding+"."+m.prop)
		}
		st.fail(src, "", "ambiguous: it can set %s; set the key in the file instead", strings.Join(keys, " or "))
	case len(bindingOnly) > 0:
		b := bindingOnly[len(bindingOnly)-1]
		var candidates []string
		for _, p := range props {
			candidates = append(candidates, EnvName("bindings."+b+"."+p))
		}
		hint := "the name ends in a property: " + strings.Join(envParts(props), ", ")
		if c := closest(name, candidates); c != "" {
			hint = "did you mean " + c + "?"
		}
		st.fail(src, "", "unknown property of binding %s; %s", b, hint)
	default:
		// Name the binding the variable seems to mean, when a property
		// ends it.
		for _, p := range props {
			if head, ok := strings.CutSuffix(rest, "_"+envPart(p)); ok && head != "" {
				st.fail(src, "", "names no known binding (%s); %s", head, didYouMean(head, envParts(bindings), "bindings (as in variable names)"))
				return
			}
		}
		st.fail(src, "", "want %s<BINDING>_<PROPERTY>; %s", EnvPrefix+"BINDINGS_", envHint(name, bindings))
	}
}

func (st *loadState) envBinder(name, value string, binders []string) {
	src := "env " + name
	rest := strings.TrimPrefix(name, EnvPrefix+"BINDERS_")
	binder, tail := "", ""
	for _, b := range binders { // the longest known name wins
		if t, ok := strings.CutPrefix(rest, envPart(b)+"_"); ok && t != "" && len(b) > len(binder) {
			binder, tail = b, t
		}
	}
	if binder == "" {
		var ok bool
		binder, tail, ok = strings.Cut(rest, "_")
		if !ok || binder == "" || tail == "" {
			st.fail(src, "", "want %s<BINDER>_<KEY>, e.g. %sKAFKA_BROKERS", EnvPrefix+"BINDERS_", EnvPrefix+"BINDERS_")
			return
		}
		binder = strings.ToLower(binder)
	}
	key := strings.ReplaceAll(strings.ToLower(tail), "_", "-")
	for k := range st.out.Config.Binders[binder] {
		if envPart(k) == tail {
			key = k
		}
	}
	st.setSource("millstream.binders."+binder, src)
	var v any = value
	if strings.Contains(value, ",") {
		var list []any
		for _, item := range strings.Split(value, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		v = list
	}
	st.setBinder(src, binder, key, v)
}

func envParts(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = envPart(n)
	}
	return out
}

// knownEnvNames is every variable name that sets a key, for suggestions.
func knownEnvNames(bindings []string) []string {
	var out []string
	for _, k := range topKeys {
		out = append(out, EnvName(k.key))
	}
	for _, b := range bindings {
		for _, p := range stream.PropertyKeys() {
			out = append(out, EnvName("bindings."+b+"."+p))
		}
	}
	return out
}

// envHint suggests the variable nearest to name, or lists the forms of
// variable names.
func envHint(name string, bindings []string) string {
	if c := closest(name, knownEnvNames(bindings)); c != "" {
		return "did you mean " + c + "?"
	}
	var forms []string
	for _, k := range topKeys {
		forms = append(forms, EnvName(k.key))
	}
	forms = append(forms, EnvPrefix+"BINDINGS_<BINDING>_<PROPERTY>", EnvPrefix+"BINDERS_<BINDER>_<KEY>")
	return "variables are " + strings.Join(forms, ", ")
}
