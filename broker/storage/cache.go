package storage

// DefaultPageCacheKeep is the default of Options.PageCacheKeep: how many
// bytes behind the fsynced end of the active segment stay in the page
// cache, so consumers near the end read from memory while older bytes are
// dropped once durable.
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
const DefaultPageCacheKeep = 64 << 20

// dropAlign is the granularity of the ranges dropCache hands the kernel.
// The kernel caches a file in folios of up to 2 MiB (ext4 and xfs use
// large folios) and FADV_DONTNEED skips a folio that reaches outside the
// range it is given, so a range ending inside a folio leaves that folio
// cached, and so does the next range, which starts inside it: with ranges
// ending wherever an fsync happened to end, about half the pages stayed
// (measured: 480 of 1024 MiB written), the page cache grew anyway and the
// writes went to cold pages again. Ranges on 2 MiB boundaries cut through
// no folio.
const dropAlign = 2 << 20

// dropRange returns the byte range of a segment to drop from the page
// cache, given that the bytes below done are dropped already, the bytes
// below synced are fsynced, and the last keep of them stay cached. ok is
// false when there is nothing (new) to drop; keep < 0 never drops.
func dropRange(done, synced, keep int64) (from, to int64, ok bool) {
	if keep < 0 {
		return 0, 0, false
	}
	to = (synced - keep) &^ (dropAlign - 1)
	if to <= done {
		return 0, 0, false
	}
	return done, to, true
}

// dropCache tells the kernel that the bytes of seg below synced, minus the
// last Options.PageCacheKeep, will not be needed soon. Only clean
// (fsynced) pages are dropped, so this never costs a write. Called without
// Log.mu.
func (l *Log) dropCache(seg *segment, synced int64) {
	l.mu.Lock()
	from, to, ok := dropRange(seg.uncachedTo, synced, l.opts.PageCacheKeep)
	if !ok {
		l.mu.Unlock()
		return
	}
	seg.uncachedTo = to
	l.mu.Unlock()
	dropPages(seg.log, from, to)
}
