package kafka

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// Health implements stream.HealthChecker: it fails when no broker answers.
func (b *Binder) Health(ctx context.Context) error {
	if err := b.producer.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: no broker of %s answers: %w", strings.Join(b.conn.Brokers, ","), err)
	}
	return nil
}

// BindingLag is the consumer lag of one subscription. Its JSON form is what
// the actuator shows per binding.
type BindingLag struct {
	// Binding is the name of the input binding that opened the
	// subscription (stream.BindingProperties.BindingName); empty for a
	// subscription opened without one.
	Binding     string `json:"-"`
	Destination string `json:"destination"`
	// Group is the consumer group; empty for an anonymous subscription.
	Group string `json:"group"`
	// Partitions maps each partition held by this process to the number of
	// records written after the last acked one (as of the last fetch).
	Partitions map[int32]int64 `json:"partitions"`
	// Total is the sum over Partitions.
	Total int64 `json:"total"`
}

// key is the name the lag is shown under: the binding's, else
// "<destination>/<group>" (or "<destination>/(anonymous)").
func (l BindingLag) key() string {
	switch {
	case l.Binding != "":
		return l.Binding
	case l.Group == "":
		return l.Destination + "/(anonymous)"
	default:
		return l.Destination + "/" + l.Group
	}
}

// Lag returns the lag of every open subscription, sorted by destination,
// group and binding. The actuator shows it with the binder's health.
func (b *Binder) Lag() []BindingLag {
	b.mu.Lock()
	type entry struct {
		sub                  *Subscriber
		binding, dest, group string
	}
	var es []entry
	for sub, s := range b.subs {
		g := s.Group
		if s.Anonymous {
			g = ""
		}
		es = append(es, entry{sub, s.Properties.BindingName, s.Destination, g})
	}
	b.mu.Unlock()
	out := make([]BindingLag, 0, len(es))
	for _, e := range es {
		l := BindingLag{Binding: e.binding, Destination: e.dest, Group: e.group, Partitions: map[int32]int64{}}
		for _, ps := range e.sub.Lag() {
			for p, n := range ps {
				l.Partitions[p] += n
				l.Total += n
			}
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b BindingLag) int {
		return cmp.Or(strings.Compare(a.Destination, b.Destination), strings.Compare(a.Group, b.Group),
			strings.Compare(a.Binding, b.Binding))
	})
	return out
}

// HealthDetails implements stream.HealthDetailer: the seed brokers, whether
// they are the embedded broker, and under "lag" the consumer lag of every
// open subscription ([BindingLag]) keyed by binding name ("<destination>/<group>"
// for a subscription opened without one). It makes no requests: the lag is
// as of each partition's last fetch.
func (b *Binder) HealthDetails(context.Context) map[string]any {
	lag := map[string]any{}
	for _, l := range b.Lag() {
		k := l.key()
		if prev, ok := lag[k].(BindingLag); ok {
			// Two subscriptions under one name (a binding restarting
			// while its old subscriber closes): one figure for the name.
			for p, n := range l.Partitions {
				prev.Partitions[p] += n
			}
			prev.Total += l.Total
			l = prev
		}
		lag[k] = l
	}
	return map[string]any{"brokers": b.Brokers(), "embedded": b.embedded != nil, "lag": lag}
}
