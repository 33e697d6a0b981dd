package storage_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
)

// The child side of TestKillNineKeepsAcknowledgedBatches: when this
// variable names a directory, TestKillChild appends and syncs there from
// several goroutines forever, printing "ack <base> <last>" after each Sync.
const killChildEnv = "MILLSTREAM_STORAGE_KILL_CHILD_DIR"

func TestKillChild(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		t.Skip("run by TestKillNineKeepsAcknowledgedBatches")
	}
	l, err := storage.Open(dir, storage.Options{SegmentBytes: 64 << 10})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	for p := range 4 {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(p), uint64(time.Now().UnixNano())))
			for {
				b := makeBatch(t, rng, 1+rng.IntN(3), 200+rng.IntN(800), time.Now().UnixMilli())
				res, err := l.Append(b)
				if err == nil {
					err = l.Sync(context.Background(), res.LastOffset+1)
				}
				mu.Lock()
				if err != nil {
					fmt.Fprintln(out, "error:", err)
				} else {
					fmt.Fprintf(out, "ack %d %d %08x\n", res.BaseOffset, res.LastOffset, crcOf(b))
				}
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	select {}
}

func crcOf(b []byte) uint32 {
	h, _ := record.ParseHeader(b)
	return h.CRC
}

func TestKillNineKeepsAcknowledgedBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes; skipped with -short")
	}
	dir := t.TempDir()
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it acknowledge a few hundred batches, then kill it.
		type ack struct {
			base, last int64
			crc        uint32
		}
		var acks []ack
		sc := bufio.NewScanner(stdout)
		for sc.Scan() && len(acks) < 300 {
			f := strings.Fields(sc.Text())
			if len(f) != 4 || f[0] != "ack" {
				t.Fatalf("child: %s", sc.Text())
			}
			base, _ := strconv.ParseInt(f[1], 10, 64)
			last, _ := strconv.ParseInt(f[2], 10, 64)
			crc, _ := strconv.ParseUint(f[3], 16, 32)
			acks = append(acks, ack{base, last, uint32(crc)})
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if len(acks) < 300 {
			t.Fatalf("round %d: child acknowledged only %d batches", round, len(acks))
		}

		l, err := storage.Open(dir, storage.Options{SegmentBytes: 64 << 10})
		if err != nil {
			t.Fatalf("round %d: Open after kill -9 = %v", round, err)
		}
		for _, a := range acks {
			data, err := l.Read(a.base, 1)
			if err != nil {
				t.Fatalf("round %d: acknowledged batch %d: %v", round, a.base, err)
			}
			h, err := record.Validate(data)
			if err != nil || h.BaseOffset != a.base || h.LastOffset() != a.last || h.CRC != a.crc {
				t.Fatalf("round %d: acknowledged batch [%d, %d] reads back as %+v, %v", round, a.base, a.last, h, err)
			}
		}
		// And the log as a whole is intact.
		n := 0
		for b, err := range l.Batches(0) {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if _, err := record.Validate(b); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			n++
		}
		if n < len(acks) {
			t.Fatalf("round %d: %d batches in the log, %d acknowledged", round, n, len(acks))
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
