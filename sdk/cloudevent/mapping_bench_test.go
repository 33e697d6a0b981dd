package cloudevent_test

import (
	"math/rand/v2"
	"testing"

	"github.com/millstream/millstream/sdk/cloudevent"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

func BenchmarkToMessage(b *testing.B) {
	for _, mode := range []cloudevent.Mode{cloudevent.Binary, cloudevent.Structured} {
		b.Run(mode.String(), func(b *testing.B) {
			e := sample(cloudevent.OctetStream, randomBytes(1024))
			b.SetBytes(1024)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cloudevent.ToMessage(e, mode, cloudevent.Kafka()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFromMessage(b *testing.B) {
	for _, mode := range []cloudevent.Mode{cloudevent.Binary, cloudevent.Structured} {
		b.Run(mode.String(), func(b *testing.B) {
			m, err := cloudevent.ToMessage(sample(cloudevent.OctetStream, randomBytes(1024)), mode, cloudevent.Kafka())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(1024)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cloudevent.FromMessage(m, cloudevent.Kafka()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
