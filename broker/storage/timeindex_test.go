package storage_test

import (
	"testing"
	"time"

	"github.com/millstream/millstream/broker/storage"
)

func TestOffsetForTime(t *testing.T) {
	forEachFS(t, storage.Options{SegmentBytes: 4 << 10, IndexIntervalBytes: 200}, func(t *testing.T, e *env) {
		// Timestamps mostly rise but jump back now and then, as producers'
		// clocks do. Each record: ts, ts+1, ... within its batch.
		type rec struct{ off, ts int64 }
		var recs []rec
		ts := int64(1000)
		for i := range 200 {
			if i%17 == 0 {
				ts -= 40
			} else {
				ts += int64(e.rng.IntN(20))
			}
			n := 1 + e.rng.IntN(4)
			b := makeBatch(t, e.rng, n, 100, ts)
			res, err := e.log.Append(b)
			if err != nil {
				t.Fatal(err)
			}
			for j := range n {
				recs = append(recs, rec{res.BaseOffset + int64(j), ts + int64(j)})
			}
		}
		// Kafka's answer: the first batch (in offset order) whose max timestamp
		// reaches target, and within it the first record that does; that is
		// the first record, in offset order, that reaches it.
		brute := func(target int64) (int64, int64, bool) {
			for _, r := range recs {
				if r.ts >= target {
					return r.off, r.ts, true
				}
			}
			return -1, -1, false
		}
		check := func() {
			t.Helper()
			for target := int64(900); target < ts+10; target += 7 {
				off, gotTS, found := e.log.OffsetForTime(target)
				wOff, wTS, wFound := brute(target)
				if found != wFound || off != wOff || gotTS != wTS {
					t.Fatalf("OffsetForTime(%d) = %d, %d, %v; want %d, %d, %v", target, off, gotTS, found, wOff, wTS, wFound)
				}
			}
		}
		check()
		e.reopen()
		check()
	})
}

func TestOffsetForTimeRespectsStartOffset(t *testing.T) {
	e := newEnv(t, storage.Options{})
	for i := range 10 {
		e.log.Append(makeBatch(t, e.rng, 1, 10, int64(100+i)))
	}
	if err := e.log.DeleteRecords(5); err != nil {
		t.Fatal(err)
	}
	off, ts, found := e.log.OffsetForTime(0)
	if !found || off != 5 || ts != 105 {
		t.Fatalf("OffsetForTime(0) = %d, %d, %v; want 5, 105, true", off, ts, found)
	}
	if _, _, found := e.log.OffsetForTime(1000); found {
		t.Fatal("OffsetForTime past every timestamp found something")
	}
}

func TestOffsetForTimeLogAppendTime(t *testing.T) {
	e := newEnv(t, storage.Options{LogAppendTime: true})
	var bases []int64
	for range 5 {
		res, err := e.log.Append(makeBatch(t, e.rng, 3, 10, 0))
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, res.BaseOffset)
		e.clock.Add(time.Second)
	}
	start := e.clock.Millis() - 5000
	off, ts, found := e.log.OffsetForTime(start + 1500)
	if !found || off != bases[2] || ts != start+2000 {
		t.Fatalf("OffsetForTime = %d, %d, %v; want %d, %d", off, ts, found, bases[2], start+2000)
	}
}
