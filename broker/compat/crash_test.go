package compat_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// numbered is the value layout of crash-test records:
//
//	| seq uint64 | crc32 (IEEE) of payload uint32 | payload |
//
// so a reader can tell which record it holds and whether its bytes are intact.
type numbered struct {
	seq     uint64
	payload []byte
}

func (n numbered) encode() []byte {
	b := make([]byte, 12, 12+len(n.payload))
	binary.BigEndian.PutUint64(b, n.seq)
	binary.BigEndian.PutUint32(b[8:], crc32.ChecksumIEEE(n.payload))
	return append(b, n.payload...)
}

func decodeNumbered(v []byte) (uint64, error) {
	if len(v) < 12 {
		return 0, fmt.Errorf("value of %d bytes is too short for a numbered record", len(v))
	}
	seq := binary.BigEndian.Uint64(v)
	if got, want := crc32.ChecksumIEEE(v[12:]), binary.BigEndian.Uint32(v[8:]); got != want {
		return seq, fmt.Errorf("record %d: payload crc %08x, want %08x (corrupt bytes served)", seq, got, want)
	}
	return seq, nil
}

// ackLog records which numbered records the broker acknowledged, and where.
type ackLog struct {
	mu     sync.Mutex
	pos    map[uint64][2]int64 // seq -> acknowledged (partition, offset)
	errs   map[string]int      // produce error text -> count
	failed int
}

func (a *ackLog) acked() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pos)
}

// crashRun drives a producer of numbered records (record seq goes to
// partition seq % partitions) while it kills and restarts the broker.
type crashRun struct {
	cycles       int // SIGKILLs while producing; one more follows the final flush
	ackedPerKill int // acknowledgements to wait for after each (re)start
	partitions   int32
}

// run produces until the broker has been killed c.cycles times, flushes,
// kills and restarts it once more, and returns what was acknowledged.
func (c crashRun) run(t *testing.T, b *broker, cl *kgo.Client, seed uint64) *ackLog {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	acks := &ackLog{pos: map[uint64][2]int64{}, errs: map[string]int{}}

	// The producer goroutine belongs to this test: closing stop ends it once
	// its current Produce call returns; cancelling prodCtx also fails the
	// records still buffered, for when the broker never comes back.
	prodCtx, prodCancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		prng := rand.New(rand.NewPCG(seed, 6))
		for seq := uint64(0); ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			payload := make([]byte, 64+prng.IntN(192))
			for i := range payload {
				payload[i] = byte(prng.Uint32())
			}
			rec := &kgo.Record{Partition: int32(seq % uint64(c.partitions)), Value: numbered{seq, payload}.encode()}
			cl.Produce(prodCtx, rec, func(r *kgo.Record, err error) {
				acks.mu.Lock()
				defer acks.mu.Unlock()
				if err != nil {
					acks.errs[err.Error()]++
					acks.failed++
					return
				}
				acks.pos[binary.BigEndian.Uint64(r.Value)] = [2]int64{int64(r.Partition), r.Offset}
			})
		}
	})
	stopped := false
	stopProducer := func() {
		if stopped {
			return
		}
		stopped = true
		close(stop)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			prodCancel()
			<-done
		}
	}
	t.Cleanup(func() {
		prodCancel()
		stopProducer()
	})

	waitAcks := func(what string) {
		t.Helper()
		from := acks.acked()
		eventually(t, 20*time.Second, what, func() error {
			if n := acks.acked() - from; n < c.ackedPerKill {
				return fmt.Errorf("%d new acknowledgements, want %d", n, c.ackedPerKill)
			}
			return nil
		})
	}

	for cycle := 1; cycle <= c.cycles; cycle++ {
		waitAcks(fmt.Sprintf("cycle %d: produce before the kill", cycle))
		// A random moment in the middle of writing.
		delay := time.Duration(rng.IntN(300)) * time.Millisecond
		timer := time.NewTimer(delay)
		<-timer.C
		before := acks.acked()
		b.Kill()
		start := time.Now()
		b.Restart()
		t.Logf("cycle %d: killed after +%v with %d acknowledged; restarted in %v", cycle, delay, before, time.Since(start).Round(time.Millisecond))
	}
	waitAcks("produce after the last restart")
	stopProducer()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flush the producer: %v", err)
	}
	// The last acknowledgements must survive a crash too.
	b.Kill()
	b.Restart()

	acks.mu.Lock()
	defer acks.mu.Unlock()
	if len(acks.errs) > 0 {
		t.Logf("unacknowledged records by error: %v", acks.errs)
	}
	if n := len(acks.pos); n < (c.cycles+1)*c.ackedPerKill {
		t.Fatalf("only %d records acknowledged; the test proves little", n)
	}
	return acks
}

// crashProducerOpts are the producer settings of the crash tests: as fast
// as possible, small batches, quick retries.
func crashProducerOpts(topic string) []kgo.Opt {
	return []kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.ProducerBatchMaxBytes(16 << 10),
		kgo.MaxBufferedRecords(5000),
		kgo.ProduceRequestTimeout(10 * time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
		kgo.MetadataMinAge(50 * time.Millisecond),
		kgo.UnknownTopicRetries(-1),
	}
}

// crashSegmentBytes makes segments roll every few hundred records, so kills
// also land around segment rolls and recovery sees several segments.
const crashSegmentBytes = "262144"

// TestCrashKeepsAcknowledgedRecords kills the broker with SIGKILL at random
// moments while a producer with acks=all writes as fast as it can with
// several requests in flight, restarts it on the same data directory, and
// checks that every acknowledged record is in the log at the offset the
// broker acknowledged, with intact bytes, and that the log is readable to its
// end with contiguous offsets. The producer is not idempotent, so retries of
// unacknowledged requests may leave extra copies; only acknowledged records
// are counted.
func TestCrashKeepsAcknowledgedRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test kills and restarts the broker several times; runs without -short")
	}
	// A process kill loses nothing the broker has written to the OS, so
	// acks=1 and the relaxed fsync policies must keep acknowledged records
	// too; only a machine crash may lose what was not fsynced.
	for _, tc := range []struct {
		name string
		acks kgo.Acks
		args []string
	}{
		{"acks=all", kgo.AllISRAcks(), nil},
		{"acks=1", kgo.LeaderAck(), nil},
		{"acks=all fsync=interval", kgo.AllISRAcks(), []string{"--fsync", "interval=50ms"}},
		{"acks=all fsync=never", kgo.AllISRAcks(), []string{"--fsync", "never"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const topic = "crash"
			b := startBroker(t, withArgs(tc.args...))
			createTopic(t, b.Addr(), topic, 1, "segment.bytes", crashSegmentBytes)
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			cl := newClient(t, b.Addr(), append(crashProducerOpts(topic),
				kgo.RequiredAcks(tc.acks),
				kgo.DisableIdempotentWrite(),
				kgo.MaxProduceRequestsInflightPerBroker(5))...)
			run := crashRun{cycles: 5, ackedPerKill: 300, partitions: 1}
			acks := run.run(t, b, cl, seed)
			acked := map[uint64]int64{}
			for seq, pos := range acks.pos {
				acked[seq] = pos[1]
			}

			meta := newClient(t, b.Addr())
			start, end := endOffsets(t, meta, topic)
			recs := readAll(t, b.Addr(), topic, 60*time.Second)
			checkContiguous(t, recs, start, end)
			if start[0] != 0 {
				t.Fatalf("log start offset = %d, want 0", start[0])
			}
			values := make([][]byte, len(recs[0]))
			for i, r := range recs[0] {
				values[i] = r.Value
			}
			st, err := checkCrashLog(values, acked)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d records acknowledged over %d kills, all present; log holds %d records (%d extra copies from retries, %d unacknowledged records present)",
				len(acked), run.cycles+1, len(values), st.extraCopies, st.unacked)
			checkKcatReadsLog(t, b.Addr(), topic, values)
		})
	}
}

// TestCrashIdempotentProducerNoDuplicates is the crash test with franz-go's
// idempotent producer on three partitions: the broker must rebuild producer
// state after each SIGKILL, so retries across the crash are deduplicated and
// every partition holds every record sent to it exactly once, in order.
func TestCrashIdempotentProducerNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test kills and restarts the broker several times; runs without -short")
	}
	const (
		topic      = "crash-idempotent"
		partitions = 3
	)
	b := startBroker(t)
	requireAPI(t, b.Addr(), kmsg.InitProducerID, "the idempotent producer")
	createTopic(t, b.Addr(), topic, partitions, "segment.bytes", crashSegmentBytes)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	cl := newClient(t, b.Addr(), crashProducerOpts(topic)...)
	run := crashRun{cycles: 5, ackedPerKill: 300, partitions: partitions}
	acks := run.run(t, b, cl, seed)
	if acks.failed > 0 {
		t.Fatalf("%d records failed; an idempotent producer with unlimited retries must deliver all: %v", acks.failed, acks.errs)
	}

	recs := readAll(t, b.Addr(), topic, 60*time.Second)
	start, end := endOffsets(t, newClient(t, b.Addr()), topic)
	checkContiguous(t, recs, start, end)
	total := 0
	for p := range int32(partitions) {
		want := uint64(p)
		for _, r := range recs[p] {
			seq, err := decodeNumbered(r.Value)
			if err != nil {
				t.Fatalf("partition %d offset %d: %v", p, r.Offset, err)
			}
			if seq != want {
				t.Fatalf("partition %d offset %d holds record %d, want %d (every record exactly once, in order)", p, r.Offset, seq, want)
			}
			if pos := acks.pos[seq]; pos != [2]int64{int64(p), r.Offset} {
				t.Fatalf("record %d at partition %d offset %d, acknowledged at %v", seq, p, r.Offset, pos)
			}
			want += partitions
			total++
		}
	}
	if total != len(acks.pos) {
		t.Fatalf("log holds %d records, %d were acknowledged", total, len(acks.pos))
	}
	t.Logf("%d records over %d kills, each exactly once, in order", total, run.cycles+1)
}

// crashStats describes a log that passed checkCrashLog.
type crashStats struct {
	extraCopies int // records present more than once (retries of lost responses)
	unacked     int // distinct records present but never acknowledged
}

// checkCrashLog checks a partition read from offset 0 (values[i] is the value
// at offset i) against the acknowledgements: every record is intact, and
// every acknowledged record sits at the offset the broker acknowledged.
func checkCrashLog(values [][]byte, acked map[uint64]int64) (crashStats, error) {
	copies := map[uint64]int{}
	for off, v := range values {
		seq, err := decodeNumbered(v)
		if err != nil {
			return crashStats{}, fmt.Errorf("offset %d: %w", off, err)
		}
		copies[seq]++
	}
	var missing []uint64
	for seq, off := range acked {
		if off < 0 || off >= int64(len(values)) {
			missing = append(missing, seq)
			continue
		}
		if got, _ := decodeNumbered(values[off]); got != seq {
			missing = append(missing, seq)
		}
	}
	if len(missing) > 0 {
		sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
		first := missing[0]
		var at string
		if off := acked[first]; off >= 0 && off < int64(len(values)) {
			got, _ := decodeNumbered(values[off])
			at = fmt.Sprintf("offset %d holds record %d", off, got)
		} else {
			at = fmt.Sprintf("the log ends at offset %d", len(values))
		}
		return crashStats{}, fmt.Errorf("%d of %d acknowledged records are not at their acknowledged offset; first: record %d acknowledged at offset %d, but %s",
			len(missing), len(acked), first, acked[first], at)
	}
	var st crashStats
	for seq, n := range copies {
		st.extraCopies += n - 1
		if _, ok := acked[seq]; !ok {
			st.unacked++
		}
	}
	return st, nil
}

// TestCheckCrashLog shows that the crash test's check fails on the losses it
// is there to catch.
func TestCheckCrashLog(t *testing.T) {
	rec := func(seq uint64) []byte { return numbered{seq, []byte{byte(seq), 1, 2, 3}}.encode() }
	corrupt := rec(2)
	corrupt[len(corrupt)-1] ^= 0xff
	for _, tc := range []struct {
		name    string
		log     [][]byte
		acked   map[uint64]int64
		wantErr bool
	}{
		{"all present", [][]byte{rec(0), rec(1), rec(2)}, map[uint64]int64{0: 0, 1: 1, 2: 2}, false},
		{"retry copies and unacknowledged extras", [][]byte{rec(0), rec(1), rec(1), rec(3)}, map[uint64]int64{0: 0, 1: 2}, false},
		{"acknowledged tail lost", [][]byte{rec(0), rec(1)}, map[uint64]int64{0: 0, 1: 1, 2: 2}, true},
		{"acknowledged offset reused", [][]byte{rec(0), rec(5), rec(2)}, map[uint64]int64{0: 0, 1: 1, 2: 2}, true},
		{"corrupt bytes", [][]byte{rec(0), rec(1), corrupt}, map[uint64]int64{0: 0, 1: 1}, true},
		{"truncated value", [][]byte{rec(0), {1, 2, 3}}, map[uint64]int64{0: 0}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkCrashLog(tc.log, tc.acked)
			if (err != nil) != tc.wantErr {
				t.Fatalf("checkCrashLog() error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// checkKcatReadsLog reads partition 0 of topic with kcat (librdkafka, which
// then checks every batch's CRC) and compares it with what franz-go read: the
// same offsets from 0 and the same value sizes.
func checkKcatReadsLog(t *testing.T, addr, topic string, values [][]byte) {
	t.Helper()
	kcat := requireKcat(t)
	out, err := runTool(t, 2*time.Minute, nil, kcat, "-b", addr, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
		"-X", "check.crcs=true", "-f", `%o %S\n`)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	if len(lines) != len(values) {
		t.Fatalf("kcat read %d records after the crashes, franz-go %d", len(lines), len(values))
	}
	for i, l := range lines {
		if want := fmt.Sprintf("%d %d", i, len(values[i])); string(l) != want {
			t.Fatalf("kcat record %d: %q, want %q (offset and value size)", i, l, want)
		}
	}
}
