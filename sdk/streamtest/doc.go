// Package streamtest tests Millstream applications and binders.
//
// # Testing an application
//
// [Run] starts an application for a test and listens on every output
// binding (and dead-letter destination) before it returns; [Harness.Send]
// sends to an input binding, and [Receive] waits, up to a deadline, for what
// arrives on an output:
//
//	h := streamtest.Run(t, app)
//	h.Send("uppercase-in-0", "hello")
//	got := streamtest.Receive[string](t, h, "uppercase-out-0")
//
// Nothing sleeps: receiving blocks until a message or the deadline.
//
// # Testing a binder
//
// [TestBinder] is the conformance suite every binder runs, gated by the
// [Features] the binder declares.
package streamtest
