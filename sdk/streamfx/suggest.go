package streamfx

import "strings"

// closest returns the candidate nearest to word, for a "did you mean"
// hint, or "" when none is near. Case, "-", "_" and "." are ignored, so that
// maxAttempts finds max-attempts; beyond that up to a third of the letters
// (at least one, at most three) may differ.
func closest(word string, candidates []string) string {
	w := fold(word)
	best, bestD := "", -1
	limit := min(max(1, len(w)/3), 3)
	for _, c := range candidates {
		d := distance(w, fold(c))
		if d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r != '-' && r != '_' && r != '.' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// didYouMean is the hint for an unknown name: a suggestion when one is near,
// else the list of what is known.
func didYouMean(word string, candidates []string, what string) string {
	if c := closest(word, candidates); c != "" {
		return "did you mean " + c + "?"
	}
	if len(candidates) == 0 {
		return "there are no " + what
	}
	return "known " + what + ": " + strings.Join(candidates, ", ")
}
