package rabbit_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// TestReconnect kills every connection on the broker side and checks that
// the binder reports it, reconnects, declares its topology again (the
// anonymous queue died with the connection) and that messages flow again to
// a group and to an anonymous subscription.
func TestReconnect(t *testing.T) {
	if raceDetector {
		t.Skip("watermill-amqp v3 has a data race on reconnect (ThreeDotsLabs/watermill#693); run without -race")
	}
	b := newBinder(t)
	d := dest()
	_, group := members(t, b, subscription(d, "g"), 1)
	_, anon := members(t, b, subscription(d, ""), 1)
	p := publisher(t, b, d)
	if err := p.Publish(d, message.NewMessage("before", nil)); err != nil {
		t.Fatal(err)
	}
	for _, ch := range [][]<-chan *message.Message{group, anon} {
		receive(t, ch[0]).Ack()
	}
	if err := b.Health(t.Context()); err != nil {
		t.Fatalf("Health before: %v", err)
	}

	if err := broker(t).CloseAllConnections(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Send until both subscriptions have seen a message sent after the
	// kill: the anonymous queue only exists again once its member has
	// re-declared it.
	got := map[string]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; !(got["g"] && got["anon"]); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("after the connections were closed: group got a message %v, anonymous %v", got["g"], got["anon"])
		}
		if err := p.Publish(d, message.NewMessage("after-"+strconv.Itoa(i), nil)); err != nil {
			t.Fatalf("Publish after reconnect: %v", err)
		}
		for name, ch := range map[string]<-chan *message.Message{"g": group[0], "anon": anon[0]} {
			select {
			case m := <-ch:
				m.Ack()
				if m.UUID == "before" || m.UUID == "" {
					t.Errorf("%s got %q after reconnect", name, m.UUID)
				}
				got[name] = true
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if err := b.Health(t.Context()); err != nil {
		t.Errorf("Health after reconnect: %v", err)
	}
}
