package main

import (
	"context"
	"errors"
	"strings"

	"github.com/millstream/millstream/sdk/stream"
)

// uppercase is the whole application logic: text in, upper-cased text out.
// An empty message cannot be fixed by retrying, so it is a permanent error.
func uppercase(_ context.Context, in string) (string, error) {
	if in == "" {
		return "", stream.Permanent(errors.New("uppercase: empty message"))
	}
	return strings.ToUpper(in), nil
}
