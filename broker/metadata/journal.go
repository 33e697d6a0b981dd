package metadata

import "sync"

// journal is where the registry writes its changes. append must make the
// record durable before it returns; replay calls fn for every record ever
// appended, oldest first.
type journal interface {
	append(key, value []byte) error
	replay(fn func(key, value []byte) error) error
	close() error
}

// memJournal keeps records in memory: for tests, and for a broker that is
// told to keep nothing on disk.
type memJournal struct {
	// mu guards recs.
	mu   sync.Mutex
	recs [][2][]byte
}

func (m *memJournal) append(key, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, [2][]byte{append([]byte(nil), key...), append([]byte(nil), value...)})
	return nil
}

func (m *memJournal) replay(fn func(key, value []byte) error) error {
	m.mu.Lock()
	recs := m.recs
	m.mu.Unlock()
	for _, r := range recs {
		if err := fn(r[0], r[1]); err != nil {
			return err
		}
	}
	return nil
}

func (m *memJournal) close() error { return nil }

// NewInMemory returns a registry that keeps its topics in memory only; they
// are gone when the process ends.
func NewInMemory() *Registry {
	r, err := newRegistry(&memJournal{})
	if err != nil {
		// Only a failing random source can get here.
		panic(err)
	}
	return r
}
