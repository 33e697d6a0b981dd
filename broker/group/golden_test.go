package group_test

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/millstream/millstream/broker/group"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata")

// TestOffsetRecordsGolden pins the bytes written to the offsets log for
// commits, an overwrite and deletions: they are Kafka's
// __consumer_offsets encodings, and a change would make old logs
// unreadable. Regenerate with go test -run Golden -rewrite.
func TestOffsetRecordsGolden(t *testing.T) {
	h := newHarness(t, group.Options{})
	h.commit("billing", "", -1, "orders", 0, 42, "first")
	h.commit("billing", "", -1, "orders", 1, 7, "")
	h.commit("billing", "", -1, "orders", 0, 43, "second")
	del := kmsg.NewPtrOffsetDeleteRequest()
	del.Group = "billing"
	del.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "orders", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 1}}}}
	h.c.OffsetDelete(del)
	dg := kmsg.NewPtrDeleteGroupsRequest()
	dg.Groups = []string{"billing"}
	h.c.DeleteGroups(dg)

	var b strings.Builder
	for _, r := range h.c.TakeRecords() {
		b.WriteString("key   " + hex.EncodeToString(r.Key) + "\n")
		if r.Value == nil {
			b.WriteString("value null\n")
		} else {
			b.WriteString("value " + hex.EncodeToString(r.Value) + "\n")
		}
	}
	path := filepath.Join("testdata", "offset-records.golden")
	if *rewrite {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -rewrite to create it)", err)
	}
	if b.String() != string(want) {
		t.Fatalf("records differ from %s:\n%s\nwant:\n%s", path, b.String(), want)
	}
}
