package storage

// Buffers is a free list of write-behind buffers that the logs of one
// broker share (Options.Buffers). A log takes a buffer when it starts
// holding appended bytes and gives it back once they are written, so a
// partition that is idle holds none, a busy one cycles the same few, and
// the memory kept for reuse is at most the list's length times the largest
// buffer (maxPending), however many partitions there are or once had a
// burst. It is safe for concurrent use.
type Buffers struct {
	free chan []byte
}

// NewBuffers returns a free list that keeps at most n buffers.
func NewBuffers(n int) *Buffers {
	return &Buffers{free: make(chan []byte, max(n, 1))}
}

// get returns a kept buffer, emptied, or nil when none is free.
func (b *Buffers) get() []byte {
	select {
	case buf := <-b.free:
		return buf[:0]
	default:
		return nil
	}
}

// put keeps buf for reuse if there is room; the caller must not touch buf
// again.
func (b *Buffers) put(buf []byte) {
	if cap(buf) == 0 || cap(buf) > 2*maxPending {
		return
	}
	select {
	case b.free <- buf[:0]:
	default:
	}
}
