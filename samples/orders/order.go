package main

import (
	"errors"
	"fmt"
)

// Order is what the HTTP endpoint accepts and the destination orders
// carries, as JSON.
type Order struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	Items    []Item `json:"items"`
	Address  string `json:"address"`
}

// Item is one line of an order.
type Item struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Cents    int64  `json:"cents"` // price of one
}

// Total is what the customer pays, in cents.
func (o Order) Total() int64 {
	var t int64
	for _, it := range o.Items {
		t += int64(it.Quantity) * it.Cents
	}
	return t
}

// Validate says what is wrong with an order; nil for a valid one.
func (o Order) Validate() error {
	var errs []error
	if o.ID == "" {
		errs = append(errs, errors.New("no id"))
	}
	if o.Customer == "" {
		errs = append(errs, errors.New("no customer"))
	}
	if len(o.Items) == 0 {
		errs = append(errs, errors.New("no items"))
	}
	for i, it := range o.Items {
		if it.SKU == "" || it.Quantity < 1 || it.Cents < 0 {
			errs = append(errs, fmt.Errorf("item %d: needs a sku, a quantity of at least 1 and a price of at least 0", i))
		}
	}
	if o.Address == "" {
		errs = append(errs, errors.New("no address"))
	}
	return errors.Join(errs...)
}

// Payment is sent to payments.
type Payment struct {
	OrderID  string `json:"orderId"`
	Customer string `json:"customer"`
	Cents    int64  `json:"cents"`
}

// Shipment is sent to shipments.
type Shipment struct {
	OrderID  string `json:"orderId"`
	Customer string `json:"customer"`
	Address  string `json:"address"`
	Parcels  int    `json:"parcels"`
}
