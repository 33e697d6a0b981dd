package server

import (
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A fetch response is encoded into a buffer sized once: its hint covers
// every field, at every Fetch version, however many topics, partitions,
// record bytes and aborted transactions it has. The test fails if the
// buffer had to grow (its capacity would then differ from the hint).
func TestFetchResponseFitsItsSizeHint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for version := int16(4); version <= 13; version++ {
		for range 50 {
			resp := kmsg.NewPtrFetchResponse()
			resp.Version = version
			for range rng.IntN(4) {
				ft := kmsg.NewFetchResponseTopic()
				ft.Topic = string(make([]byte, rng.IntN(250)))
				for range rng.IntN(20) {
					fp := kmsg.NewFetchResponseTopicPartition()
					fp.RecordBatches = make([]byte, rng.IntN(1<<rng.IntN(16)))
					for range rng.IntN(5) {
						fp.AbortedTransactions = append(fp.AbortedTransactions, kmsg.NewFetchResponseTopicPartitionAbortedTransaction())
					}
					ft.Partitions = append(ft.Partitions, fp)
				}
				resp.Topics = append(resp.Topics, ft)
			}
			hint := responseSizeHint(resp)
			got := appendResponse(nil, 7, resp)
			if cap(got) != hint {
				t.Fatalf("Fetch v%d with %d topics: %d bytes encoded, hint %d, buffer grew to %d", version, len(resp.Topics), len(got), hint, cap(got))
			}
		}
	}
	// Another response gets no hint, and a buffer with room is used as is.
	if n := responseSizeHint(kmsg.NewPtrMetadataResponse()); n != 0 {
		t.Errorf("Metadata response hint %d, want 0", n)
	}
	buf := make([]byte, 0, 1<<16)
	fetch := kmsg.NewPtrFetchResponse()
	fetch.Version = 12
	if got := appendResponse(buf, 1, fetch); &got[:1][0] != &buf[:1][0] {
		t.Error("a buffer with room for the response was not used")
	}
}
