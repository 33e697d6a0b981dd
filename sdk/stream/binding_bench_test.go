package stream_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

const benchPayloadSize = 256

// benchPayloads are random lower-case strings: the handler upper-cases them.
func benchPayloads() []string {
	out := make([]string, 1024)
	for i := range out {
		b := make([]byte, benchPayloadSize)
		for j := range b {
			b[j] = 'a' + byte(rand.IntN(26))
		}
		out[i] = string(b)
	}
	return out
}

// BenchmarkFunctionBinding measures messages through a function binding on
// the memory binder: decode the CloudEvent, call the handler, encode and
// send its output. Compare with BenchmarkBareWatermillRouter, the same
// handler on a bare Watermill router over a GoChannel.
func BenchmarkFunctionBinding(b *testing.B) {
	payloads := benchPayloads()
	binder := memory.New()
	app := stream.New(stream.Config{Application: "bench", Bindings: map[string]stream.BindingProperties{
		"uppercase-in-0":  {Destination: "in", Group: "bench"},
		"uppercase-out-0": {Destination: "out"},
	}}, stream.WithBinder("memory", binder))
	if err := app.Register(stream.Function("uppercase", func(_ context.Context, in string) (string, error) {
		return strings.ToUpper(in), nil
	})); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	sub, err := binder.Subscriber(ctx, stream.Subscription{Destination: "out", Group: "reader", StartOffset: stream.Latest,
		Properties: stream.BindingProperties{}.WithDefaults("out")})
	if err != nil {
		b.Fatal(err)
	}
	out, err := sub.Subscribe(ctx, "out")
	if err != nil {
		b.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer app.Stop(ctx)
	defer sub.Close()
	pub, err := binder.Publisher(ctx, stream.Publication{Destination: "in", Properties: stream.BindingProperties{}.WithDefaults("in")})
	if err != nil {
		b.Fatal(err)
	}
	// The input messages are CloudEvents as another application sends them.
	templates := make([]*message.Message, len(payloads))
	for i, p := range payloads {
		e := event.New()
		e.SetID(watermill.NewUUID())
		e.SetSource("bench")
		e.SetType("millstream.string")
		e.SetDataContentType(cloudevent.Text)
		e.SetExtension(cloudevent.TraceparentExtension, cloudevent.NewTraceparent())
		e.DataEncoded = []byte(p)
		if templates[i], err = cloudevent.ToMessage(e, cloudevent.Binary, binder.Convention()); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(benchPayloadSize)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := range b.N {
			// The memory binder copies on Publish, so templates are reused.
			if err := pub.Publish("in", templates[i%len(templates)]); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	for range b.N {
		m := <-out
		m.Ack()
	}
	b.StopTimer()
}

// BenchmarkBareWatermillRouter is the baseline of BenchmarkFunctionBinding:
// the same handler on a Watermill router between GoChannel topics, with no
// envelope, codecs, retries or dead letters.
func BenchmarkBareWatermillRouter(b *testing.B) {
	payloads := benchPayloads()
	ctx := context.Background()
	ps := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	defer ps.Close()
	router, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	if err != nil {
		b.Fatal(err)
	}
	router.AddHandler("uppercase", "in", ps, "out", ps, func(msg *message.Message) ([]*message.Message, error) {
		return []*message.Message{message.NewMessage(watermill.NewUUID(), []byte(strings.ToUpper(string(msg.Payload))))}, nil
	})
	out, err := ps.Subscribe(ctx, "out")
	if err != nil {
		b.Fatal(err)
	}
	go router.Run(ctx)
	<-router.Running()
	defer router.Close()
	b.SetBytes(benchPayloadSize)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := range b.N {
			if err := ps.Publish("in", message.NewMessage(watermill.NewUUID(), []byte(payloads[i%len(payloads)]))); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	for range b.N {
		m := <-out
		m.Ack()
	}
	b.StopTimer()
}

// BenchmarkBareRouterOnMemoryBinder isolates the SDK's own cost: the same
// handler on a bare Watermill router over the memory binder's publisher and
// subscriber (same transport as BenchmarkFunctionBinding, no envelope,
// codecs or middleware).
func BenchmarkBareRouterOnMemoryBinder(b *testing.B) {
	payloads := benchPayloads()
	ctx := context.Background()
	binder := memory.New()
	defer binder.Close()
	props := stream.BindingProperties{}.WithDefaults("in")
	in, err := binder.Subscriber(ctx, stream.Subscription{Destination: "in", Group: "bench", StartOffset: stream.Latest, Properties: props})
	if err != nil {
		b.Fatal(err)
	}
	outPub, err := binder.Publisher(ctx, stream.Publication{Destination: "out", Properties: props})
	if err != nil {
		b.Fatal(err)
	}
	reader, err := binder.Subscriber(ctx, stream.Subscription{Destination: "out", Group: "reader", StartOffset: stream.Latest, Properties: props})
	if err != nil {
		b.Fatal(err)
	}
	defer reader.Close()
	out, err := reader.Subscribe(ctx, "out")
	if err != nil {
		b.Fatal(err)
	}
	router, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	if err != nil {
		b.Fatal(err)
	}
	router.AddHandler("uppercase", "in", in, "out", outPub, func(msg *message.Message) ([]*message.Message, error) {
		return []*message.Message{message.NewMessage(watermill.NewUUID(), []byte(strings.ToUpper(string(msg.Payload))))}, nil
	})
	go router.Run(ctx)
	<-router.Running()
	defer router.Close()
	pub, err := binder.Publisher(ctx, stream.Publication{Destination: "in", Properties: props})
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]*message.Message, len(payloads))
	for i, p := range payloads {
		msgs[i] = message.NewMessage(watermill.NewUUID(), []byte(p))
	}
	b.SetBytes(benchPayloadSize)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for i := range b.N {
			if err := pub.Publish("in", msgs[i%len(msgs)]); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	for range b.N {
		m := <-out
		m.Ack()
	}
	b.StopTimer()
}
