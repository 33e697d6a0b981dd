package rabbit_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/millstream/millstream/sdk/stream"
)

// BenchmarkUppercase runs the uppercase function of samples/uppercase
// through the SDK on RabbitMQ, beside binder/kafka's BenchmarkUppercase:
// b.N CloudEvents with 256 random lower-case bytes are published to words
// by a plain AMQP client, the function (concurrency 4, prefetch 1 per
// member) sends each upper-cased to upper-words with a publisher confirm,
// and a consumer counts them. The rate runs from the first transform to the
// last output received. Reported: msgs/s.
func BenchmarkUppercase(b *testing.B) {
	words, upper := dest()+".words", dest()+".upper"
	var first sync.Once
	var start time.Time
	var got atomic.Int64
	done := make(chan struct{})
	n := int64(b.N)
	uppercase := stream.Function("uppercase", func(_ context.Context, s string) (string, error) {
		first.Do(func() { start = time.Now() })
		return strings.ToUpper(s), nil
	})
	collect := stream.Consumer("collect", func(context.Context, string) error {
		if got.Add(1) == n {
			close(done)
		}
		return nil
	})
	cfg := stream.Config{Bindings: map[string]stream.BindingProperties{
		"uppercase-in-0":  {Destination: words, Group: "uppercase", Concurrency: 4},
		"uppercase-out-0": {Destination: upper},
		"collect-in-0":    {Destination: upper, Group: "collect", Concurrency: 4},
	}}
	app := stream.New(cfg, stream.WithBinder("rabbit", newBinder(b)))
	if err := app.Register(uppercase, collect); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer app.Stop(context.Background())

	ch := rawChannel(b)
	b.SetBytes(256)
	b.ResetTimer()
	for range b.N {
		body := make([]byte, 256)
		for j := range body {
			body[j] = 'a' + byte(rand.IntN(26))
		}
		id := watermill.NewUUID()
		err := ch.PublishWithContext(ctx, words, words, false, false, amqp.Publishing{
			ContentType: "text/plain", MessageId: id, Body: body, DeliveryMode: amqp.Persistent,
			Headers: amqp.Table{"cloudEvents:specversion": "1.0", "cloudEvents:id": id,
				"cloudEvents:source": "bench", "cloudEvents:type": "millstream.string"},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		b.Fatalf("%d of %d messages came out of upper-words", got.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
}
