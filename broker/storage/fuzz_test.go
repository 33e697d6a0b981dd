package storage_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/millstream/millstream/broker/record"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/vfs"
)

// FuzzOpen feeds arbitrary bytes to Open as the active segment (and as its
// offset index, with or without a clean-shutdown marker). Open must not
// panic; after an unclean stop what it keeps must be a prefix of the file
// made of valid batches; whatever Read returns must be valid batches.
func FuzzOpen(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	var log []byte
	var index []byte
	for i := range 6 {
		b := makeBatch(f, rng, 1+i%3, 20+i*30, 1000)
		record.SetBaseOffset(b, int64(i*3))
		if i == 3 {
			index = append(index, 0, 0, 0, 9, 0, 0, 0, byte(len(log)))
		}
		log = append(log, b...)
	}
	f.Add(log, index, false)
	f.Add(log, index, true)
	f.Add(log[:len(log)-7], []byte(nil), false)
	f.Add(log[:100], index, true)
	f.Add(slices.Concat(log, make([]byte, 100)), []byte(nil), false)
	f.Fuzz(func(t *testing.T, logBytes, indexBytes []byte, clean bool) {
		mem := vfs.NewMem()
		mem.MkdirAll(dir, 0o755)
		write := func(name string, b []byte) {
			g, _ := mem.Create(dir + "/" + name)
			g.Write(b)
			g.Close()
		}
		write("00000000000000000000.log", logBytes)
		if clean {
			write("00000000000000000000.index", indexBytes)
			write("00000000000000000000.timeindex", nil)
			write(".clean-shutdown", nil)
		}
		l, err := storage.Open(dir, storage.Options{FS: mem, IndexIntervalBytes: 64})
		if err != nil {
			return
		}
		defer l.Close()
		var got []byte
		for off := l.StartOffset(); off < l.EndOffset(); {
			data, err := l.Read(off, 1<<20)
			if errors.Is(err, storage.ErrCorruptSegment) && clean {
				return
			}
			if err != nil {
				t.Fatalf("Read(%d) = %v", off, err)
			}
			if data == nil {
				break
			}
			parts, err := record.Split(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				h, err := record.ValidateFrame(p)
				if err != nil {
					t.Fatalf("Read returned an invalid batch: %v", err)
				}
				if h.LastOffset() < off {
					t.Fatalf("Read(%d) returned a batch ending at %d", off, h.LastOffset())
				}
				off = h.LastOffset() + 1
			}
			got = append(got, data...)
		}
		if !clean && !bytes.HasPrefix(logBytes, got) {
			t.Fatal("recovered log is not a prefix of the file")
		}
		b, _ := record.Build(0, record.Record{Value: []byte("after")})
		if _, err := l.Append(b); err != nil {
			t.Fatalf("Append after recovery = %v", err)
		}
	})
}
