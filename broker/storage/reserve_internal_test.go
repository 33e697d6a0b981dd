//go:build linux

package storage

import (
	"errors"
	"os"
	"testing"
)

// TestReserveStopsWhereUnsupported: on a file that cannot reserve space,
// the first try turns reservation off for the process instead of costing
// a failed system call on every write.
func TestReserveStopsWhereUnsupported(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := allocate(f, 0, 4096); !errors.Is(err, errCannotReserve) {
		t.Skipf("fallocate on %s = %v, not unsupported: nothing to test here", os.DevNull, err)
	}
	defer reserveOff.Store(false)
	s := &segment{log: f}
	s.reserve(0, 1000, 1<<30)
	if !reserveOff.Load() || s.reserved != 0 {
		t.Fatalf("after an unsupported reservation: off %v, reserved %d; want off and nothing reserved", reserveOff.Load(), s.reserved)
	}
}

func TestReserveTo(t *testing.T) {
	for _, tc := range []struct {
		reserved, end, limit, to int64
		ok                       bool
	}{
		{0, 100, 1 << 30, 100 + minReserve, true},     // at least minReserve ahead
		{0, 1 << 20, 1 << 30, 2 << 20, true},          // as far again as the segment holds
		{0, 100 << 20, 1 << 30, 116 << 20, true},      // at most maxReserve ahead
		{0, 1000 << 20, 1010 << 20, 1010 << 20, true}, // never past the roll size
		{0, 1100 << 20, 1 << 30, 1100 << 20, true},    // a batch past it: up to its end
		{2 << 20, 1 << 20, 1 << 30, 0, false},         // reserved already
	} {
		to, ok := reserveTo(tc.reserved, tc.end, tc.limit)
		if to != tc.to || ok != tc.ok {
			t.Errorf("reserveTo(%d, %d, %d) = %d, %v; want %d, %v", tc.reserved, tc.end, tc.limit, to, ok, tc.to, tc.ok)
		}
	}
}
