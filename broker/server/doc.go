// Package server is the broker's Kafka protocol front end: listeners,
// connections, request dispatch, and one handler per API, over the topic
// registry (package metadata) and the partition logs (package storage).
//
// # Usage
//
//	srv, err := server.New(server.DefaultConfig(), logger)
//	if err != nil { ... }
//	err = srv.Run(ctx) // Start, serve until ctx is done, Close
//
// [Server.Start] binds the listener before it returns, so a port in use
// fails start-up; [Server.Close] stops accepting, answers what was already
// read, then flushes and closes every log.
//
// # Connections
//
// Each connection has a reading goroutine and a writing goroutine. The
// reader decodes a frame (int32 size, request header v0 to v2, body
// decoded by kmsg) and runs its handler right there, so the requests of a
// connection take effect in the order they were sent. A handler that must
// wait (a fetch long-poll, a produce waiting for fsync) returns
// later(func) instead of a response, and the reader moves on
// (pipelining). When the writer has nothing else to answer first, it runs
// the wait itself, so a client with one request in flight costs no extra
// goroutine and no hand-over; otherwise the wait starts at once on a
// goroutine of its own, overlapping the earlier ones. The writer writes
// responses strictly in request order, whatever order they become ready
// in.
// acks=0 produces return noResponse. A frame larger than MaxRequestSize,
// an unknown API key or version, a body that does not decode, or a panic
// in a handler closes the connection with a log line saying why.
//
// # Authentication
//
// With Config.SASLMechanisms set, a connection starts unauthenticated:
// conn.serveUnauthenticated (sasl_conn.go) serves its frames instead of
// the dispatch table, answering only ApiVersions, SaslHandshake (17) and
// SaslAuthenticate (36), and hands the SASL tokens to a session of package
// auth. Once the login succeeds the connection uses the table like any
// other; the table's SASL handlers then only refuse a second login.
//
// # Adding an API
//
// One file and one table entry:
//
//  1. Write NN_name.go (NN the API key, as in franz-go's kfake) opening
//     with a comment on what changed in each version, with a method
//
//     func (s *Server) handleName(ctx context.Context, r *Request) (Reply, error)
//
//     that type-asserts r.Msg to its kmsg request, builds the response from
//     r.Msg.ResponseKind() (already at the request's version), and returns
//     respond(resp), later(func(ctx) kmsg.Response), or noResponse.
//
//  2. Add `KEY: {min: V, max: V, handle: s.handleName}` to apiTable in
//     apis.go. The table is also what ApiVersions advertises.
//
// Handlers run on the connection's reading goroutine: they must not block
// on anything slow. Anything that waits goes into later(...), whose
// function receives the connection's context and must return soon after it
// is cancelled; s.stopping is closed when a shutdown begins.
//
// A handler reaches the broker's state through the Server:
//
//   - s.topic(name) / s.topicByID(id) / s.topicList(): a *topicState with
//     meta (metadata.Topic: name, id, partition count, configs), settings
//     (resolved configs) and parts, the open partitions;
//   - s.partition(topic, index): one *partition; p.log is its
//     *storage.Log;
//   - s.reg: the metadata.Registry; s.cfg: the Config; s.log: the logger.
//
// A component with state of its own (a group coordinator) is a field on
// Server, opened in openStorage and closed in closeStorage (partition.go).
//
// # Files
//
//	server.go      Server, Start, Close, Stats, accept loop, /healthz
//	conn.go        one connection: framing, ordering, panics
//	request.go     Request, Reply, header decoding, response framing
//	apis.go        the dispatch table
//	config.go      Config, FsyncPolicy
//	topics.go      topic create/delete/alter over registry and logs
//	partition.go   partitions and their logs; opening and closing storage
//	background.go  the retention loop and the interval fsync loop
//	configs.go     how topic and broker configs are described
//	fetch_sessions.go  fetch sessions (KIP-227) for Fetch v7+
//	sasl_conn.go   a connection before its SASL login
//	NN_*.go        one file per API
package server
