package stream

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Bridge sends messages to any destination from anywhere in the application:
// an HTTP handler, a scheduled job, a handler that fans out.
//
// The destination is a binding name or a plain destination. A binding name
// (an output binding of a bound function, a bridge binding declared with
// [WithBridgeBindings], or any key of Config.Bindings) sends with that
// binding's properties: its destination, binder, content type and
// partitioning. Anything else is a destination on the default binder with
// default properties. Producers are kept in a bounded set (the
// dynamic-destination-cache-size, default 10); the least recently used one is
// closed when a new one needs its place.
//
// Send is safe for concurrent use. It works between App.Start and App.Stop.
type Bridge struct {
	app *App

	// mu guards lru, byKey and closed.
	mu     sync.Mutex
	lru    *list.List // of *producer, most recently used first
	byKey  map[string]*list.Element
	closed bool
}

// producer is a cached publisher with its sender. refs counts Sends using it;
// an evicted producer is closed when the last one is done.
type producer struct {
	key     string
	dest    string
	pub     message.Publisher
	snd     *sender
	refs    int
	evicted bool
}

func newBridge(a *App) *Bridge {
	return &Bridge{app: a, lru: list.New(), byKey: make(map[string]*list.Element)}
}

// Send encodes v as a CloudEvent and publishes it to destination. v is a
// payload or a [Message] (to set attributes, headers or the key). Called
// from a handler (with its ctx), the message continues the handler's trace.
func (b *Bridge) Send(ctx context.Context, destination string, v any) error {
	if destination == "" {
		return errors.New("stream: bridge: empty destination")
	}
	out, err := newOutbound(v)
	if err != nil {
		return fmt.Errorf("stream: bridge: send to %s: nothing to send (nil value)", destination)
	}
	p, err := b.acquire(ctx, destination)
	if err != nil {
		return err
	}
	defer b.release(p)
	m, err := p.snd.message(ctx, &out)
	if err != nil {
		return fmt.Errorf("stream: bridge: %w", err)
	}
	m.SetContext(ctx)
	if err := p.pub.Publish(p.dest, m); err != nil {
		return fmt.Errorf("stream: bridge: send to %s: %w", p.dest, err)
	}
	b.app.metrics.MessageOut(destination)
	return nil
}

func (b *Bridge) acquire(ctx context.Context, destination string) (*producer, error) {
	b.app.mu.Lock()
	started := b.app.started
	b.app.mu.Unlock()
	if !started {
		return nil, fmt.Errorf("stream: bridge: send to %s: %w", destination, ErrNotStarted)
	}
	props := b.app.properties(destination)
	binder, binderName, err := b.app.binderFor(destination, props)
	if err != nil {
		return nil, fmt.Errorf("stream: bridge: %w", err)
	}
	key := binderName + "\x00" + destination

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("stream: bridge: send to %s: %w", destination, ErrClosed)
	}
	if el, ok := b.byKey[key]; ok {
		b.lru.MoveToFront(el)
		p := el.Value.(*producer)
		p.refs++
		return p, nil
	}
	// Opening under the lock keeps two Sends from opening the same
	// destination; a slow open delays other first Sends only.
	pub, err := binder.Publisher(ctx, Publication{Destination: props.Destination, Properties: props})
	if err != nil {
		return nil, fmt.Errorf("stream: bridge: open %s: %w", props.Destination, err)
	}
	p := &producer{key: key, dest: props.Destination, pub: pub, refs: 1,
		snd: &sender{app: b.app, binding: destination, props: props, conv: binder.Convention()}}
	b.byKey[key] = b.lru.PushFront(p)
	for b.lru.Len() > b.app.cfg.DynamicDestinationCacheSize {
		el := b.lru.Back()
		old := el.Value.(*producer)
		b.lru.Remove(el)
		delete(b.byKey, old.key)
		old.evicted = true
		if old.refs == 0 {
			b.closeProducer(old)
		}
	}
	return p, nil
}

func (b *Bridge) release(p *producer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p.refs--
	if p.evicted && p.refs == 0 {
		b.closeProducer(p)
	}
}

func (b *Bridge) closeProducer(p *producer) {
	if err := p.pub.Close(); err != nil {
		b.app.log.Warn("stream: bridge: close producer", "destination", p.dest, "error", err)
	}
}

// Destinations lists the destinations the bridge holds a producer for, most
// recently used first.
func (b *Bridge) Destinations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for el := b.lru.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*producer).dest)
	}
	return out
}

// close closes every producer; in-flight Sends finish first on theirs.
func (b *Bridge) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	var errs []error
	for el := b.lru.Front(); el != nil; el = el.Next() {
		p := el.Value.(*producer)
		p.evicted = true
		if p.refs == 0 {
			errs = append(errs, p.pub.Close())
		}
	}
	b.lru.Init()
	clear(b.byKey)
	return errors.Join(errs...)
}
