package stream

import (
	"context"
	"fmt"
	"reflect"
)

// A Handler is a function, consumer or supplier ready to be registered with
// [App.Register]. Make one with [Function], [Consumer], [Supplier] or
// [ChannelSupplier].
type Handler interface {
	// Name is the function name: bindings are called <name>-in-0 and
	// <name>-out-0.
	Name() string
	stage() *stage
}

type kind int

const (
	kindFunction kind = iota
	kindConsumer
	kindSupplier
)

func (k kind) String() string {
	switch k {
	case kindConsumer:
		return "consumer"
	case kindSupplier:
		return "supplier"
	default:
		return "function"
	}
}

// stage is a handler with its types erased, so that handlers of different
// types can be composed and bound by one runtime.
type stage struct {
	name string
	kind kind
	// inType is the handler's input type (Message[T] included); nil for
	// suppliers.
	inType reflect.Type
	// decode turns a received message into a value of inType.
	decode func(in inbound, codecs codecLookup) (any, error)
	// call runs a function or consumer on a value of inType. Consumers
	// return a nil output.
	call func(ctx context.Context, in any) (any, error)
	// poll runs a supplier. ok false means the supplier is exhausted (its
	// channel closed).
	poll func(ctx context.Context) (out any, ok bool, err error)
	// pushed marks a channel supplier: poll blocks until a value arrives.
	pushed bool
	// key, if set, gives the partition key of an output value.
	key func(out any) string
}

// FunctionHandler is a function: it takes In and returns Out, which is sent.
type FunctionHandler[In, Out any] struct{ st stage }

// Function makes a function handler. In and Out may be payload types (a
// struct, string, []byte, ...) or [Message] of one. Returning
// [ErrNoOutput], or a nil pointer, sends nothing.
func Function[In, Out any](name string, fn func(context.Context, In) (Out, error)) *FunctionHandler[In, Out] {
	h := &FunctionHandler[In, Out]{st: stage{
		name:   name,
		kind:   kindFunction,
		inType: reflect.TypeFor[In](),
		decode: decoderFor[In](),
		call: func(ctx context.Context, in any) (any, error) {
			out, err := fn(ctx, in.(In))
			if err != nil {
				return nil, err
			}
			return out, nil
		},
	}}
	return h
}

// Name implements [Handler].
func (h *FunctionHandler[In, Out]) Name() string  { return h.st.name }
func (h *FunctionHandler[In, Out]) stage() *stage { return &h.st }

// PartitionBy sets the partition key of each output from the output value,
// unless the handler set Message.Key itself. It returns h.
func (h *FunctionHandler[In, Out]) PartitionBy(key func(Out) string) *FunctionHandler[In, Out] {
	h.st.key = func(out any) string { return key(out.(Out)) }
	return h
}

// ConsumerHandler is a consumer: it takes In and sends nothing.
type ConsumerHandler[In any] struct{ st stage }

// Consumer makes a consumer handler. In may be a payload type or [Message]
// of one.
func Consumer[In any](name string, fn func(context.Context, In) error) *ConsumerHandler[In] {
	return &ConsumerHandler[In]{st: stage{
		name:   name,
		kind:   kindConsumer,
		inType: reflect.TypeFor[In](),
		decode: decoderFor[In](),
		call: func(ctx context.Context, in any) (any, error) {
			return nil, fn(ctx, in.(In))
		},
	}}
}

// Name implements [Handler].
func (h *ConsumerHandler[In]) Name() string  { return h.st.name }
func (h *ConsumerHandler[In]) stage() *stage { return &h.st }

// SupplierHandler is a supplier: it produces Out, which is sent.
type SupplierHandler[Out any] struct{ st stage }

// Supplier makes a polled supplier: fn is called every poller-fixed-delay
// (default 1s) and what it returns is sent. Returning [ErrNoOutput] sends
// nothing this time.
func Supplier[Out any](name string, fn func(context.Context) (Out, error)) *SupplierHandler[Out] {
	return &SupplierHandler[Out]{st: stage{
		name: name,
		kind: kindSupplier,
		poll: func(ctx context.Context) (any, bool, error) {
			out, err := fn(ctx)
			if err != nil {
				return nil, true, err
			}
			return out, true, nil
		},
	}}
}

// ChannelSupplier makes a pushed supplier: every value received from ch is
// sent as soon as it arrives. The binding stops reading when ch is closed.
func ChannelSupplier[Out any](name string, ch <-chan Out) *SupplierHandler[Out] {
	return &SupplierHandler[Out]{st: stage{
		name:   name,
		kind:   kindSupplier,
		pushed: true,
		poll: func(ctx context.Context) (any, bool, error) {
			select {
			case v, ok := <-ch:
				if !ok {
					return nil, false, nil
				}
				return v, true, nil
			case <-ctx.Done():
				return nil, true, ctx.Err()
			}
		},
	}}
}

// Name implements [Handler].
func (h *SupplierHandler[Out]) Name() string  { return h.st.name }
func (h *SupplierHandler[Out]) stage() *stage { return &h.st }

// PartitionBy sets the partition key of each output from the output value,
// unless the supplier set Message.Key itself. It returns h.
func (h *SupplierHandler[Out]) PartitionBy(key func(Out) string) *SupplierHandler[Out] {
	h.st.key = func(out any) string { return key(out.(Out)) }
	return h
}

// compose chains stages into one: a supplier may only come first, a consumer
// only last. The composed name is the names joined ("parse"+"enrich").
func compose(stages []*stage, codecs codecLookup) (*stage, error) {
	if len(stages) == 1 {
		return stages[0], nil
	}
	name := ""
	for i, s := range stages {
		name += s.name
		if s.kind == kindSupplier && i != 0 {
			return nil, fmt.Errorf("supplier %q can only come first in a composition", s.name)
		}
		if s.kind == kindConsumer && i != len(stages)-1 {
			return nil, fmt.Errorf("consumer %q can only come last in a composition", s.name)
		}
	}
	first, last := stages[0], stages[len(stages)-1]
	if first.kind == kindSupplier && last.kind == kindConsumer {
		return nil, fmt.Errorf("composition %q of a supplier and a consumer has no binding to run on", name)
	}
	k := kindFunction
	switch {
	case first.kind == kindSupplier:
		k = kindSupplier
	case last.kind == kindConsumer:
		k = kindConsumer
	}
	rest := stages
	if first.kind == kindSupplier {
		rest = stages[1:]
	}
	// run applies the non-supplier stages to v, the output of the stage
	// before them (or the decoded input of the first).
	run := func(ctx context.Context, v any, from int) (any, error) {
		for i := from; i < len(rest); i++ {
			if i > from {
				var err error
				if v, err = adapt(v, rest[i], codecs); err != nil {
					return nil, err
				}
			}
			out, err := rest[i].call(ctx, v)
			if err != nil {
				return nil, err
			}
			if rest[i].kind != kindConsumer && isNil(out) {
				return nil, ErrNoOutput
			}
			v = out
		}
		return v, nil
	}
	c := &stage{name: name, kind: k, key: last.key}
	if k == kindSupplier {
		c.pushed = first.pushed
		c.poll = func(ctx context.Context) (any, bool, error) {
			v, ok, err := first.poll(ctx)
			if err != nil || !ok {
				return nil, ok, err
			}
			if isNil(v) {
				return nil, true, ErrNoOutput
			}
			if v, err = adapt(v, rest[0], codecs); err != nil {
				return nil, true, err
			}
			out, err := run(ctx, v, 0)
			return out, true, err
		}
		return c, nil
	}
	c.inType = first.inType
	c.decode = first.decode
	c.call = func(ctx context.Context, in any) (any, error) { return run(ctx, in, 0) }
	return c, nil
}

// adapt converts the output of one stage into the input of the next: as it
// is when the types match, else through an encode and decode with the
// default codecs (Message[T] to T, T to Message[T], JSON-compatible types).
func adapt(v any, next *stage, codecs codecLookup) (any, error) {
	if v != nil && reflect.TypeOf(v) == next.inType {
		return v, nil
	}
	out, err := newOutbound(v)
	if err != nil {
		return nil, err
	}
	data, ct, err := encodePayload(out.payload, out.attrs.ContentType, codecs)
	if err != nil {
		return nil, fmt.Errorf("stream: pass output to %q: %w", next.name, err)
	}
	in := inbound{attrs: out.attrs, data: data}
	in.attrs.ContentType = ct
	return next.decode(in, codecs)
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
