package record_test

import (
	"math/rand/v2"
	"testing"

	"github.com/millstream/millstream/broker/record"
)

func BenchmarkValidate(b *testing.B) {
	for _, bc := range []struct {
		name      string
		n, valLen int
	}{{"1x1KiB", 1, 1024}, {"16x1KiB", 16, 1024}, {"100x100B", 100, 100}} {
		b.Run(bc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			recs := make([]record.Record, bc.n)
			for i := range recs {
				v := make([]byte, bc.valLen)
				for j := range v {
					v[j] = byte(rng.Uint32())
				}
				recs[i] = record.Record{Timestamp: int64(i), Value: v}
			}
			batch, err := record.Build(0, recs...)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := record.Validate(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
