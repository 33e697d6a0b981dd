package stream

import (
	"context"
	"fmt"
	"slices"
)

// State is the state of a binding, as the actuator shows and sets it.
type State string

const (
	StateStarted State = "STARTED"
	StateStopped State = "STOPPED"
	StatePaused  State = "PAUSED"
	// StateResumed is an action for [App.SetState]: resume a paused
	// binding. A resumed binding reports StateStarted.
	StateResumed State = "RESUMED"
)

// BindingInfo describes one binding.
type BindingInfo struct {
	Name        string // e.g. "uppercase-in-0"
	Function    string // the (composed) function it belongs to
	Kind        string // "function", "consumer" or "supplier"
	Input       bool   // an input binding (else output)
	Destination string
	Group       string // input bindings; empty for anonymous ones
	Binder      string
	State       State
}

// Bindings describes every bound binding, sorted by name. It is empty before
// Prepare or Start.
func (a *App) Bindings() []BindingInfo {
	a.mu.Lock()
	units := a.units
	a.mu.Unlock()
	var out []BindingInfo
	for _, u := range units {
		out = append(out, u.info()...)
	}
	slices.SortFunc(out, func(x, y BindingInfo) int {
		if x.Name < y.Name {
			return -1
		}
		if x.Name > y.Name {
			return 1
		}
		return 0
	})
	return out
}

// Binding describes the binding called name.
func (a *App) Binding(name string) (BindingInfo, error) {
	u, err := a.unitOf(name)
	if err != nil {
		return BindingInfo{}, err
	}
	for _, bi := range u.info() {
		if bi.Name == name {
			return bi, nil
		}
	}
	return BindingInfo{}, fmt.Errorf("%w %q", ErrUnknownBinding, name)
}

// SetState starts (StateStarted), stops (StateStopped), pauses (StatePaused)
// or resumes (StateResumed) a binding. Acting on either binding of a
// function acts on the function: its input and output go together. Stopping
// waits for in-flight messages; pausing stops taking new messages without
// leaving the group: natively when the binder's subscriber is a [Pauser]
// (messages handed out before are handled), else by holding each member's
// next message until the binding resumes.
func (a *App) SetState(ctx context.Context, name string, s State) error {
	u, err := a.unitOf(name)
	if err != nil {
		return err
	}
	switch s {
	case StateStarted:
		return u.start(ctx)
	case StateStopped:
		return u.stop(ctx)
	case StatePaused:
		return u.pause(ctx)
	case StateResumed:
		return u.resume(ctx)
	default:
		return fmt.Errorf("stream: binding %s: unknown state %q; use STARTED, STOPPED, PAUSED or RESUMED", name, s)
	}
}

func (a *App) unitOf(name string) (*unit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.prepared {
		return nil, fmt.Errorf("stream: binding %s: %w", name, ErrNotStarted)
	}
	u, ok := a.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownBinding, name)
	}
	return u, nil
}
