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
