// Package compat holds the broker's compatibility and crash tests: it drives a
// real broker with Kafka clients that nobody on this project wrote (kcat on
// librdkafka, kafka-python, franz-go) and with hostile raw TCP clients, and it
// kills the broker with SIGKILL while a producer writes.
//
// The package has no code outside its tests. Each test starts its own broker
// process on a random port with a data directory under t.TempDir().
//
// # Running
//
//	go test ./broker/compat/            # everything, including the crash test
//	go test -short ./broker/compat/     # skips the slow crash and churn tests
//
// The tests need kcat and /usr/bin/python3 with the kafka module (Debian
// packages kcat and python3-kafka; `make test` installs them) and fail with
// the name of the missing package otherwise.
//
// # What is covered
//
//   - kcat: metadata, produce and consume byte for byte in every codec,
//     offsets (s@TS, -N, after DeleteRecords), -G groups with franz-go,
//     static membership, the idempotent producer through a cutting proxy.
//   - kafka-python: admin calls, producer and consumer byte for byte,
//     LogAppendTime, offsets_for_times, fetch limits, size limits, groups
//     that grow, shrink, lose a member and survive a broker kill.
//   - franz-go against kcat and kafka-python, both directions.
//   - Crashes: SIGKILL while producing (acks=all, acks=1, every fsync
//     policy, idempotent), right after metadata changes, and group offsets.
//   - Hostile clients: oversized and malformed frames, random bytes,
//     pipelined requests, failed fetches and acks=0 produces.
//
// A test that documents a broker bug not fixed yet starts with
// t.Skip("KNOWN BROKER BUG: ..."); remove the Skip with the fix. (None is
// skipped today.)
//
// # Testing another broker
//
// By default the tests build broker/cmd/millstream once and run
// `millstream broker --data-dir DIR --kafka-addr 127.0.0.1:PORT`. Setting
// MILLSTREAM_COMPAT_BROKER to the path of another executable that accepts the
// same command line runs the same suite against it, which is how the suite
// itself is checked against a reference implementation.
// MILLSTREAM_COMPAT_LOGDIR=DIR keeps every broker's log as DIR/<test>.log.
package compat
