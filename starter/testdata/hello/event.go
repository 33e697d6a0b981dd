package main

// Event is the payload hello reads and writes, as JSON
// (the content type application/json). Change it to your own type.
type Event struct {
	Message string `json:"message"`
}
