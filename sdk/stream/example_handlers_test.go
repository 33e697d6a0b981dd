package stream_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/millstream/millstream/sdk/stream"
)

// A function: takes a payload, returns one.
func shout(ctx context.Context, in string) (string, error) {
	return strings.ToUpper(in), nil
}

// Order is a JSON payload.
type Order struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	Total    int    `json:"total"`
}

// A consumer that sees the whole message: CloudEvent attributes, headers, key.
func audit(ctx context.Context, m stream.Message[Order]) error {
	fmt.Printf("order %s from %s (type %s, key %s)\n", m.Payload.ID, m.Source, m.Type, m.Key)
	return nil
}

// A function that sets attributes of what it sends, and filters.
func bigOrders(ctx context.Context, o Order) (stream.Message[Order], error) {
	if o.Total < 100 {
		return stream.Message[Order]{}, stream.ErrNoOutput // send nothing
	}
	return stream.Message[Order]{
		Payload: o,
		Subject: "order/" + o.ID,
		Key:     o.Customer, // partition key: same customer, same partition
	}, nil
}
