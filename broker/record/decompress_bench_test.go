package record_test

import (
	"math/rand/v2"
	"testing"

	"github.com/millstream/millstream/broker/record"
)

// BenchmarkDecompressedRecords measures opening a compressed batch and
// walking its records, what checking a compressed batch's inner records on
// the produce path would cost (compare BenchmarkValidate). Bytes are the
// uncompressed records section; payloads are random, so the figure is the
// decoders' speed on incompressible data.
func BenchmarkDecompressedRecords(b *testing.B) {
	for _, bc := range []struct {
		name      string
		n, valLen int
	}{{"16x1KiB", 16, 1024}, {"100x100B", 100, 100}} {
		rng := rand.New(rand.NewPCG(1, 2))
		recs := make([]record.Record, bc.n)
		for i := range recs {
			v := make([]byte, bc.valLen)
			for j := range v {
				v[j] = byte(rng.Uint32())
			}
			recs[i] = record.Record{Timestamp: int64(i), Value: v}
		}
		plain, err := record.Build(0, recs...)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range codecs {
			if c.xerial {
				continue
			}
			batch := compressed(b, plain, c.c, false)
			b.Run(bc.name+"/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(plain) - record.HeaderSize))
				b.ReportAllocs()
				for b.Loop() {
					n := 0
					for _, err := range record.DecompressedRecords(batch, 0) {
						if err != nil {
							b.Fatal(err)
						}
						n++
					}
					if n != bc.n {
						b.Fatalf("%d records", n)
					}
				}
			})
		}
	}
}
