package storage

// keepCached is how many bytes behind the fsynced end of the active
// segment stay in the page cache: consumers near the end read from memory,
// while older bytes are dropped once durable.
//
// Why drop them: every byte appended needs a page of the page cache, and
// the kernel hands out cold pages for as long as it keeps the old ones
// (it keeps them until memory runs short). Writing into a cold page costs
// several times the copy itself (on a virtual machine, a fault of the host
// per page): measured on the benchmark machine, writing a MiB took 0.5 to
// 2.3 ms into an ever-growing page cache and 0.2 ms when the synced pages
// behind were dropped, so the pages go round warm. Readers further behind
// than this read from the disk, as they would on a broker whose cache had
// turned over.
const keepCached = 64 << 20

// dropCache tells the kernel that the bytes of seg below synced, minus the
// last keepCached, will not be needed soon. Only clean (fsynced) pages are
// dropped, so this never costs a write. Called without Log.mu.
func (l *Log) dropCache(seg *segment, synced int64) {
	l.mu.Lock()
	from, to := seg.uncachedTo, synced-keepCached
	if to <= from {
		l.mu.Unlock()
		return
	}
	seg.uncachedTo = to
	l.mu.Unlock()
	dropPages(seg.log, from, to)
}
