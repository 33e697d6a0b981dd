package kafka

// Assignments returns how many group assignments the consumers of s have
// been through.
func Assignments(s *Subscriber) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for m := range s.members {
		n += int(m.assignments.Load())
	}
	return n
}

// BinderAssignments sums [Assignments] over the subscribers b made that are
// still open.
func BinderAssignments(b *Binder) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for s := range b.subs {
		n += Assignments(s)
	}
	return n
}

// BinderPaused reports whether every open subscriber b made is paused
// (false when there is none).
func BinderPaused(b *Binder) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if !s.Paused() {
			return false
		}
	}
	return len(b.subs) > 0
}
