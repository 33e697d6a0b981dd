package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

// TestGroupCommitSharesOneFsync holds the first fsync in flight while ten
// more producers append and call Sync: they must all be served by one more
// fsync, two in all.
func TestGroupCommitSharesOneFsync(t *testing.T) {
	forEachFS(t, storage.Options{}, func(t *testing.T, e *env) {
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

		ctx := context.Background()
		first := e.append(1, 100)
		errs := make(chan error, 11)
		go func() { errs <- e.log.Sync(ctx, first.LastOffset+1) }()
		<-entered

		var appended sync.WaitGroup
		for range 10 {
			appended.Add(1)
			b := makeBatch(t, e.rng, 1, 100, 0)
			go func() {
				res, err := e.log.Append(b)
				appended.Done()
				if err != nil {
					errs <- err
					return
				}
				errs <- e.log.Sync(ctx, res.LastOffset+1)
			}()
		}
		appended.Wait()
		close(release)
		for range 11 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if got := e.fy.Syncs() - before; got != 2 {
			t.Fatalf("11 Sync calls made %d fsyncs, want 2 (one in flight, one shared by the 10 that arrived during it)", got)
		}
		// Everything is durable now: a crash loses nothing.
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

func TestSyncWithNothingNewDoesNotFsync(t *testing.T) {
	e := newEnv(t, storage.Options{})
	res := e.append(1, 1)
	ctx := context.Background()
	if err := e.log.Sync(ctx, res.LastOffset+1); err != nil {
		t.Fatal(err)
	}
	n := e.fy.Syncs()
	for range 5 {
		if err := e.log.Sync(ctx, res.LastOffset+1); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.log.Sync(ctx, 1<<60); err != nil { // capped at the end offset
		t.Fatal(err)
	}
	if e.fy.Syncs() != n {
		t.Fatalf("Sync of already durable data made %d fsyncs", e.fy.Syncs()-n)
	}
}

func TestSyncHonoursContextWhileWaiting(t *testing.T) {
	e := newEnv(t, storage.Options{})
	entered := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	e.fy.SetSyncHook(func(string) {
		once.Do(func() {
			close(entered)
			<-release
		})
	})
	res := e.append(1, 1)
	done := make(chan error, 1)
	go func() { done <- e.log.Sync(context.Background(), res.LastOffset+1) }()
	<-entered
	res2 := e.append(1, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := e.log.Sync(ctx, res2.LastOffset+1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sync with an expiring context while an fsync is stuck = %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentAppendReadSync runs producers, syncers and readers
// together (meant for -race) and checks that every acknowledged batch is
// read back intact and in offset order.
func TestConcurrentAppendReadSync(t *testing.T) {
	for _, wb := range []bool{false, true} {
		t.Run(fmt.Sprintf("write-behind=%v", wb), func(t *testing.T) { testConcurrentAppendReadSync(t, wb) })
	}
}

func testConcurrentAppendReadSync(t *testing.T, writeBehind bool) {
	forEachFS(t, storage.Options{SegmentBytes: 16 << 10, IndexIntervalBytes: 512, WriteBehind: writeBehind}, func(t *testing.T, e *env) {
		const producers, perProducer = 4, 100
		var wg sync.WaitGroup
		stop := make(chan struct{})
		readErr := make(chan error, 1)
		go func() {
			defer close(readErr)
			off := int64(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				data, err := e.log.Read(off, 4096)
				if err != nil {
					readErr <- err
					return
				}
				if data == nil {
					select {
					case <-e.log.Appended():
					case <-stop:
						return
					}
					continue
				}
				parts, err := record.Split(data)
				if err != nil {
					readErr <- err
					return
				}
				for _, p := range parts {
					h, err := record.Validate(p)
					if err != nil {
						readErr <- err
						return
					}
					if h.BaseOffset > off || h.LastOffset() < off {
						readErr <- errors.New("batches out of order")
						return
					}
					off = h.LastOffset() + 1
				}
			}
		}()
		batches := make([][][]byte, producers)
		for p := range producers {
			for range perProducer {
				batches[p] = append(batches[p], makeBatch(t, e.rng, 2, 64, 0))
			}
		}
		for p := range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, b := range batches[p] {
					res, err := e.log.Append(b)
					if err != nil {
						t.Error(err)
						return
					}
					if err := e.log.Sync(context.Background(), res.LastOffset+1); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		if err := <-readErr; err != nil {
			t.Fatal(err)
		}
		got := e.readAll(0)
		if len(got) != producers*perProducer {
			t.Fatalf("read %d batches, want %d", len(got), producers*perProducer)
		}
		if e.fy.Syncs() >= producers*perProducer {
			t.Logf("no fsync sharing happened (%d fsyncs); fine on a fast machine", e.fy.Syncs())
		}
	})
}

func TestSyncAllRunsFsyncsTogether(t *testing.T) {
	mem := vfs.NewMem()
	fy := vfs.NewFaulty(mem)
	// Each fsync of a .log waits until all three are in flight: SyncAll
	// passes only if it runs them at the same time.
	var arrived atomic.Int32
	all := make(chan struct{})
	var serial atomic.Bool
	fy.SetSyncHook(func(name string) {
		if !strings.HasSuffix(name, ".log") {
			return
		}
		if arrived.Add(1) == 3 {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			serial.Store(true)
		}
	})
	var points []storage.SyncPoint
	for i := range 3 {
		l, err := storage.Open(fmt.Sprintf("/data/t-%d", i), storage.Options{FS: fy})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		b, _ := record.Build(0, record.Record{Value: []byte("x")})
		res, err := l.Append(b)
		if err != nil {
			t.Fatal(err)
		}
		points = append(points, storage.SyncPoint{Log: l, UpTo: res.LastOffset + 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := storage.SyncAll(ctx, points...); err != nil {
		t.Fatal(err)
	}
	fy.SetSyncHook(nil)
	if serial.Load() {
		t.Fatal("the fsyncs of SyncAll did not run at the same time")
	}
	for _, p := range points {
		if p.Log.DurableOffset() != 1 {
			t.Fatalf("%s: DurableOffset = %d after SyncAll", p.Log.Dir(), p.Log.DurableOffset())
		}
	}
}
