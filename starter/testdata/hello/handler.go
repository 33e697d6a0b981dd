package main

import (
	"context"
	"errors"
	"strings"

	"github.com/millstream/millstream/sdk/stream"
)

// handler holds what Handle needs: add your dependencies (clients,
// caches) as fields and set them in newHandler.
type handler struct{}

func newHandler() *handler { return &handler{} }

// Handle is called for each event on hello-in; what it returns is sent to
// hello-out. An error is retried (max-attempts), then the event goes to the
// dead-letter destination; an error wrapped with stream.Permanent is not
// retried.
func (h *handler) Handle(_ context.Context, in Event) (Event, error) {
	if in.Message == "" {
		return Event{}, stream.Permanent(errors.New("hello: empty message"))
	}
	return Event{Message: strings.ToUpper(in.Message)}, nil
}
