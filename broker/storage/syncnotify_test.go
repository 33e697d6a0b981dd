package storage_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/storage"
)

// notified collects SyncNotify callbacks: which call (by index) was called
// back, in what order, with what error, and the durable offset it saw.
type notified struct {
	mu      sync.Mutex
	order   []int
	errs    map[int]error
	durable map[int]int64
	all     chan struct{}
	want    int
}

func newNotified(want int) *notified {
	return &notified{errs: map[int]error{}, durable: map[int]int64{}, all: make(chan struct{}), want: want}
}

func (n *notified) callback(l *storage.Log, i int) func(error) {
	return func(err error) {
		d := l.DurableOffset()
		n.mu.Lock()
		defer n.mu.Unlock()
		if _, dup := n.errs[i]; dup {
			panic("SyncNotify called back twice")
		}
		n.order = append(n.order, i)
		n.errs[i], n.durable[i] = err, d
		if len(n.order) == n.want {
			close(n.all)
		}
	}
}

func (n *notified) wait(t *testing.T) {
	t.Helper()
	select {
	case <-n.all:
	case <-time.After(10 * time.Second):
		n.mu.Lock()
		defer n.mu.Unlock()
		t.Fatalf("%d of %d SyncNotify callbacks after 10s", len(n.order), n.want)
	}
}

// TestSyncNotifySharesOneFsync holds the fsync of a first SyncNotify in
// flight while ten more batches are appended and notified: one more fsync
// serves the ten, each callback sees its batch durable, and they are
// called back last call first.
func TestSyncNotifySharesOneFsync(t *testing.T) {
	forEachFS(t, storage.Options{WriteBehind: true}, func(t *testing.T, e *env) {
		entered := make(chan struct{})
		release := make(chan struct{})
		var once sync.Once
		e.fy.SetSyncHook(func(name string) {
			if strings.HasSuffix(name, ".log") {
				once.Do(func() {
					close(entered)
					<-release
				})
			}
		})
		before := e.fy.Syncs()
		n := newNotified(11)
		upTo := map[int]int64{}
		first := e.append(1, 100)
		upTo[0] = first.LastOffset + 1
		e.log.SyncNotify(upTo[0], n.callback(e.log, 0))
		<-entered
		for i := 1; i <= 10; i++ {
			res := e.append(1, 100)
			upTo[i] = res.LastOffset + 1
			e.log.SyncNotify(upTo[i], n.callback(e.log, i))
		}
		close(release)
		n.wait(t)
		if got := e.fy.Syncs() - before; got != 2 {
			t.Fatalf("11 SyncNotify calls made %d fsyncs, want 2 (one in flight, one shared by the 10 that arrived during it)", got)
		}
		want := []int{0, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
		for i, w := range want {
			if n.order[i] != w {
				t.Fatalf("callback order %v, want %v", n.order, want)
			}
		}
		for i := range 11 {
			if n.errs[i] != nil {
				t.Fatalf("callback %d: %v", i, n.errs[i])
			}
			if n.durable[i] < upTo[i] {
				t.Fatalf("callback %d ran with durable offset %d, before its offsets below %d were", i, n.durable[i], upTo[i])
			}
		}
		// Everything acknowledged survives a crash.
		e.abandon()
		if e.mem != nil {
			e.mem.Crash()
		}
		e.open()
		if got := e.log.EndOffset(); got != 11 {
			t.Fatalf("EndOffset after crash = %d, want 11", got)
		}
	})
}

// TestSyncNotifyDurableCallsBackAtOnce: with nothing to fsync the callback
// runs before SyncNotify returns, and no fsync is made.
func TestSyncNotifyDurableCallsBackAtOnce(t *testing.T) {
	e := newEnv(t, storage.Options{})
	res := e.append(1, 1)
	n := newNotified(1)
	e.log.SyncNotify(res.LastOffset+1, n.callback(e.log, 0))
	n.wait(t)
	syncs := e.fy.Syncs()
	n = newNotified(1)
	e.log.SyncNotify(1<<60, n.callback(e.log, 0)) // capped at the end offset
	select {
	case <-n.all:
	default:
		t.Fatal("SyncNotify of durable offsets did not call back before returning")
	}
	if n.errs[0] != nil || e.fy.Syncs() != syncs {
		t.Fatalf("err %v, %d fsyncs", n.errs[0], e.fy.Syncs()-syncs)
	}
}

// TestSyncNotifyFailures: a failed fsync calls back every waiter with
// ErrLogFailed, and a closed log answers ErrClosed.
func TestSyncNotifyFailures(t *testing.T) {
	e := newEnv(t, storage.Options{WriteBehind: true})
	e.fy.FailSyncAt(1)
	res := e.append(1, 1)
	n := newNotified(1)
	e.log.SyncNotify(res.LastOffset+1, n.callback(e.log, 0))
	n.wait(t)
	if !errors.Is(n.errs[0], storage.ErrLogFailed) {
		t.Fatalf("SyncNotify after a failed fsync = %v, want ErrLogFailed", n.errs[0])
	}

	e2 := newEnv(t, storage.Options{})
	res = e2.append(1, 1)
	if err := e2.log.Close(); err != nil {
		t.Fatal(err)
	}
	n = newNotified(2)
	e2.log.SyncNotify(res.LastOffset+1, n.callback(e2.log, 0)) // made durable by Close
	e2.log.SyncNotify(res.LastOffset+2, n.callback(e2.log, 1)) // never appended
	n.wait(t)
	if n.errs[0] != nil {
		t.Fatalf("SyncNotify of offsets a clean close made durable = %v", n.errs[0])
	}
	if !errors.Is(n.errs[1], storage.ErrClosed) {
		t.Fatalf("SyncNotify past the end of a closed log = %v, want ErrClosed", n.errs[1])
	}
}
