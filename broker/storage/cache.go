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

// Without a Sync for a long time (the broker's fsync policies interval and
// never, or acks=1 under always) nothing would make the written pages
// clean, and the kernel cannot drop a dirty page: the page cache would grow
// with every byte written, and so would the cost of each write (measured
// with `millstream perf produce` under --fsync interval=2m: the copy into
// the page cache took 350 ns per 1 KiB record against 40-90 ns with the
// window kept, and each segment roll fsynced a whole GiB while appends
// waited). So a write that is not about to be fsynced also trims the page
// cache itself: it starts the kernel's writeback of the bytes older than
// half the window (Linux sync_file_range SYNC_FILE_RANGE_WRITE, which
// returns without waiting), and drops the bytes older than the whole
// window once their writeback has ended, which by then it usually has.
// Neither is a promise of durability (no fsync, no flush of the disk's
// cache, no metadata): that stays with Sync.

// pageTrim is the work trimWritten found to do, done without Log.mu.
type pageTrim struct {
	seg                *segment // nil when there is nothing to do; else referenced, and run unreferences it
	writeFrom, writeTo int64    // start writeback of these bytes
	dropFrom, dropTo   int64    // wait for their writeback, then drop them
	write, drop        bool
}

// trimWritten returns the page-cache work due now that the bytes of seg
// below end are in its file (see above). l.mu held.
func (l *Log) trimWritten(seg *segment, end int64) pageTrim {
	keep := l.opts.PageCacheKeep
	var t pageTrim
	if keep < 0 {
		return t // the page cache is left to the kernel
	}
	t.writeFrom, t.writeTo, t.write = dropRange(seg.writingTo, end, keep/2)
	if t.write {
		seg.writingTo = t.writeTo
	}
	t.dropFrom, t.dropTo, t.drop = dropRange(seg.uncachedTo, end, keep)
	if t.drop {
		seg.uncachedTo = t.dropTo
	}
	if t.write || t.drop {
		t.seg = seg
		seg.ref()
	}
	return t
}

// run does the work of t. Called without Log.mu.
func (t pageTrim) run() {
	if t.seg == nil {
		return
	}
	if t.write {
		startWriteback(t.seg.log, t.writeFrom, t.writeTo)
	}
	if t.drop {
		awaitWriteback(t.seg.log, t.dropFrom, t.dropTo)
		dropPages(t.seg.log, t.dropFrom, t.dropTo)
	}
	t.seg.unref()
}
