package memory_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

func props(dest string, p stream.BindingProperties) stream.BindingProperties {
	return p.WithDefaults(dest)
}

func next(t *testing.T, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
	}
	return nil
}

func publish(t *testing.T, p message.Publisher, dest string, payloads ...string) {
	t.Helper()
	for _, s := range payloads {
		if err := p.Publish(dest, message.NewMessage(s, []byte(s))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRetention(t *testing.T) {
	b := memory.New(memory.WithRetention(3))
	defer b.Close()
	ctx := context.Background()
	p, _ := b.Publisher(ctx, stream.Publication{Destination: "d", Properties: props("d", stream.BindingProperties{})})
	publish(t, p, "d", "0", "1", "2", "3", "4")
	sub, err := b.Subscriber(ctx, stream.Subscription{Destination: "d", Group: "late", StartOffset: stream.Earliest, Properties: props("d", stream.BindingProperties{})})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ch, _ := sub.Subscribe(ctx, "d")
	for _, want := range []string{"2", "3", "4"} {
		m := next(t, ch)
		m.Ack()
		if string(m.Payload) != want {
			t.Fatalf("got %s, want %s (the oldest two are past retention)", m.Payload, want)
		}
	}
}

func TestPartitionedInstances(t *testing.T) {
	b := memory.New()
	defer b.Close()
	ctx := context.Background()
	p, _ := b.Publisher(ctx, stream.Publication{Destination: "d", Properties: props("d", stream.BindingProperties{PartitionCount: 4})})
	if got := b.Destinations()["d"]; got != 4 {
		t.Fatalf("partitions = %d, want 4", got)
	}
	var chans []<-chan *message.Message
	for i := range 2 {
		bp := props("d", stream.BindingProperties{Group: "g", Partitioned: true, InstanceCount: 2, InstanceIndex: i})
		sub, err := b.Subscriber(ctx, stream.Subscription{Destination: "d", Group: "g", StartOffset: stream.Earliest, Properties: bp})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		ch, _ := sub.Subscribe(ctx, "d")
		chans = append(chans, ch)
	}
	for part := range 4 {
		m := message.NewMessage(strconv.Itoa(part), []byte(strconv.Itoa(part)))
		m.Metadata[cloudevent.MetadataPartition] = strconv.Itoa(part)
		if err := p.Publish("d", m); err != nil {
			t.Fatal(err)
		}
	}
	for i, ch := range chans {
		for range 2 {
			m := next(t, ch)
			m.Ack()
			part, _ := strconv.Atoi(m.Metadata[cloudevent.MetadataPartition])
			if part%2 != i {
				t.Errorf("instance %d got partition %d", i, part)
			}
		}
	}
}

func TestAnonymousGroupIsDeleted(t *testing.T) {
	b := memory.New()
	defer b.Close()
	ctx := context.Background()
	s := stream.Subscription{Destination: "d", Group: "anonymous.x", Anonymous: true, StartOffset: stream.Latest, Properties: props("d", stream.BindingProperties{})}
	sub, _ := b.Subscriber(ctx, s)
	ch, _ := sub.Subscribe(ctx, "d")
	p, _ := b.Publisher(ctx, stream.Publication{Destination: "d", Properties: props("d", stream.BindingProperties{})})
	publish(t, p, "d", "a")
	next(t, ch).Ack()
	sub.Close()
	publish(t, p, "d", "b")
	// Same name again: a new group at latest, not the old one resuming.
	sub, _ = b.Subscriber(ctx, s)
	defer sub.Close()
	ch, _ = sub.Subscribe(ctx, "d")
	publish(t, p, "d", "c")
	if m := next(t, ch); m.Ack() && string(m.Payload) != "c" {
		t.Fatalf("got %s, want c", m.Payload)
	}
}

func TestCloseGivesUpOnUnackedAfterDrainTimeout(t *testing.T) {
	b := memory.New(memory.WithDrainTimeout(10 * time.Millisecond))
	defer b.Close()
	ctx := context.Background()
	p, _ := b.Publisher(ctx, stream.Publication{Destination: "d", Properties: props("d", stream.BindingProperties{})})
	s := stream.Subscription{Destination: "d", Group: "g", Properties: props("d", stream.BindingProperties{})}
	sub, _ := b.Subscriber(ctx, s)
	ch, _ := sub.Subscribe(ctx, "d")
	publish(t, p, "d", "kept")
	next(t, ch) // never acked
	sub.Close()
	sub, _ = b.Subscriber(ctx, s)
	defer sub.Close()
	ch, _ = sub.Subscribe(ctx, "d")
	if m := next(t, ch); m.Ack() && string(m.Payload) != "kept" {
		t.Fatalf("got %q, want the unacked message again", m.Payload)
	}
}

func TestClosed(t *testing.T) {
	b := memory.New()
	ctx := context.Background()
	p, _ := b.Publisher(ctx, stream.Publication{Destination: "d", Properties: props("d", stream.BindingProperties{})})
	sub, _ := b.Subscriber(ctx, stream.Subscription{Destination: "d", Group: "g", Properties: props("d", stream.BindingProperties{})})
	ch, _ := sub.Subscribe(ctx, "d")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Fatal("subscription channel still open after the binder closed")
	}
	if err := p.Publish("d", message.NewMessage("x", nil)); !errors.Is(err, memory.ErrClosed) {
		t.Fatalf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Publisher(ctx, stream.Publication{Destination: "d"}); !errors.Is(err, memory.ErrClosed) {
		t.Fatalf("Publisher after Close = %v, want ErrClosed", err)
	}
	if _, err := sub.Subscribe(ctx, "other"); err == nil {
		t.Fatal("Subscribe to another destination succeeded")
	}
}

func TestPublisherCopies(t *testing.T) {
	b := memory.New()
	defer b.Close()
	ctx := context.Background()
	p, _ := b.Publisher(ctx, stream.Publication{Destination: "d", Properties: props("d", stream.BindingProperties{})})
	sub, _ := b.Subscriber(ctx, stream.Subscription{Destination: "d", Group: "g", Properties: props("d", stream.BindingProperties{})})
	defer sub.Close()
	ch, _ := sub.Subscribe(ctx, "d")
	payload := []byte("original")
	if err := p.Publish("d", message.NewMessage("x", payload)); err != nil {
		t.Fatal(err)
	}
	copy(payload, "mutated!")
	if m := next(t, ch); m.Ack() && string(m.Payload) != "original" {
		t.Fatalf("got %q: the binder kept the caller's slice", m.Payload)
	}
}
