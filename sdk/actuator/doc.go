// Package actuator serves the HTTP endpoints of a running Millstream
// application, in the shape of Spring Boot's and Spring Cloud Stream's
// actuator:
//
//	GET  /actuator/health           binders and bindings; UP (200) or DOWN (503)
//	GET  /actuator/bindings         every binding with its destination, group and state
//	GET  /actuator/bindings/{name}  one binding
//	POST /actuator/bindings/{name}  {"state":"STOPPED|STARTED|PAUSED|RESUMED"}
//	GET  /metrics                   Prometheus metrics per binding
//
// [New] builds the gin engine; it uses no gin globals and no package-level
// router. [Metrics] is the Prometheus implementation of stream.Metrics,
// with a registry of its own.
//
// # Usage
//
//	m := actuator.NewMetrics()
//	app := stream.New(cfg, stream.WithBinder("memory", memory.New()), stream.WithMetrics(m))
//	srv := &http.Server{Handler: actuator.New(app, actuator.Options{Metrics: m})}
//
// With fx, streamfx.Actuator(addr) does this and ties the server to the
// application's lifecycle.
package actuator
