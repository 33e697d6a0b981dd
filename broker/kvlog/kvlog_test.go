package kvlog_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/millstream/millstream/broker/kvlog"
	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

func appendKV(t *testing.T, l *storage.Log, from, n int) {
	t.Helper()
	rs := make([]record.Record, n)
	for i := range rs {
		rs[i] = record.Record{Key: fmt.Appendf(nil, "k%d", (from+i)%7), Value: fmt.Appendf(nil, "v%d", from+i)}
	}
	b, err := record.Build(0, rs...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(b); err != nil {
		t.Fatal(err)
	}
}

// state replays l into a map and returns it with the record count.
func state(t *testing.T, l *storage.Log) (map[string]string, int) {
	t.Helper()
	m := map[string]string{}
	n, err := kvlog.Replay(l, func(k, v []byte) error {
		m[string(k)] = string(v)
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return m, n
}

func TestReplayAndRewrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	d := kvlog.Dir{Path: dir, Temp: dir + ".compact", Options: storage.Options{RetentionMs: -1}}
	l, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1200; i += 40 {
		appendKV(t, l, i, 40)
	}
	want, n := state(t, l)
	if n != 1200 || len(want) != 7 || want["k0"] != "v1197" {
		t.Fatalf("Replay = %d records, state %v", n, want)
	}
	var live []record.Record
	for k, v := range want {
		live = append(live, record.Record{Key: []byte(k), Value: []byte(v)})
	}
	l2, err := d.Rewrite(l, live)
	if err != nil || l2 == nil || l2 == l {
		t.Fatalf("Rewrite = %p (old %p), %v", l2, l, err)
	}
	got, n := state(t, l2)
	if n != 7 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after Rewrite: %d records, %v; want 7, %v", n, got, want)
	}
	appendKV(t, l2, 5000, 1)
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir + ".compact", dir + ".old"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", p, err)
		}
	}
	l3, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer l3.Close()
	if got, n := state(t, l3); n != 8 || got["k2"] != "v5000" {
		t.Fatalf("reopened: %d records, %v", n, got)
	}
}

func TestReplayStopsAtError(t *testing.T) {
	d := kvlog.Dir{Path: filepath.Join(t.TempDir(), "s")}
	l, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendKV(t, l, 0, 10)
	boom := errors.New("boom")
	calls := 0
	n, err := kvlog.Replay(l, func(k, v []byte) error {
		if calls++; calls == 4 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 3 || err.Error() != "record at offset 3: boom" {
		t.Fatalf("Replay = %d, %v; want 3, record at offset 3: boom", n, err)
	}
}

// TestOpenAfterCrash: each state a crash can leave mid-rewrite opens as
// one log with every record of either the old or the new one.
func TestOpenAfterCrash(t *testing.T) {
	build := func(t *testing.T, dir string, from, n int) {
		t.Helper()
		l, err := storage.Open(dir, storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		appendKV(t, l, from, n)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name          string
		dir, tmp, old bool
		want          int // records after Open
	}{
		{"tmp being written", true, true, false, 20},
		{"between renames", false, true, true, 3},
		{"old not removed", true, false, true, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "s")
			d := kvlog.Dir{FS: vfs.Default, Path: dir}
			if c.dir {
				build(t, dir, 0, map[bool]int{true: 20, false: 3}[c.tmp])
			}
			if c.tmp {
				build(t, dir+".rewrite", 100, 3)
			}
			if c.old {
				build(t, dir+".old", 0, 20)
			}
			l, err := d.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if _, n := state(t, l); n != c.want {
				t.Fatalf("Open: %d records, want %d", n, c.want)
			}
			for _, p := range []string{dir + ".rewrite", dir + ".old"} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s left behind: %v", p, err)
				}
			}
		})
	}
}

// TestRewriteWriteFails: a fault while writing the fresh log leaves the old
// one open and whole.
func TestRewriteWriteFails(t *testing.T) {
	fy := vfs.NewFaulty(vfs.Default)
	d := kvlog.Dir{FS: fy, Path: filepath.Join(t.TempDir(), "s")}
	l, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendKV(t, l, 0, 30)
	fy.SetTransient(true)
	fy.FailSyncAt(1)
	got, err := d.Rewrite(l, []record.Record{{Key: []byte("k"), Value: []byte("v")}})
	if err == nil || got != l {
		t.Fatalf("Rewrite with a failing sync = %p (old %p), %v; want old and an error", got, l, err)
	}
	fy.Heal()
	if _, n := state(t, l); n != 30 {
		t.Fatalf("old log after a failed rewrite: %d records, want 30", n)
	}
}
