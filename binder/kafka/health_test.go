package kafka_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/actuator"
	"github.com/millstream/millstream/sdk/cloudevent"
	"github.com/millstream/millstream/sdk/stream"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata")

// TestActuatorHealthShowsLag: records sent to a binding whose handler is
// stuck on the first one show in GET /actuator/health as the lag of that
// binding, per partition and in total; once the handler goes on, the lag
// drops to 0. The response is kept in testdata/health-lag.json (topic and
// broker address replaced by fixed ones), which the Kafka binder's page
// quotes.
func TestActuatorHealthShowsLag(t *testing.T) {
	brokers := testBrokers(t)
	topic := newTopic(t)
	b := newBinder(t, kafka.Config{Connection: kafka.Connection{Brokers: brokers}, AutoCreateTopics: true})
	app := stream.New(stream.Config{Application: "audit", Bindings: map[string]stream.BindingProperties{
		"audit-in-0": {Destination: topic, Group: "audit", PartitionCount: 2},
	}}, stream.WithBinder("kafka", b))
	release := make(chan struct{})
	if err := app.Register(stream.Consumer("audit", func(ctx context.Context, _ string) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop(context.Background()) })
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
	})
	srv := httptest.NewServer(actuator.New(app, actuator.Options{}))
	t.Cleanup(srv.Close)

	// 3 records to partition 0, 2 to partition 1.
	pub := publisher(t, brokers, nil)
	for i, part := range []string{"0", "0", "0", "1", "1"} {
		m := message.NewMessage("m"+strconv.Itoa(i), []byte("entry"))
		m.Metadata.Set(cloudevent.MetadataPartition, part)
		if err := pub.Publish(topic, m); err != nil {
			t.Fatal(err)
		}
	}

	type lag struct {
		Destination string           `json:"destination"`
		Group       string           `json:"group"`
		Partitions  map[string]int64 `json:"partitions"`
		Total       int64            `json:"total"`
	}
	type health struct {
		Status     string `json:"status"`
		Components struct {
			Binders struct {
				Components map[string]struct {
					Status  string `json:"status"`
					Details struct {
						Lag map[string]lag `json:"lag"`
					} `json:"details"`
				} `json:"components"`
			} `json:"binders"`
		} `json:"components"`
	}
	get := func() (health, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/actuator/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		var h health
		if err := json.Unmarshal(body.Bytes(), &h); err != nil {
			t.Fatalf("GET /actuator/health: %v: %s", err, body.Bytes())
		}
		if resp.StatusCode != http.StatusOK || h.Status != actuator.StatusUp {
			t.Fatalf("GET /actuator/health = %d %s, want 200 UP: %s", resp.StatusCode, h.Status, body.Bytes())
		}
		return h, body.Bytes()
	}
	// awaitLag polls until audit-in-0 shows want in total, and returns the
	// response.
	awaitLag := func(want int64) (lag, []byte) {
		t.Helper()
		var l lag
		var raw []byte
		for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			var h health
			h, raw = get()
			l = h.Components.Binders.Components["kafka"].Details.Lag["audit-in-0"]
			if l.Total == want && len(l.Partitions) == 2 {
				return l, raw
			}
		}
		t.Fatalf("lag of audit-in-0 = %+v, want a total of %d over 2 partitions: %s", l, want, raw)
		return l, raw
	}

	l, raw := awaitLag(5)
	if l.Destination != topic || l.Group != "audit" || l.Partitions["0"] != 3 || l.Partitions["1"] != 2 {
		t.Errorf("lag of audit-in-0 = %+v, want %s/audit with 3 on partition 0 and 2 on partition 1", l, topic)
	}
	golden(t, "testdata/health-lag.json", raw, strings.NewReplacer(topic, "audit-log", brokers[0], "localhost:9092"))

	close(release)
	released = true
	awaitLag(0)
}

// golden compares the indented JSON body, with the replacements made, to
// the file at path (rewritten with -rewrite).
func golden(t *testing.T, path string, body []byte, r *strings.Replacer) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	got := r.Replace(pretty.String()) + "\n"
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -rewrite)", err)
	}
	if got != string(want) {
		t.Errorf("GET /actuator/health differs from %s (run go test ./binder/kafka -run %s -rewrite and review):\n%s", path, t.Name(), got)
	}
}
