package server

import (
	"encoding/binary"
	"io"
	"sort"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestEveryAPIEveryVersion sends a plausible request for every API the
// server advertises at every advertised version over TCP, and decodes each
// response with kmsg at that version: the body must decode exactly, behind
// the right header (a tag byte for flexible responses except ApiVersions).
func TestEveryAPIEveryVersion(t *testing.T) {
	s, nc := startServer(t, nil)

	keys := make([]int, 0, len(s.apis))
	for k := range s.apis {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	frames := seedFrames(s)
	sort.SliceStable(frames, func(i, j int) bool {
		ki, kj := binary.BigEndian.Uint16(frames[i]), binary.BigEndian.Uint16(frames[j])
		if ki != kj {
			// Topic creation first, deletion last, so the requests in
			// between find the topic.
			rank := func(k uint16) int {
				switch k {
				case 3:
					return 0
				case 20:
					return 2
				}
				return 1
			}
			return rank(ki) < rank(kj)
		}
		return binary.BigEndian.Uint16(frames[i][2:]) < binary.BigEndian.Uint16(frames[j][2:])
	})
	for i, f := range frames {
		key := int16(binary.BigEndian.Uint16(f))
		version := int16(binary.BigEndian.Uint16(f[2:]))
		corr := int32(i + 1)
		binary.BigEndian.PutUint32(f[4:], uint32(corr))
		msg := append(binary.BigEndian.AppendUint32(nil, uint32(len(f))), f...)
		if _, err := nc.Write(msg); err != nil {
			t.Fatalf("%s v%d: write: %v", kmsg.NameForKey(key), version, err)
		}
		var size [4]byte
		if _, err := io.ReadFull(nc, size[:]); err != nil {
			t.Fatalf("%s v%d: no response: %v", kmsg.NameForKey(key), version, err)
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(nc, body); err != nil {
			t.Fatal(err)
		}
		if got := int32(binary.BigEndian.Uint32(body)); got != corr {
			t.Fatalf("%s v%d: correlation id %d, want %d", kmsg.NameForKey(key), version, got, corr)
		}
		body = body[4:]
		resp := kmsg.ResponseForKey(key)
		resp.SetVersion(version)
		if resp.IsFlexible() && key != apiKeyApiVersions {
			if body[0] != 0 {
				t.Fatalf("%s v%d: header tag byte %d, want 0", kmsg.NameForKey(key), version, body[0])
			}
			body = body[1:]
		}
		if err := resp.ReadFrom(body); err != nil {
			t.Fatalf("%s v%d: response does not decode: %v", kmsg.NameForKey(key), version, err)
		}
		if again := resp.AppendTo(nil); len(again) != len(body) {
			t.Fatalf("%s v%d: response body %d bytes, re-encodes to %d", kmsg.NameForKey(key), version, len(body), len(again))
		}
	}
	t.Logf("%d requests over %d APIs", len(frames), len(keys))
}
