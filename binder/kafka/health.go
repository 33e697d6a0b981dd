package kafka

import (
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

// BindingLag is the consumer lag of one subscription.
type BindingLag struct {
	Destination string
	// Group is the consumer group; empty for an anonymous subscription.
	Group string
	// Partitions maps each partition held by this process to the number of
	// records written after the last acked one (as of the last fetch).
	Partitions map[int32]int64
	// Total is the sum over Partitions.
	Total int64
}

// Lag returns the lag of every open subscription, sorted by destination and
// group. The actuator shows it with the binder's health.
func (b *Binder) Lag() []BindingLag {
	b.mu.Lock()
	type entry struct {
		sub         *Subscriber
		dest, group string
	}
	var es []entry
	for sub, s := range b.subs {
		g := s.Group
		if s.Anonymous {
			g = ""
		}
		es = append(es, entry{sub, s.Destination, g})
	}
	b.mu.Unlock()
	out := make([]BindingLag, 0, len(es))
	for _, e := range es {
		l := BindingLag{Destination: e.dest, Group: e.group, Partitions: map[int32]int64{}}
		for _, ps := range e.sub.Lag() {
			for p, n := range ps {
				l.Partitions[p] += n
				l.Total += n
			}
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b BindingLag) int {
		if c := strings.Compare(a.Destination, b.Destination); c != 0 {
			return c
		}
		return strings.Compare(a.Group, b.Group)
	})
	return out
}

// HealthDetails is what an actuator can show beside the binder's status:
// its brokers, whether one answers, and the consumer lag of every
// subscription ("<destination>/<group>" to the total lag, and per
// partition).
func (b *Binder) HealthDetails(ctx context.Context) map[string]any {
	d := map[string]any{"brokers": b.Brokers(), "embedded": b.embedded != nil}
	if err := b.Health(ctx); err != nil {
		d["error"] = err.Error()
	}
	lag := map[string]any{}
	for _, l := range b.Lag() {
		name := l.Destination + "/" + l.Group
		if l.Group == "" {
			name = l.Destination + "/(anonymous)"
		}
		lag[name] = map[string]any{"total": l.Total, "partitions": l.Partitions}
	}
	d["lag"] = lag
	return d
}
