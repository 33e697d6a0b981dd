package stream

import (
	"fmt"
	"strings"
)

// ParseDefinition splits a function definition ("a;b", "parse|enrich;audit")
// into its bound units, each a list of handler names composed left to right.
// An empty definition gives no units. Blank names are errors.
func ParseDefinition(def string) ([][]string, error) {
	def = strings.TrimSpace(def)
	if def == "" {
		return nil, nil
	}
	var out [][]string
	for _, unit := range strings.Split(def, ";") {
		var names []string
		for _, n := range strings.Split(unit, "|") {
			n = strings.TrimSpace(n)
			if n == "" {
				return nil, fmt.Errorf("%q has an empty function name; write names separated by ';' (several) or '|' (composition)", def)
			}
			names = append(names, n)
		}
		out = append(out, names)
	}
	return out, nil
}

// InputBinding is the name of input i of function fn: "<fn>-in-<i>".
func InputBinding(fn string, i int) string { return fmt.Sprintf("%s-in-%d", fn, i) }

// OutputBinding is the name of output i of function fn: "<fn>-out-<i>".
func OutputBinding(fn string, i int) string { return fmt.Sprintf("%s-out-%d", fn, i) }
