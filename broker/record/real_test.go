package record_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/millstream/millstream/broker/record"
)

// realBatches returns the batches captured from real clients under
// testdata/real (see its README), one per file.
func realBatches(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "real", "*.bin"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured batches in testdata/real: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".bin")] = b
	}
	return out
}

func TestRealClientBatches(t *testing.T) {
	type want struct {
		codec record.Compression
		keys  []string // "<nil>" for a null key
		idem  bool
	}
	wants := map[string]want{
		"franz-none-01":   {codec: record.CompressionNone, keys: []string{"key-0", "<nil>", "key-2", "<nil>", "key-4"}, idem: true},
		"franz-gzip-01":   {codec: record.CompressionGzip, idem: true},
		"franz-snappy-01": {codec: record.CompressionSnappy, idem: true},
		"franz-lz4-01":    {codec: record.CompressionLZ4, idem: true},
		"franz-zstd-01":   {codec: record.CompressionZstd, idem: true},
		"kcat-01":         {codec: record.CompressionNone, keys: []string{"k1", "k2", ""}},
		"kafka-python-01": {codec: record.CompressionNone, keys: []string{"<nil>", "k1", "k2"}},
	}
	real := realBatches(t)
	for name, w := range wants {
		t.Run(name, func(t *testing.T) {
			b, ok := real[name]
			if !ok {
				t.Fatalf("testdata/real/%s.bin missing", name)
			}
			parts, err := record.Split(b)
			if err != nil || len(parts) != 1 {
				t.Fatalf("Split = %d parts, %v", len(parts), err)
			}
			h, err := record.Validate(b)
			if err != nil {
				t.Fatalf("Validate = %v", err)
			}
			if h.Compression() != w.codec || (h.ProducerID >= 0) != w.idem {
				t.Fatalf("header %+v: codec %v", h, h.Compression())
			}
			if w.codec != record.CompressionNone {
				return
			}
			var keys []string
			for r, err := range record.Records(b) {
				if err != nil {
					t.Fatal(err)
				}
				k := string(r.Key)
				if r.Key == nil {
					k = "<nil>"
				}
				keys = append(keys, k)
			}
			if strings.Join(keys, ",") != strings.Join(w.keys, ",") {
				t.Fatalf("keys = %q, want %q", keys, w.keys)
			}
		})
	}
}
