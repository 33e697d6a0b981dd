package record_test

import (
	"os"
	"path/filepath"
	"testing"
)

// realBatches returns the batches captured from real clients under
// testdata/real (one file per batch), if any.
func realBatches(t testing.TB) [][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "real", "*.bin"))
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}
