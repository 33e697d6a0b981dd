package compat_test

import (
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
	offset map[uint64]int64 // seq -> acknowledged offset
	errs   map[string]int   // produce error text -> count
}

func (a *ackLog) acked() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.offset)
}

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
	const (
		cycles       = 5
		ackedPerKill = 300 // acknowledgements to wait for after each (re)start
		topic        = "crash"
	)
	b := startBroker(t)
	createTopic(t, b.Addr(), topic, 1)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 5))

	cl := newClient(t, b.Addr(),
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DisableIdempotentWrite(),
		kgo.MaxProduceRequestsInflightPerBroker(5),
		kgo.ProducerLinger(0),
		kgo.ProducerBatchMaxBytes(16<<10),
		kgo.MaxBufferedRecords(5000),
		kgo.ProduceRequestTimeout(10*time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
		kgo.MetadataMinAge(50*time.Millisecond),
		kgo.UnknownTopicRetries(-1),
	)
	acks := &ackLog{offset: map[uint64]int64{}, errs: map[string]int{}}

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
			rec := &kgo.Record{Value: numbered{seq, payload}.encode()}
			cl.Produce(prodCtx, rec, func(r *kgo.Record, err error) {
				acks.mu.Lock()
				defer acks.mu.Unlock()
				if err != nil {
					acks.errs[err.Error()]++
					return
				}
				acks.offset[binary.BigEndian.Uint64(r.Value)] = r.Offset
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
			if n := acks.acked() - from; n < ackedPerKill {
				return fmt.Errorf("%d new acknowledgements, want %d", n, ackedPerKill)
			}
			return nil
		})
	}

	for cycle := 1; cycle <= cycles; cycle++ {
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
	acked := acks.offset
	errs := acks.errs
	acks.mu.Unlock()
	if len(errs) > 0 {
		t.Logf("unacknowledged records by error: %v", errs)
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
		len(acked), cycles+1, len(values), st.extraCopies, st.unacked)
	if len(acked) < (cycles+1)*ackedPerKill {
		t.Fatalf("only %d records acknowledged; the test proves little", len(acked))
	}
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
