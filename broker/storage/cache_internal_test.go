package storage

import "testing"

func TestDropRange(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name               string
		done, synced, keep int64
		wantFrom, wantTo   int64
		wantOK             bool
	}{
		{"within the window", 0, 60 * mib, 64 * mib, 0, 0, false},
		{"past the window, less than a step", 0, 65 * mib, 64 * mib, 0, 0, false},
		{"one step past", 0, 66*mib + 5, 64 * mib, 0, 2 * mib, true},
		{"ends on a step below an unaligned end", 0, 100*mib + 12345, 64 * mib, 0, 36 * mib, true},
		{"nothing new since the last drop", 36 * mib, 101 * mib, 64 * mib, 0, 0, false},
		{"next step", 36 * mib, 102*mib + 1, 64 * mib, 36 * mib, 38 * mib, true},
		{"keep nothing but the last step", 0, 5*mib + 7, 1, 0, 4 * mib, true},
		{"never drop", 0, 1 << 40, -1, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to, ok := dropRange(tc.done, tc.synced, tc.keep)
			if from != tc.wantFrom || to != tc.wantTo || ok != tc.wantOK {
				t.Errorf("dropRange(%d, %d, %d) = %d, %d, %v, want %d, %d, %v",
					tc.done, tc.synced, tc.keep, from, to, ok, tc.wantFrom, tc.wantTo, tc.wantOK)
			}
			if ok && (from%dropAlign != 0 || to%dropAlign != 0) {
				t.Errorf("dropRange(%d, %d, %d) = [%d, %d), not on %d-byte boundaries", tc.done, tc.synced, tc.keep, from, to, dropAlign)
			}
		})
	}
}
