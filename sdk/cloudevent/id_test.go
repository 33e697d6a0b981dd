package cloudevent_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/millstream/millstream/sdk/cloudevent"
)

// NewID makes version 4 UUIDs of the RFC 9562 variant, in canonical form,
// that do not repeat.
func TestNewIDIsARandomUUID(t *testing.T) {
	const n = 100_000
	seen := make(map[string]bool, n)
	for range n {
		id := cloudevent.NewID()
		u, err := uuid.Parse(id)
		if err != nil {
			t.Fatalf("NewID() = %q: %v", id, err)
		}
		if u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != id {
			t.Fatalf("NewID() = %q: version %d, variant %s, canonical %q; want a version 4 RFC 4122 UUID in canonical form",
				id, u.Version(), u.Variant(), u.String())
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %s within %d calls", id, n)
		}
		seen[id] = true
	}
	if got := testing.AllocsPerRun(100, func() { _ = cloudevent.NewID() }); got > 1 {
		t.Errorf("NewID allocates %v times, want 1", got)
	}
}
