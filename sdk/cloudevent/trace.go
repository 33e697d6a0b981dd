package cloudevent

import (
	"encoding/hex"
	"math/rand/v2"
)

// NewTraceparent starts a new W3C trace: a traceparent header value with a
// random trace id and parent id, sampled.
func NewTraceparent() string {
	var b [55]byte
	copy(b[:], "00-")
	putRandomHex(b[3:35])
	b[35] = '-'
	putRandomHex(b[36:52])
	copy(b[52:], "-01")
	return string(b[:])
}

// ChildTraceparent continues the trace of parent with a new parent id, keeping
// its trace id and flags. An invalid parent starts a new trace.
func ChildTraceparent(parent string) string {
	if !ValidTraceparent(parent) {
		return NewTraceparent()
	}
	var b [55]byte
	copy(b[:], parent)
	putRandomHex(b[36:52])
	return string(b[:])
}

// ValidTraceparent reports whether s is a version-00 W3C traceparent with a
// non-zero trace id and parent id.
func ValidTraceparent(s string) bool {
	if len(s) < 55 || s[:3] != "00-" || s[35] != '-' || s[52] != '-' {
		return false
	}
	return isLowerHexNonZero(s[3:35]) && isLowerHexNonZero(s[36:52]) && isLowerHex(s[53:55])
}

func putRandomHex(dst []byte) {
	var raw [16]byte
	n := len(dst) / 2
	for i := 0; i < n; i += 8 {
		v := rand.Uint64() | 1 // never all zero
		for j := 0; j < 8 && i+j < n; j++ {
			raw[i+j] = byte(v >> (8 * j))
		}
	}
	hex.Encode(dst, raw[:n])
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isLowerHexNonZero(s string) bool {
	if !isLowerHex(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return true
		}
	}
	return false
}
