package server_test

import (
	"encoding/binary"
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka28Max are the maxima the broker must advertise for the APIs it
// implements (Kafka 2.8), and the minima.
var wantVersions = map[int16][2]int16{
	0: {3, 9}, 1: {4, 12}, 2: {0, 6}, 3: {0, 11}, 18: {0, 3}, 19: {0, 7}, 20: {0, 6}, 21: {0, 2},
	32: {0, 4}, 33: {0, 2}, 35: {0, 2}, 37: {0, 3}, 44: {0, 1}, 60: {0, 0},
}

func checkKeys(t *testing.T, keys []kmsg.ApiVersionsResponseApiKey) {
	t.Helper()
	got := map[int16][2]int16{}
	for _, k := range keys {
		got[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	for key, want := range wantVersions {
		g, ok := got[key]
		if !ok {
			// Not implemented yet in this build; the table decides.
			continue
		}
		if g != want {
			t.Errorf("%s (key %d): versions %v, want %v", kmsg.NameForKey(key), key, g, want)
		}
	}
	for _, key := range []int16{3, 18, 19} {
		if _, ok := got[key]; !ok {
			t.Errorf("%s (key %d) not advertised", kmsg.NameForKey(key), key)
		}
	}
}

func TestApiVersionsEveryVersion(t *testing.T) {
	b := brokertest.Start(t)
	c := dialRaw(t, b.Addr())
	for v := int16(0); v <= 3; v++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = v
		req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1.0"
		c.send(req, int32(100+v))
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.Version = v
		c.read(int32(100+v), resp)
		if resp.ErrorCode != 0 {
			t.Fatalf("v%d: error %v", v, kerr.ErrorForCode(resp.ErrorCode))
		}
		checkKeys(t, resp.ApiKeys)
	}
}

// TestApiVersionsNoHeaderTagByte checks the bytes: a v3 response is
// correlation id, then straight away the body, whose first field is the
// int16 error code 0 followed by the compact array length of the keys.
func TestApiVersionsNoHeaderTagByte(t *testing.T) {
	b := brokertest.Start(t)
	c := dialRaw(t, b.Addr())
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1.0"
	c.send(req, 7)
	f, err := c.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	if corr := binary.BigEndian.Uint32(f); corr != 7 {
		t.Fatalf("correlation id = %d, want 7", corr)
	}
	body := f[4:]
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 3
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("body does not decode as ApiVersions v3 right after the correlation id: %v", err)
	}
	// Re-encoding what we decoded must give exactly the body: no byte was
	// skipped or left over.
	if again := resp.AppendTo(nil); len(again) != len(body) {
		t.Fatalf("body is %d bytes, the decoded response re-encodes to %d", len(body), len(again))
	}
	if body[0] != 0 || body[1] != 0 {
		t.Fatalf("first body bytes % x, want the error code 00 00", body[:2])
	}
	if n := int(body[2]) - 1; n != len(resp.ApiKeys) || n == 0 {
		t.Fatalf("compact array length byte says %d keys, decoded %d", n, len(resp.ApiKeys))
	}
}

// TestApiVersionsUnknownVersion: a version above our maximum is answered
// in the v0 shape with UNSUPPORTED_VERSION and the full key list.
func TestApiVersionsUnknownVersion(t *testing.T) {
	b := brokertest.Start(t)
	c := dialRaw(t, b.Addr())
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 4 // kmsg can encode v4; the broker stops at 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1.0"
	c.send(req, 9)
	f, err := c.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	if corr := binary.BigEndian.Uint32(f); corr != 9 {
		t.Fatalf("correlation id = %d, want 9", corr)
	}
	body := f[4:]
	// v0 shape: int16 error code, int32 array length, then 6 bytes per key.
	if code := int16(binary.BigEndian.Uint16(body)); code != kerr.UnsupportedVersion.Code {
		t.Fatalf("error code = %d, want %d (UNSUPPORTED_VERSION)", code, kerr.UnsupportedVersion.Code)
	}
	n := int(binary.BigEndian.Uint32(body[2:]))
	if len(body) != 6+6*n {
		t.Fatalf("body of %d bytes with %d keys; a v0 body would be %d bytes", len(body), n, 6+6*n)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	if err := resp.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, resp.ApiKeys)

	// The connection stays usable: the client retries with v3.
	req.Version = 3
	c.send(req, 10)
	ok := kmsg.NewPtrApiVersionsResponse()
	ok.Version = 3
	c.read(10, ok)
	if ok.ErrorCode != 0 {
		t.Fatalf("retry at v3: %v", kerr.ErrorForCode(ok.ErrorCode))
	}
}
