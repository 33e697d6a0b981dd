package rabbit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/rabbit"
)

// BenchmarkPublishConsume sends 1 KiB random payloads through one
// destination to one group, with publisher confirms and persistent
// messages (or transient ones), at the given per-member prefetch. Each
// Publish waits for its confirm, so one sender is bound by the broker's
// confirm latency.
func BenchmarkPublishConsume(b *testing.B) {
	for _, c := range []rabbit.Config{{Prefetch: 1}, {Prefetch: 32}, {Prefetch: 32, Transient: true}} {
		name := "prefetch=" + strconv.Itoa(c.Prefetch)
		if c.Transient {
			name += "/transient"
		}
		b.Run(name, func(b *testing.B) {
			c.URL = broker(b).URL
			bd, err := rabbit.New(context.Background(), c)
			if err != nil {
				b.Fatal(err)
			}
			defer bd.Close()
			d := dest()
			_, chans := members(b, bd, subscription(d, "bench"), 1)
			p := publisher(b, bd, d)
			payloads := make([][]byte, 64)
			for i := range payloads {
				payloads[i] = randomBytes(1024)
			}
			b.SetBytes(1024)
			b.ResetTimer()
			errc := make(chan error, 1)
			go func() {
				for i := range b.N {
					if err := p.Publish(d, message.NewMessage(strconv.Itoa(i), payloads[i%len(payloads)])); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			for range b.N {
				select {
				case m := <-chans[0]:
					m.Ack()
				case err := <-errc:
					if err != nil {
						b.Fatal(err)
					}
					errc = nil
					m := <-chans[0]
					m.Ack()
				case <-time.After(waitFor):
					b.Fatal("no message within", waitFor)
				}
			}
			b.StopTimer()
			if errc != nil {
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
