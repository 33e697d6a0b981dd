package metadata

import "testing"

// FuzzReplay: a metadata log record of any content is either applied or
// refused with an error, never a panic.
func FuzzReplay(f *testing.F) {
	f.Add([]byte("topic/orders"), []byte(`{"id":"000102030405060708090a0b0c0d0e0f","partitions":3,"configs":{"retention.ms":"1000"}}`))
	f.Add([]byte("topic/orders"), []byte(nil))
	f.Add([]byte("cluster"), []byte("AAAAAAAAAAAAAAAAAAAAAA"))
	f.Add([]byte("other"), []byte("{}"))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		j := &memJournal{}
		_ = j.append(key, value)
		r, err := newRegistry(j)
		if err != nil {
			return
		}
		for _, tp := range r.Topics() {
			if got, ok := r.TopicByID(tp.ID); !ok || got.Name != tp.Name {
				t.Fatalf("topic %q not found by its id", tp.Name)
			}
		}
	})
}
