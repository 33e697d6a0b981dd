package actuator_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/millstream/millstream/sdk/streamtest"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata")

// TestExamplesGolden records real responses of each endpoint in
// testdata/examples.md, which the actuator page of the docs includes.
func TestExamplesGolden(t *testing.T) {
	f := newFixture(t)
	f.h.Send("uppercase-in-0", "hello")
	streamtest.Receive[string](t, f.h, "uppercase-out-0")
	waitMetric(t, f, `millstream_messages_out_total{binding="uppercase-out-0"}`, 1)

	var b strings.Builder
	show := func(title, method, path, body string, code int) {
		t.Helper()
		resp := f.do(t, method, path, body, code, nil)
		b.WriteString("### " + title + "\n\n```http\n" + method + " " + path + "\n")
		if body != "" {
			b.WriteString("Content-Type: application/json\n\n" + body + "\n")
		}
		b.WriteString("```\n\n")
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, []byte(resp), "", "  "); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		b.WriteString("Response `" + strconv.Itoa(code) + " " + http.StatusText(code) + "`:\n\n```json\n" + pretty.String() + "\n```\n\n")
	}
	show("Health", "GET", "/actuator/health", "", http.StatusOK)
	show("Every binding", "GET", "/actuator/bindings", "", http.StatusOK)
	show("One binding", "GET", "/actuator/bindings/uppercase-in-0", "", http.StatusOK)
	show("Pause a binding", "POST", "/actuator/bindings/uppercase-in-0", `{"state":"PAUSED"}`, http.StatusOK)
	show("Resume it", "POST", "/actuator/bindings/uppercase-in-0", `{"state":"RESUMED"}`, http.StatusOK)
	show("An unknown state", "POST", "/actuator/bindings/uppercase-in-0", `{"state":"ASLEEP"}`, http.StatusBadRequest)
	show("Stop a binding", "POST", "/actuator/bindings/fail-in-0", `{"state":"STOPPED"}`, http.StatusOK)
	show("...which cannot be paused", "POST", "/actuator/bindings/fail-in-0", `{"state":"PAUSED"}`, http.StatusConflict)

	// The metrics of the uppercase bindings, without the histogram buckets
	// and sums, whose values depend on the machine. The test sent its
	// message through the Bridge to uppercase-in-0, which counts as a
	// message out under that name.
	b.WriteString("### Metrics\n\n```http\nGET /metrics\n```\n\n```text\n")
	body := f.do(t, "GET", "/metrics", "", http.StatusOK, nil)
	for _, line := range strings.Split(body, "\n") {
		if !strings.Contains(line, "millstream_") || strings.Contains(line, "_bucket") || strings.Contains(line, "_sum") ||
			(!strings.HasPrefix(line, "#") && !strings.Contains(line, "uppercase")) {
			continue
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("```\n")

	const path = "testdata/examples.md"
	if *rewrite {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -rewrite)", err)
	}
	if b.String() != string(want) {
		t.Errorf("responses differ from %s (run go test ./sdk/actuator -run TestExamplesGolden -rewrite and review):\n%s", path, b.String())
	}
}
