package cloudevent

import "math/rand/v2"

// NewID returns a random (version 4) UUID in its canonical text form, for
// the id of an event. Its 122 random bits come from math/rand/v2's
// generator (ChaCha8, seeded by the operating system), as unlikely to repeat
// as crypto/rand's, without a system call and with one allocation: an
// event's id must be unique, not secret.
func NewID() string {
	const digits = "0123456789abcdef"
	var raw [16]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	raw[6] = raw[6]&0x0f | 0x40 // version 4
	raw[8] = raw[8]&0x3f | 0x80 // RFC 9562 variant
	var b [36]byte
	j := 0
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = digits[c>>4], digits[c&0x0f]
		j += 2
	}
	return string(b[:])
}
