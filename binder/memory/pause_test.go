package memory_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

func subscribe(t *testing.T, b *memory.Binder, dest, group string, members int) (message.Subscriber, <-chan *message.Message) {
	t.Helper()
	props := stream.BindingProperties{PartitionCount: 2, Concurrency: members}.WithDefaults(dest)
	sub, err := b.Subscriber(t.Context(), stream.Subscription{Destination: dest, Group: group, StartOffset: stream.Earliest, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	all := make(chan *message.Message)
	for range members {
		ch, err := sub.Subscribe(t.Context(), dest)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for m := range ch {
				all <- m
			}
		}()
	}
	return sub, all
}

// receiveAcked reads n messages from ch, acking each, and returns their
// payloads by partition.
func receiveAcked(t *testing.T, ch <-chan *message.Message, n int) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	deadline := time.After(5 * time.Second)
	for range n {
		select {
		case m := <-ch:
			p := m.Metadata[cloudevent.MetadataPartition]
			out[p] = append(out[p], string(m.Payload))
			m.Ack()
		case <-deadline:
			t.Fatalf("got %v, want %d messages", out, n)
		}
	}
	return out
}

// TestSubscriberPauseResume: a paused subscriber hands out nothing while
// another group reads everything; after Resume it goes on in order, with
// nothing lost or repeated, and its members kept their partitions.
func TestSubscriberPauseResume(t *testing.T) {
	b := memory.New()
	defer b.Close()
	const dest, n = "paused", 20
	sub, got := subscribe(t, b, dest, "g", 2)
	_, witness := subscribe(t, b, dest, "witness", 1)
	pub, err := b.Publisher(t.Context(), stream.Publication{Destination: dest, Properties: stream.BindingProperties{PartitionCount: 2}.WithDefaults(dest)})
	if err != nil {
		t.Fatal(err)
	}
	send := func(from, to int) {
		for i := from; i < to; i++ {
			m := message.NewMessage(strconv.Itoa(i), []byte(strconv.Itoa(i)))
			m.Metadata.Set(cloudevent.MetadataPartition, strconv.Itoa(i%2))
			if err := pub.Publish(dest, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(0, 2)
	receiveAcked(t, got, 2)
	receiveAcked(t, witness, 2)

	pauser, ok := sub.(stream.Pauser)
	if !ok {
		t.Fatalf("%T does not implement stream.Pauser", sub)
	}
	if err := pauser.Pause(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := pauser.Pause(t.Context()); err != nil {
		t.Fatalf("second Pause = %v, want nil", err)
	}
	send(2, n)
	receiveAcked(t, witness, n-2)
	select {
	case m := <-got:
		t.Fatalf("paused subscriber handed out %q", m.Payload)
	case <-time.After(50 * time.Millisecond):
	}
	if err := pauser.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	byPart := receiveAcked(t, got, n-2)
	for p, vs := range byPart {
		for i := 1; i < len(vs); i++ {
			a, _ := strconv.Atoi(vs[i-1])
			c, _ := strconv.Atoi(vs[i])
			if c != a+2 {
				t.Fatalf("partition %s after resume: %v, want consecutive messages of the partition", p, vs)
			}
		}
		if first, _ := strconv.Atoi(vs[0]); first != 2+mustAtoi(p) {
			t.Fatalf("partition %s after resume starts at %s, want %d", p, vs[0], 2+mustAtoi(p))
		}
	}
	select {
	case m := <-got:
		t.Fatalf("extra message %q after resume", m.Payload)
	case <-time.After(20 * time.Millisecond):
	}
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("partition %q: %v", s, err))
	}
	return n
}

// TestPauseWithMessageOut: Pause returns only once no message is on
// its way to a member, so that nothing is handed out after it returns; a
// message already out is settled as usual.
func TestPauseWithMessageOut(t *testing.T) {
	b := memory.New()
	defer b.Close()
	sub, got := subscribe(t, b, "inhand", "g", 1)
	pub, _ := b.Publisher(t.Context(), stream.Publication{Destination: "inhand", Properties: stream.BindingProperties{}.WithDefaults("inhand")})
	m1, m2 := message.NewMessage("1", []byte("1")), message.NewMessage("2", []byte("2"))
	m1.Metadata.Set(cloudevent.MetadataPartition, "0")
	m2.Metadata.Set(cloudevent.MetadataPartition, "0")
	if err := pub.Publish("inhand", m1, m2); err != nil {
		t.Fatal(err)
	}
	var first *message.Message
	select {
	case first = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	if err := sub.(stream.Pauser).Pause(t.Context()); err != nil {
		t.Fatal(err)
	}
	first.Nack() // redelivered, but not before Resume
	select {
	case m := <-got:
		t.Fatalf("paused subscriber handed out %q", m.Payload)
	case <-time.After(50 * time.Millisecond):
	}
	sub.(stream.Pauser).Resume(t.Context())
	if vs := receiveAcked(t, got, 2)["0"]; len(vs) != 2 || vs[0] != "1" || vs[1] != "2" {
		t.Fatalf("after resume got %v, want [1 2]", vs)
	}
}

func TestPauseAfterClose(t *testing.T) {
	b := memory.New()
	defer b.Close()
	sub, _ := subscribe(t, b, "closed", "g", 1)
	sub.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := sub.(stream.Pauser).Pause(ctx); err == nil {
		t.Fatal("Pause after Close = nil, want an error")
	}
	if err := sub.(stream.Pauser).Resume(ctx); err == nil {
		t.Fatal("Resume after Close = nil, want an error")
	}
}
