package streamfx

import "strings"

// ConfigError is one problem in the configuration: where it was found, the
// key, and what is wrong with how to fix it. Load returns them joined
// (errors.Join); use errors.As to reach one.
type ConfigError struct {
	// Source is where the key was set: "path/millstream.yaml:12" or
	// "env MILLSTREAM_BINDINGS_X_IN_0_GROUP". Empty when it is not known.
	Source string
	// Key is the key, "millstream.bindings.uppercase-in-0.group"; empty when
	// an environment variable matches no key.
	Key string
	// Err says what is wrong and how to fix it.
	Err error
}

func (e *ConfigError) Error() string {
	var parts []string
	if e.Source != "" {
		parts = append(parts, e.Source)
	}
	if e.Key != "" {
		parts = append(parts, e.Key)
	}
	parts = append(parts, e.Err.Error())
	return strings.Join(parts, ": ")
}

func (e *ConfigError) Unwrap() error { return e.Err }

// sourcedError is an error of sdk/stream whose message names configuration
// keys, with the source of each key written in front of it.
type sourcedError struct {
	msg string
	err error
}

func (e *sourcedError) Error() string { return e.msg }
func (e *sourcedError) Unwrap() error { return e.err }

// annotate writes, in front of every "millstream.<key>:" in err's message,
// where that key (or the nearest enclosing key) was set. sdk/stream names
// keys in its errors but cannot know where they came from.
func annotate(err error, sources map[string]string) error {
	if err == nil || len(sources) == 0 {
		return err
	}
	lines := strings.Split(err.Error(), "\n")
	changed := false
	for i, line := range lines {
		at := strings.Index(line, "millstream.")
		if at < 0 {
			continue
		}
		end := strings.Index(line[at:], ": ")
		if end < 0 {
			continue
		}
		key := line[at : at+end]
		if strings.ContainsAny(key, " \t") {
			continue
		}
		src := sourceOf(key, sources)
		if src == "" {
			continue
		}
		lines[i] = line[:at] + src + ": " + line[at:]
		changed = true
	}
	if !changed {
		return err
	}
	return &sourcedError{msg: strings.Join(lines, "\n"), err: err}
}

// sourceOf finds the source of key or of the nearest key that encloses it.
func sourceOf(key string, sources map[string]string) string {
	for k := key; k != ""; {
		if s, ok := sources[k]; ok {
			return s
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return ""
}
