package main

import (
	"context"
	"fmt"

	"github.com/millstream/millstream/sdk/stream"
)

// validate reads orders and passes valid ones on to valid-orders. An
// invalid order is a permanent error: no retries, straight to the
// dead-letter destination invalid-orders, with the reason in its headers.
func validate(_ context.Context, o Order) (Order, error) {
	if err := o.Validate(); err != nil {
		return Order{}, stream.Permanent(fmt.Errorf("invalid order %q: %w", o.ID, err))
	}
	return o, nil
}

// charge turns a valid order into a payment. The key is the customer id, so
// one customer's payments share a partition and stay in order.
func charge(_ context.Context, o Order) (stream.Message[Payment], error) {
	return stream.Message[Payment]{
		Payload: Payment{OrderID: o.ID, Customer: o.Customer, Cents: o.Total()},
		Key:     o.Customer,
	}, nil
}

// ship turns a valid order into a shipment, keyed by customer as well.
func ship(_ context.Context, o Order) (stream.Message[Shipment], error) {
	parcels := 0
	for _, it := range o.Items {
		parcels += it.Quantity
	}
	return stream.Message[Shipment]{
		Payload: Shipment{OrderID: o.ID, Customer: o.Customer, Address: o.Address, Parcels: parcels},
		Key:     o.Customer,
	}, nil
}
