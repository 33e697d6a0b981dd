package actuator

import (
	"context"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
)

// Health statuses, as Spring Boot's actuator writes them.
const (
	StatusUp   = "UP"
	StatusDown = "DOWN"
)

// Health is the body of GET /actuator/health.
type Health struct {
	Status     string               `json:"status"`
	Components map[string]Component `json:"components"`
}

// Component is the health of a part of the application.
type Component struct {
	Status     string               `json:"status"`
	Components map[string]Component `json:"components,omitempty"`
	Details    map[string]any       `json:"details,omitempty"`
}

// health answers GET /actuator/health: 200 when every binder is up, 503
// otherwise. A binder is down when its Health check (stream.HealthChecker)
// fails; binders without one count as up. A binder's details are what its
// stream.HealthDetailer reports (connection state; for Kafka, the lag of
// each input binding), plus "error" when it is down. The bindings component
// lists the state of each binding: a binding that was stopped or paused on
// purpose does not make the application down.
func (h *handlers) health(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), h.opts.HealthTimeout)
	defer cancel()
	binders := Component{Status: StatusUp, Components: map[string]Component{}}
	for name, bh := range h.app.BinderHealth(ctx) {
		comp := Component{Status: StatusUp, Details: bh.Details}
		if bh.Err != nil {
			binders.Status = StatusDown
			comp.Status = StatusDown
			if comp.Details == nil {
				comp.Details = map[string]any{}
			}
			comp.Details["error"] = bh.Err.Error()
		}
		binders.Components[name] = comp
	}
	bindings := Component{Status: StatusUp, Details: map[string]any{}}
	for _, b := range h.app.Bindings() {
		bindings.Details[b.Name] = map[string]any{"state": b.State, "destination": b.Destination, "binder": b.Binder}
	}
	body := Health{Status: StatusUp, Components: map[string]Component{"binders": binders, "bindings": bindings}}
	code := http.StatusOK
	if slices.ContainsFunc([]Component{binders, bindings}, func(c Component) bool { return c.Status == StatusDown }) {
		body.Status = StatusDown
		code = http.StatusServiceUnavailable
	}
	c.JSON(code, body)
}
