package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/fx"

	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamfx"
	"github.com/millstream/millstream/sdk/streamtest"
)

// start runs the sample's pipeline (millstream.yaml) on the memory binder
// and its HTTP endpoint on a random port.
func start(t *testing.T) (*streamtest.Harness, *httptest.Server) {
	t.Helper()
	t.Setenv("MILLSTREAM_DEFAULT_BINDER", "memory")
	var (
		app    *stream.App
		bridge *streamfx.Bridge
	)
	if err := fx.New(application(), fx.Populate(&app, &bridge), fx.NopLogger).Err(); err != nil {
		t.Fatal(err)
	}
	h := streamtest.Run(t, app)
	srv := httptest.NewServer(ordersHandler(bridge))
	t.Cleanup(srv.Close)
	return h, srv
}

func post(t *testing.T, srv *httptest.Server, body string) int {
	t.Helper()
	resp, err := http.Post(srv.URL+"/orders", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestOrderBecomesPaymentAndShipment(t *testing.T) {
	h, srv := start(t)
	code := post(t, srv, `{"id":"o-1","customer":"c-42","address":"1 Mill Lane",
		"items":[{"sku":"flour","quantity":2,"cents":350},{"sku":"yeast","quantity":1,"cents":120}]}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST /orders = %d, want 202", code)
	}

	pay := streamtest.Receive[Payment](t, h, "charge-out-0")
	if want := (Payment{OrderID: "o-1", Customer: "c-42", Cents: 820}); pay.Payload != want {
		t.Errorf("payment = %+v, want %+v", pay.Payload, want)
	}
	if pay.Key != "c-42" {
		t.Errorf("payment key = %q, want the customer id c-42", pay.Key)
	}
	shp := streamtest.Receive[Shipment](t, h, "ship-out-0")
	if want := (Shipment{OrderID: "o-1", Customer: "c-42", Address: "1 Mill Lane", Parcels: 3}); shp.Payload != want {
		t.Errorf("shipment = %+v, want %+v", shp.Payload, want)
	}
	if shp.Key != "c-42" {
		t.Errorf("shipment key = %q, want the customer id c-42", shp.Key)
	}
	if h.Pending("invalid-orders") != 0 {
		t.Errorf("a valid order reached invalid-orders")
	}
}

func TestInvalidOrderIsDeadLettered(t *testing.T) {
	h, srv := start(t)
	if code := post(t, srv, `{"id":"o-2","customer":"c-7","items":[]}`); code != http.StatusAccepted {
		t.Fatalf("POST /orders = %d, want 202", code)
	}
	dead := streamtest.Receive[Order](t, h, "invalid-orders")
	if dead.Payload.ID != "o-2" {
		t.Errorf("dead letter = %+v, want order o-2", dead.Payload)
	}
	reason := dead.Headers[stream.HeaderExceptionMessage]
	for _, want := range []string{"no items", "no address"} {
		if !strings.Contains(reason, want) {
			t.Errorf("dead letter reason %q does not say %q", reason, want)
		}
	}
	// Then a valid order still goes through: the invalid one did not block the pipeline.
	post(t, srv, `{"id":"o-3","customer":"c-7","address":"2 Mill Lane","items":[{"sku":"salt","quantity":1,"cents":90}]}`)
	if got := streamtest.Receive[Payment](t, h, "charge-out-0"); got.Payload.OrderID != "o-3" {
		t.Errorf("payment after the dead letter = %+v, want order o-3", got.Payload)
	}
	if n := h.Pending("charge-out-0"); n != 0 {
		t.Errorf("%d more payments, want none (the invalid order must not be charged)", n)
	}
}

func TestBadRequest(t *testing.T) {
	_, srv := start(t)
	if code := post(t, srv, `not json`); code != http.StatusBadRequest {
		t.Fatalf("POST /orders with a bad body = %d, want 400", code)
	}
	resp, err := http.Get(srv.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /orders = %d, want 405", resp.StatusCode)
	}
}

func TestValidate(t *testing.T) {
	good := Order{ID: "o", Customer: "c", Address: "a", Items: []Item{{SKU: "s", Quantity: 1}}}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v, want nil", good, err)
	}
	bad := good
	bad.Items = []Item{{SKU: "s", Quantity: 0}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "item 0") {
		t.Fatalf("Validate(quantity 0) = %v, want an error naming item 0", err)
	}
}
