package stream

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	// ErrNoOutput, returned by a function (or supplier), acknowledges the
	// input and sends nothing: a filter. Returning a nil pointer or nil
	// interface as the output does the same.
	ErrNoOutput = errors.New("stream: no output")
	// ErrUnknownBinding: no binding of that name.
	ErrUnknownBinding = errors.New("stream: unknown binding")
	// ErrDecode: the payload could not be decoded into the handler's input
	// type. Such a message is never retried; it goes to the dead-letter
	// destination (when dlq is on) with the reason in its headers.
	ErrDecode = errors.New("stream: cannot decode payload")
	// ErrNotStarted: the application or binding is not running.
	ErrNotStarted = errors.New("stream: not started")
	// ErrClosed: the application was stopped.
	ErrClosed = errors.New("stream: stopped")
)

// Permanent marks err as not worth retrying: the message goes straight to
// the dead-letter destination (or is dropped when dlq is off). A nil err
// stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// [Permanent] or is a decode failure.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p) || errors.Is(err, ErrDecode)
}

type permanentError struct{ err error }

func (p *permanentError) Error() string { return fmt.Sprintf("permanent: %v", p.err) }
func (p *permanentError) Unwrap() error { return p.err }
