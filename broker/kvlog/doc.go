// Package kvlog keeps the broker's internal state (committed offsets,
// producer ids and snapshots, topic metadata) in partition logs of package
// storage as key/value records, the way Kafka keeps __consumer_offsets: it
// replays such a log at start-up and rewrites it atomically with only the
// live records, so it does not grow without bound.
//
// # Rewriting on disk
//
// A rewrite never leaves a state that loses records:
//
//	| step | directories                     | a crash here leaves, after [Dir.Open] |
//	|------|---------------------------------|---------------------------------------|
//	| 1    | dir, dir.tmp (being written)    | dir; dir.tmp is removed               |
//	| 2    | dir.old, dir.tmp (complete)     | dir.tmp renamed to dir                |
//	| 3    | dir.old, dir                    | dir; dir.old is removed               |
//	| 4    | dir                             | dir                                   |
//
// (dir.tmp is [Dir.Temp].) The file system is the caller's [vfs.FS], so
// crash tests inject faults at each step.
//
// # Usage
//
//	d := kvlog.Dir{FS: fsys, Path: dir, Options: storage.Options{RetentionMs: -1}}
//	l, err := d.Open()                          // finishes an interrupted rewrite
//	n, err := kvlog.Replay(l, state.apply)      // every key/value, oldest first
//	if n > 2*len(live) {
//		l, err = d.Rewrite(l, live)             // l replaced by the fresh log
//	}
package kvlog
