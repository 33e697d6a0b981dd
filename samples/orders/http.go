package main

import (
	"encoding/json"
	"net/http"

	"github.com/millstream/millstream/sdk/streamfx"
)

// newOrdersBinding is the bridge binding the endpoint sends to; its
// destination (orders) is set in millstream.yaml.
const newOrdersBinding = "new-orders"

// ordersHandler accepts POST /orders with an Order as JSON and sends it,
// through the Bridge, to the new-orders binding. It answers 202 Accepted
// once the binder has the order: checking it is the pipeline's job.
func ordersHandler(bridge *streamfx.Bridge) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var o Order
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		if err := dec.Decode(&o); err != nil {
			http.Error(w, "orders: the body is not an order in JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := bridge.Send(r.Context(), newOrdersBinding, o); err != nil {
			http.Error(w, "orders: not accepted, try again: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	return mux
}
