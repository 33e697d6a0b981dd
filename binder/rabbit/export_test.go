package rabbit

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
