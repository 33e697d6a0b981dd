package perfstat

import (
	"math/rand/v2"
)

// Payloads hands out random record values. Each value is a window at a
// random place in a pool of random bytes, so consecutive records differ and
// compression gains nothing, without paying for fresh random bytes per
// record. Values share the pool: treat them as read-only. Not safe for
// concurrent use; give each goroutine its own.
type Payloads struct {
	pool []byte
	size int
	rng  *rand.Rand
}

// poolSize is large enough that windows rarely repeat within a batch.
const poolSize = 4 << 20

// NewPayloads returns a source of values of size bytes, seeded by seed.
func NewPayloads(size int, seed uint64) *Payloads {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pool := make([]byte, poolSize+size)
	for i := 0; i+8 <= len(pool); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			pool[i+j] = byte(v >> (8 * j))
		}
	}
	return &Payloads{pool: pool, size: size, rng: rng}
}

// Next returns the next value.
func (p *Payloads) Next() []byte {
	off := p.rng.IntN(poolSize + 1)
	return p.pool[off : off+p.size : off+p.size]
}
