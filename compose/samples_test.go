package compose_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/sdk/stream"
)

// checkOrders posts a valid and an invalid order to the orders sample's
// published endpoint and reads what the pipeline made of them through the
// published Kafka port: a payment and a shipment keyed by the customer, and
// a dead letter on invalid-orders that says what is wrong.
func checkOrders(t *testing.T, ctx context.Context, brokers []string, endpoint string) {
	t.Helper()
	id, customer := "o-"+rand.Text()[:10], "c-"+rand.Text()[:10]
	order := fmt.Sprintf(`{"id":%q,"customer":%q,"address":"1 Mill Lane","items":[{"sku":"flour","quantity":2,"cents":350},{"sku":"oats","quantity":1,"cents":199}]}`, id, customer)
	postOrder(t, ctx, endpoint, order)
	badID := "bad-" + rand.Text()[:10]
	postOrder(t, ctx, endpoint, fmt.Sprintf(`{"id":%q,"customer":%q,"address":"x","items":[]}`, badID, customer))

	r := readRecord(t, ctx, brokers, "payments", func(r *kgo.Record) bool { return bytes.Contains(r.Value, []byte(id)) })
	var p struct {
		OrderID  string `json:"orderId"`
		Customer string `json:"customer"`
		Cents    int64  `json:"cents"`
	}
	if err := json.Unmarshal(r.Value, &p); err != nil {
		t.Fatalf("payments: %q is not a payment in JSON: %v", r.Value, err)
	}
	if string(r.Key) != customer || p.OrderID != id || p.Customer != customer || p.Cents != 2*350+199 {
		t.Errorf("payment key %q value %+v, want key %q, order %s, customer %s, 899 cents", r.Key, p, customer, id, customer)
	}

	r = readRecord(t, ctx, brokers, "shipments", func(r *kgo.Record) bool { return bytes.Contains(r.Value, []byte(id)) })
	var s struct {
		OrderID  string `json:"orderId"`
		Customer string `json:"customer"`
		Address  string `json:"address"`
		Parcels  int    `json:"parcels"`
	}
	if err := json.Unmarshal(r.Value, &s); err != nil {
		t.Fatalf("shipments: %q is not a shipment in JSON: %v", r.Value, err)
	}
	if string(r.Key) != customer || s.OrderID != id || s.Customer != customer || s.Address != "1 Mill Lane" || s.Parcels != 3 {
		t.Errorf("shipment key %q value %+v, want key %q, order %s to 1 Mill Lane, 3 parcels", r.Key, s, customer, id)
	}

	r = readRecord(t, ctx, brokers, "invalid-orders", func(r *kgo.Record) bool { return bytes.Contains(r.Value, []byte(badID)) })
	var reason string
	for _, h := range r.Headers {
		if h.Key == stream.HeaderExceptionMessage {
			reason = string(h.Value)
		}
	}
	if !strings.Contains(reason, "no items") {
		t.Errorf("the dead letter's %s header is %q, want it to say \"no items\"", stream.HeaderExceptionMessage, reason)
	}
}

// postOrder posts body to the endpoint until it is accepted: the sample's
// container runs before its HTTP server listens.
func postOrder(t *testing.T, ctx context.Context, endpoint, body string) {
	t.Helper()
	var last string
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err.Error()
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				return
			}
			last = fmt.Sprintf("%s: %s", resp.Status, b)
		}
		wait(ctx, 200*time.Millisecond)
	}
	t.Fatalf("POST %s never accepted; last answer: %s", endpoint, last)
}

// readRecord reads topic, every partition from its start, until a record
// matches.
func readRecord(t *testing.T, ctx context.Context, brokers []string, topic string, match func(*kgo.Record) bool) *kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := 0
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: no matching record among the %d read before the deadline", topic, seen)
		}
		var found *kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			seen++
			if found == nil && match(r) {
				found = r
			}
		})
		if found != nil {
			return found
		}
	}
}

// countRow is one row of the logs sample's GET /counts.
type countRow struct {
	Level   string `json:"level"`
	Service string `json:"service"`
	Count   int64  `json:"count"`
}

// checkLogs appends JSON lines to the file the logs sample tails, through
// the bind-mounted directory, and reads the counts of both instances: each
// counts the partitions it has, and together they count every line once.
func checkLogs(t *testing.T, ctx context.Context, dir string, countURLs []string) {
	t.Helper()
	// Both instances answer before the first line is written.
	for _, u := range countURLs {
		for {
			if _, err := getCounts(ctx, u); err == nil {
				break
			} else if ctx.Err() != nil {
				t.Fatalf("GET %s: %v", u, err)
			}
			wait(ctx, 200*time.Millisecond)
		}
	}

	want := map[string]int64{}
	var lines bytes.Buffer
	run := strings.ToLower(rand.Text()[:6])
	levels := []string{"info", "warn", "error"}
	for i := range 60 {
		service := fmt.Sprintf("svc-%s-%d", run, i%8)
		level := levels[i%len(levels)]
		fmt.Fprintf(&lines, `{"level":%q,"service":%q,"msg":"line %d"}`+"\n", level, service, i)
		want[level+"/"+service]++
	}
	lines.WriteString("not json at all\n")
	want["unknown/unknown"]++
	f, err := os.OpenFile(filepath.Join(dir, "app.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(lines.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// Poll until the sum is reached, then once more a moment later: no
	// line may be counted twice.
	var got map[string]int64
	var per []int64
	sum := func() int64 {
		got, per = map[string]int64{}, nil
		for _, u := range countURLs {
			rows, err := getCounts(ctx, u)
			if err != nil {
				t.Fatalf("GET %s: %v", u, err)
			}
			var n int64
			for _, r := range rows {
				got[r.Level+"/"+r.Service] += r.Count
				n += r.Count
			}
			per = append(per, n)
		}
		var total int64
		for _, n := range per {
			total += n
		}
		return total
	}
	for sum() < 61 {
		if ctx.Err() != nil {
			t.Fatalf("the logs instances counted %v lines, want 61 in all", per)
		}
		wait(ctx, 200*time.Millisecond)
	}
	wait(ctx, time.Second)
	sum()
	if !maps.Equal(got, want) {
		t.Fatalf("counts of both instances %v, want %v", got, want)
	}
	t.Logf("logs: the instances counted %v of 61 lines", per)
}

func getCounts(ctx context.Context, u string) ([]countRow, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s", resp.Status)
	}
	var rows []countRow
	if err := json.NewDecoder(resp.Body).Decode(&rows); err != nil {
		return nil, fmt.Errorf("GET %s: not counts in JSON: %w", u, err)
	}
	return rows, nil
}

// wait pauses between polls, or less if ctx ends.
func wait(ctx context.Context, d time.Duration) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}
