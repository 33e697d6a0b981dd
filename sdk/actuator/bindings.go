package actuator

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/millstream/millstream/sdk/stream"
)

// Binding is one binding as GET /actuator/bindings shows it; the field names
// follow Spring Cloud Stream's bindings endpoint.
type Binding struct {
	// BindingName is the binding's name, "uppercase-in-0".
	BindingName string `json:"bindingName"`
	// Name is the destination.
	Name string `json:"name"`
	// Group is the consumer group of an input binding; empty for an
	// anonymous one and for output bindings.
	Group    string `json:"group,omitempty"`
	Binder   string `json:"binder"`
	Function string `json:"function"`
	// Kind is "function", "consumer" or "supplier".
	Kind     string `json:"kind"`
	Input    bool   `json:"input"`
	Pausable bool   `json:"pausable"`
	// State is STARTED, STOPPED or PAUSED.
	State stream.State `json:"state"`
}

// StateChange is the body of POST /actuator/bindings/{name}.
type StateChange struct {
	// State is STARTED, STOPPED, PAUSED or RESUMED.
	State stream.State `json:"state"`
}

func bindingOf(b stream.BindingInfo) Binding {
	return Binding{BindingName: b.Name, Name: b.Destination, Group: b.Group, Binder: b.Binder, Function: b.Function,
		Kind: b.Kind, Input: b.Input, Pausable: true, State: b.State}
}

// bindings answers GET /actuator/bindings: every binding, sorted by name.
func (h *handlers) bindings(c *gin.Context) {
	out := []Binding{}
	for _, b := range h.app.Bindings() {
		out = append(out, bindingOf(b))
	}
	c.JSON(http.StatusOK, out)
}

// binding answers GET /actuator/bindings/{name}.
func (h *handlers) binding(c *gin.Context) {
	b, err := h.app.Binding(c.Param("name"))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, bindingOf(b))
}

// setState answers POST /actuator/bindings/{name}: it starts, stops, pauses
// or resumes the binding (with the other binding of its function) and
// answers with the binding as it now is.
func (h *handlers) setState(c *gin.Context) {
	name := c.Param("name")
	var req StateChange
	if err := c.ShouldBindJSON(&req); err != nil {
		c.JSON(http.StatusBadRequest, errorBody{Error: fmt.Sprintf(`body is not {"state":"STARTED|STOPPED|PAUSED|RESUMED"}: %v`, err)})
		return
	}
	s := stream.State(strings.ToUpper(string(req.State)))
	switch s {
	case stream.StateStarted, stream.StateStopped, stream.StatePaused, stream.StateResumed:
	default:
		c.JSON(http.StatusBadRequest, errorBody{Error: fmt.Sprintf("unknown state %q; use STARTED, STOPPED, PAUSED or RESUMED", req.State)})
		return
	}
	if err := h.app.SetState(c.Request.Context(), name, s); err != nil {
		h.fail(c, err)
		return
	}
	b, err := h.app.Binding(name)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.opts.Logger.Info("actuator: binding state changed", "binding", name, "state", s)
	c.JSON(http.StatusOK, bindingOf(b))
}

// fail answers with the status that fits err: 404 for an unknown binding,
// 409 for one that is not running (pausing a stopped binding), else 500.
func (h *handlers) fail(c *gin.Context, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, stream.ErrUnknownBinding):
		code = http.StatusNotFound
	case errors.Is(err, stream.ErrNotStarted), errors.Is(err, stream.ErrClosed):
		code = http.StatusConflict
	}
	c.JSON(code, errorBody{Error: err.Error()})
}
