package actuator_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/actuator"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

func uppercase(_ context.Context, in string) (string, error) { return strings.ToUpper(in), nil }

// sickBinder is a memory binder whose health check fails.
type sickBinder struct{ *memory.Binder }

func (sickBinder) Health(context.Context) error { return errors.New("broker unreachable") }

type fixture struct {
	app     *stream.App
	h       *streamtest.Harness
	srv     *httptest.Server
	metrics *actuator.Metrics
}

// newFixture runs uppercase (group "upper") and a failing consumer "fail"
// on the memory binder, behind the actuator.
func newFixture(t *testing.T, extra ...stream.Option) *fixture {
	return newFixtureWith(t, func(*stream.Config) {}, extra...)
}

func newFixtureWith(t *testing.T, edit func(*stream.Config), extra ...stream.Option) *fixture {
	t.Helper()
	m := actuator.NewMetrics()
	cfg := stream.Config{Application: "test", Bindings: map[string]stream.BindingProperties{
		"uppercase-in-0": {Destination: "words", Group: "upper"},
		"fail-in-0": {Destination: "bad", Group: "g", MaxAttempts: 2, DLQ: true,
			BackOffInitialInterval: time.Millisecond, BackOffMaxInterval: time.Millisecond},
	}}
	edit(&cfg)
	opts := append([]stream.Option{stream.WithBinder("memory", memory.New()), stream.WithMetrics(m)}, extra...)
	app := stream.New(cfg, opts...)
	err := app.Register(stream.Function("uppercase", uppercase),
		stream.Consumer("fail", func(context.Context, string) error { return errors.New("no") }))
	if err != nil {
		t.Fatal(err)
	}
	h := streamtest.Run(t, app)
	srv := httptest.NewServer(actuator.New(app, actuator.Options{Metrics: m}))
	t.Cleanup(srv.Close)
	return &fixture{app: app, h: h, srv: srv, metrics: m}
}

func (f *fixture) do(t *testing.T, method, path, body string, want int, into any) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return string(b)
}

func TestHealthUp(t *testing.T) {
	f := newFixture(t)
	var got actuator.Health
	f.do(t, "GET", "/actuator/health", "", http.StatusOK, &got)
	if got.Status != "UP" || got.Components["binders"].Components["memory"].Status != "UP" {
		t.Errorf("health = %+v", got)
	}
	b := got.Components["bindings"].Details["uppercase-in-0"].(map[string]any)
	if b["state"] != "STARTED" || b["destination"] != "words" {
		t.Errorf("bindings component = %+v", got.Components["bindings"])
	}
}

func TestHealthDown(t *testing.T) {
	// The failing binder is a second one, so the bindings keep the healthy
	// one (set as default).
	f := newFixtureWith(t, func(c *stream.Config) { c.DefaultBinder = "memory" },
		stream.WithBinder("sick", sickBinder{memory.New()}))
	var got actuator.Health
	f.do(t, "GET", "/actuator/health", "", http.StatusServiceUnavailable, &got)
	binders := got.Components["binders"]
	if got.Status != "DOWN" || binders.Status != "DOWN" || binders.Components["memory"].Status != "UP" {
		t.Errorf("health = %+v", got)
	}
	if sick := binders.Components["sick"]; sick.Status != "DOWN" || sick.Details["error"] != "broker unreachable" {
		t.Errorf("sick binder = %+v, want DOWN with the error", sick)
	}
}

func TestBindings(t *testing.T) {
	f := newFixture(t)
	var all []actuator.Binding
	f.do(t, "GET", "/actuator/bindings", "", http.StatusOK, &all)
	var names []string
	for _, b := range all {
		names = append(names, b.BindingName)
	}
	if strings.Join(names, ",") != "fail-in-0,uppercase-in-0,uppercase-out-0" {
		t.Fatalf("bindings = %v", names)
	}
	var one actuator.Binding
	f.do(t, "GET", "/actuator/bindings/uppercase-in-0", "", http.StatusOK, &one)
	want := actuator.Binding{BindingName: "uppercase-in-0", Name: "words", Group: "upper", Binder: "memory",
		Function: "uppercase", Kind: "function", Input: true, Pausable: true, State: stream.StateStarted}
	if one != want {
		t.Errorf("GET uppercase-in-0 = %+v, want %+v", one, want)
	}
	body := f.do(t, "GET", "/actuator/bindings/nope-in-0", "", http.StatusNotFound, nil)
	if !strings.Contains(body, "nope-in-0") {
		t.Errorf("404 body %s does not name the binding", body)
	}
}

func TestBindingStateErrors(t *testing.T) {
	f := newFixture(t)
	f.do(t, "POST", "/actuator/bindings/uppercase-in-0", `{"state":"ASLEEP"}`, http.StatusBadRequest, nil)
	f.do(t, "POST", "/actuator/bindings/uppercase-in-0", `state=PAUSED`, http.StatusBadRequest, nil)
	f.do(t, "POST", "/actuator/bindings/nope-in-0", `{"state":"PAUSED"}`, http.StatusNotFound, nil)
	f.do(t, "POST", "/actuator/bindings/uppercase-in-0", `{"state":"STOPPED"}`, http.StatusOK, nil)
	f.do(t, "POST", "/actuator/bindings/uppercase-in-0", `{"state":"PAUSED"}`, http.StatusConflict, nil)
}

// quiet checks that nothing arrives on an output binding for a short while:
// the binding under test is paused or stopped.
func quiet(t *testing.T, h *streamtest.Harness, binding string) {
	t.Helper()
	deadline := time.Now().Add(150 * time.Millisecond)
	for time.Now().Before(deadline) {
		if n := h.Pending(binding); n != 0 {
			t.Fatalf("%d messages arrived on %s while its function was not running", n, binding)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPauseResumeStopStart(t *testing.T) {
	f := newFixture(t)
	set := func(state string, want stream.State) {
		t.Helper()
		var b actuator.Binding
		f.do(t, "POST", "/actuator/bindings/uppercase-in-0", `{"state":"`+state+`"}`, http.StatusOK, &b)
		if b.State != want {
			t.Fatalf("after %s the binding is %s, want %s", state, b.State, want)
		}
	}

	set("PAUSED", stream.StatePaused)
	f.h.Send("uppercase-in-0", "paused")
	quiet(t, f.h, "uppercase-out-0")
	set("RESUMED", stream.StateStarted)
	if got := streamtest.Receive[string](t, f.h, "uppercase-out-0"); got.Payload != "PAUSED" {
		t.Fatalf("after resume got %q, want PAUSED", got.Payload)
	}

	set("STOPPED", stream.StateStopped)
	var out actuator.Binding
	f.do(t, "GET", "/actuator/bindings/uppercase-out-0", "", http.StatusOK, &out)
	if out.State != stream.StateStopped {
		t.Errorf("the output binding of a stopped function is %s, want STOPPED", out.State)
	}
	f.h.Send("uppercase-in-0", "stopped")
	quiet(t, f.h, "uppercase-out-0")
	set("STARTED", stream.StateStarted)
	if got := streamtest.Receive[string](t, f.h, "uppercase-out-0"); got.Payload != "STOPPED" {
		t.Fatalf("after start got %q, want STOPPED (the group kept its position)", got.Payload)
	}
}

// scrape reads GET /metrics into "name{labels}" -> value.
func scrape(t *testing.T, f *fixture) map[string]float64 {
	t.Helper()
	body := f.do(t, "GET", "/metrics", "", http.StatusOK, nil)
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// waitMetric polls /metrics until the series reaches want.
func waitMetric(t *testing.T, f *fixture, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := scrape(t, f)[series]
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", series, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	const n = 5
	for i := range n {
		f.h.Send("uppercase-in-0", "m"+strconv.Itoa(i))
	}
	for range n {
		streamtest.Receive[string](t, f.h, "uppercase-out-0")
	}
	waitMetric(t, f, `millstream_messages_in_total{binding="uppercase-in-0"}`, n)
	waitMetric(t, f, `millstream_messages_out_total{binding="uppercase-out-0"}`, n)
	waitMetric(t, f, `millstream_handler_duration_seconds_count{binding="uppercase-in-0"}`, n)

	f.h.Send("fail-in-0", "x")
	streamtest.Receive[string](t, f.h, "bad.g.dlq")
	waitMetric(t, f, `millstream_handler_errors_total{binding="fail-in-0"}`, 2)
	waitMetric(t, f, `millstream_retries_total{binding="fail-in-0"}`, 1)
	waitMetric(t, f, `millstream_dead_letters_total{binding="fail-in-0"}`, 1)

	m := scrape(t, f)
	if _, ok := m["go_goroutines"]; !ok {
		t.Error("the Go collector is missing from /metrics")
	}
}

func TestNoMetricsRouteWithoutMetrics(t *testing.T) {
	app := stream.New(stream.Config{}, stream.WithBinder("memory", memory.New()))
	srv := httptest.NewServer(actuator.New(app, actuator.Options{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without Metrics = %d, want 404", resp.StatusCode)
	}
}
