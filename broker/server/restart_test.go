package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/server"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestRestartKeepsTopicsAndData: topics (ids, partitions, configs), the
// cluster id and the records survive a clean restart, and appends go on
// from the old end offsets.
func TestRestartKeepsTopicsAndData(t *testing.T) {
	b := brokertest.Start(t)
	ctx := testCtx(t)
	adm := newAdmin(t, b.Addr())
	created, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"retention.ms": kadm.StringPtr("123456")}, "keep")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.DeleteTopic(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	md1, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prod := newClient(t, b.Addr(), kgo.DefaultProduceTopic("keep"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := range 20 {
		if err := prod.ProduceSync(ctx, &kgo.Record{Partition: int32(i % 2), Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	b.Restart()

	adm2 := newAdmin(t, b.Addr())
	md2, err := adm2.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md2.Cluster != md1.Cluster {
		t.Errorf("cluster id changed from %s to %s", md1.Cluster, md2.Cluster)
	}
	if md2.Topics.Has("gone") {
		t.Errorf("deleted topic is back after restart")
	}
	td := md2.Topics["keep"]
	if td.ID != created.ID || len(td.Partitions) != 2 {
		t.Fatalf("after restart: id %v, %d partitions; want %v, 2", td.ID, len(td.Partitions), created.ID)
	}
	cfgs := describeTopic(t, adm2, "keep")
	if v := val(cfgs["retention.ms"]); v != "123456" {
		t.Errorf("retention.ms after restart = %s, want 123456", v)
	}
	end, err := adm2.ListEndOffsets(ctx, "keep")
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(2) {
		if o, _ := end.Lookup("keep", p); o.Offset != 10 {
			t.Errorf("partition %d end offset after restart = %d, want 10", p, o.Offset)
		}
	}
	prod2 := newClient(t, b.Addr(), kgo.DefaultProduceTopic("keep"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	r := &kgo.Record{Partition: 0, Value: []byte("after")}
	if err := prod2.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if r.Offset != 10 {
		t.Errorf("first append after restart at offset %d, want 10", r.Offset)
	}
	if _, err := os.Stat(filepath.Join(b.DataDir(), "gone-0")); !os.IsNotExist(err) {
		t.Errorf("files of the deleted topic remain: %v", err)
	}
}

// TestRestartRemovesOrphanPartitions: a partition directory the metadata
// does not know (a crash after deleting a topic from the metadata but
// before deleting its files) is removed at start.
func TestRestartRemovesOrphanPartitions(t *testing.T) {
	b := brokertest.Start(t)
	orphan := filepath.Join(b.DataDir(), "ghost-0")
	if err := os.MkdirAll(orphan, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(orphan, "00000000000000000000.log"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Restart()
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Fatalf("orphan partition directory survived the restart: %v", err)
	}
	md, err := newAdmin(t, b.Addr()).ListTopics(testCtx(t))
	if err != nil || md.Has("ghost") {
		t.Fatalf("ghost topic listed: %v %v", err, md.Names())
	}
}

// TestStartRefusesPartitionsWithoutMetadata: a data directory with
// partition directories but no metadata log is not silently emptied.
func TestStartRefusesPartitionsWithoutMetadata(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "orders-0"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.KafkaAddr = dir, "127.0.0.1:0"
	s, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(context.Background())
	if err == nil {
		s.Close()
		t.Fatal("Start succeeded on a data dir with partitions but no metadata log")
	}
	if !strings.Contains(err.Error(), "orders-0") || !strings.Contains(err.Error(), "__cluster_metadata-0") {
		t.Errorf("error %q should name the partition directory and the metadata log", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "orders-0")); statErr != nil {
		t.Errorf("partition directory touched: %v", statErr)
	}
}

func TestStartFailsOnBusyPort(t *testing.T) {
	b := brokertest.Start(t)
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.KafkaAddr = t.TempDir(), b.Addr()
	s, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		s.Close()
		t.Fatalf("Start on a port in use succeeded")
	} else if !strings.Contains(err.Error(), "kafka-addr") {
		t.Errorf("error %q does not name kafka-addr", err)
	}
}

// TestCloseAnswersInFlight: Close ends a parked long-poll early and the
// client still gets its response before the connection closes.
func TestCloseAnswersInFlight(t *testing.T) {
	b := brokertest.Start(t)
	if _, err := newAdmin(t, b.Addr()).CreateTopic(testCtx(t), 1, 1, nil, "bye"); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, b.Addr())
	c.send(fetchReq("bye", 0, 0, 120000, 1, 1<<20, 1<<20), 1)
	// Only requests the broker has read are answered at shutdown: wait
	// until the fetch is parked.
	deadline := time.Now().Add(20 * time.Second)
	for b.Server().Stats().Waiting == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the fetch never parked")
		}
		time.Sleep(time.Millisecond)
	}
	srv := b.Server()
	closed := make(chan struct{})
	go func() {
		_ = srv.Close() // brokertest's Close would race with its cleanup
		close(closed)
	}()
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = 12
	c.read(1, resp)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 {
		t.Errorf("in-flight fetch answered with error %d", p.ErrorCode)
	}
	c.expectClosed()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return")
	}
}

// TestMetadataV0AllTopics: kafka-python's first request, Metadata v0 with
// an empty list, means every topic.
func TestMetadataV0AllTopics(t *testing.T) {
	b := brokertest.Start(t)
	adm := newAdmin(t, b.Addr())
	for _, name := range []string{"a", "b"} {
		if _, err := adm.CreateTopic(testCtx(t), 1, 1, nil, name); err != nil {
			t.Fatal(err)
		}
	}
	c := dialRaw(t, b.Addr())
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 0
	req.Topics = []kmsg.MetadataRequestTopic{}
	c.send(req, 1)
	resp := kmsg.NewPtrMetadataResponse()
	resp.Version = 0
	c.read(1, resp)
	if len(resp.Topics) != 2 {
		t.Fatalf("Metadata v0 with no topics listed %d topics, want 2", len(resp.Topics))
	}
	// v1+: an empty (non-null) list means none.
	req.Version = 1
	c.send(req, 2)
	resp = kmsg.NewPtrMetadataResponse()
	resp.Version = 1
	c.read(2, resp)
	if len(resp.Topics) != 0 {
		t.Fatalf("Metadata v1 with an empty list returned %d topics, want 0", len(resp.Topics))
	}
}
