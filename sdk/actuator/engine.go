package actuator

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/millstream/millstream/sdk/stream"
)

// Options configure the actuator's engine.
type Options struct {
	// Metrics, when set, is served on GET /metrics. It should be the
	// application's metrics (stream.WithMetrics). Default: no /metrics.
	Metrics *Metrics
	// Logger logs requests (at debug level) and handler panics. Default: a
	// logger that discards.
	Logger *slog.Logger
	// HealthTimeout bounds how long GET /actuator/health waits for the
	// binders to report. Default 5s.
	HealthTimeout time.Duration
}

// DefaultHealthTimeout is the default of Options.HealthTimeout.
const DefaultHealthTimeout = 5 * time.Second

// New returns the actuator's HTTP handler for app, a fresh gin engine with
// only the middleware listed here (panic recovery and request logging to
// the slog logger). It keeps no state of its own: every request reads the
// application.
//
// gin prints a debug-mode warning and every route to gin.DefaultWriter
// unless its process-wide mode is release (GIN_MODE=release). No setting of
// one engine turns that off: gin.New prints before its options apply, and
// route registration consults only the global mode and the global
// gin.DebugPrintRouteFunc. The actuator leaves those globals to the
// application.
func New(app *stream.App, opts Options) *gin.Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HealthTimeout <= 0 {
		opts.HealthTimeout = DefaultHealthTimeout
	}
	e := gin.New()
	e.Use(recoverPanics(opts.Logger), logRequests(opts.Logger))
	h := &handlers{app: app, opts: opts}
	e.GET("/actuator/health", h.health)
	e.GET("/actuator/bindings", h.bindings)
	e.GET("/actuator/bindings/:name", h.binding)
	e.POST("/actuator/bindings/:name", h.setState)
	if opts.Metrics != nil {
		e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(opts.Metrics.reg, promhttp.HandlerOpts{Registry: opts.Metrics.reg})))
	}
	return e
}

type handlers struct {
	app  *stream.App
	opts Options
}

// errorBody is the body of every error response.
type errorBody struct {
	Error string `json:"error"`
}

func recoverPanics(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("actuator: handler panicked", slog.String("path", c.Request.URL.Path), slog.Any("panic", r))
				c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{Error: "internal error"})
			}
		}()
		c.Next()
	}
}

func logRequests(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		began := time.Now()
		c.Next()
		log.Debug("actuator: request", slog.String("method", c.Request.Method), slog.String("path", c.Request.URL.Path),
			slog.Int("status", c.Writer.Status()), slog.Duration("took", time.Since(began)))
	}
}
