package streamfx_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/millstream/millstream/binder/memory"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamfx"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestActuator serves the actuator of an fx application on a random port:
// health answers, and the metrics count the messages that flowed.
func TestActuator(t *testing.T) {
	t.Chdir(t.TempDir())
	got := make(chan stream.Message[string], 1)
	var srv *streamfx.ActuatorServer
	var bridge *streamfx.Bridge
	startApp(t, streamfx.Module, memory.Module,
		streamfx.Function("uppercase", uppercase),
		streamfx.Consumer("collect", collector(got)),
		streamfx.Environ([]string{
			"MILLSTREAM_BINDINGS_UPPERCASE_IN_0_GROUP=g",
			"MILLSTREAM_BINDINGS_UPPERCASE_OUT_0_DESTINATION=upper",
			"MILLSTREAM_BINDINGS_COLLECT_IN_0_DESTINATION=upper",
			"MILLSTREAM_BINDINGS_COLLECT_IN_0_GROUP=g",
		}),
		streamfx.Actuator("127.0.0.1:0"),
		fx.Populate(&srv, &bridge),
	)
	base := "http://" + srv.Addr().String()
	if code, body := get(t, base+"/actuator/health"); code != http.StatusOK || !strings.Contains(body, `"status":"UP"`) {
		t.Fatalf("health = %d %s", code, body)
	}
	if err := bridge.Send(t.Context(), "uppercase-in-0", "hi"); err != nil {
		t.Fatal(err)
	}
	receive(t, got)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := get(t, base+"/metrics")
		if strings.Contains(body, `millstream_messages_in_total{binding="collect-in-0"} 1`) &&
			strings.Contains(body, `millstream_messages_out_total{binding="uppercase-out-0"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics do not count the message:\n%s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestActuatorBusyPort checks that an address in use fails start-up.
func TestActuatorBusyPort(t *testing.T) {
	t.Chdir(t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	app := fx.New(fx.NopLogger, streamfx.Module, memory.Module, streamfx.Function("uppercase", uppercase),
		streamfx.Environ([]string{}), streamfx.Actuator(ln.Addr().String()))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	err = app.Start(t.Context())
	defer app.Stop(t.Context())
	if err == nil || !strings.Contains(err.Error(), "actuator: listen on "+ln.Addr().String()) {
		t.Fatalf("Start = %v, want a listen error naming the address", err)
	}
}
