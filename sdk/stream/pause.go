package stream

import (
	"context"
	"fmt"
	"log/slog"
)

// pause pauses the input natively when the subscriber is a [Pauser], with
// the gate otherwise (and for suppliers, which have no subscriber).
func (u *unit) pause(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.running.Load() {
		return fmt.Errorf("stream: pause %s: %w", u.name, ErrNotStarted)
	}
	if u.paused.Load() {
		return nil
	}
	if u.pauser != nil {
		err := u.pauser.Pause(ctx)
		if err == nil {
			u.pausedNatively = true
			u.paused.Store(true)
			return nil
		}
		u.app.log.Warn("stream: the binder could not pause the subscription; holding messages in the SDK instead",
			slog.String("binding", u.inName), slog.Any("error", err))
	}
	u.gate.pause()
	u.paused.Store(true)
	return nil
}

// resume undoes pause the way it was done.
func (u *unit) resume(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.running.Load() {
		return fmt.Errorf("stream: resume %s: %w", u.name, ErrNotStarted)
	}
	if !u.paused.Load() {
		return nil
	}
	if u.pausedNatively {
		if err := u.pauser.Resume(ctx); err != nil {
			return fmt.Errorf("stream: resume %s: %w", u.name, err)
		}
		u.pausedNatively = false
	}
	u.gate.resume()
	u.paused.Store(false)
	return nil
}
