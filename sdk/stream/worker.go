package stream

import (
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
)

// workers runs a binding's handler chain on long-lived goroutines.
//
// Watermill's router starts a new goroutine for every message. The SDK's
// chain (middleware, CloudEvent decoding, the function, encoding, the
// publish) is deep enough that such a goroutine's stack grew, and was
// copied, several times per message: a sixth of the CPU per message on the
// Kafka path. A worker keeps its grown stack from one message to the next;
// the router's goroutine only hands the message over and waits.
//
// There is no fixed number of workers: a message that finds none idle
// starts one, so there are never more than the messages in flight. Workers
// end when the pool is closed (after the router stopped).
type workers struct {
	jobs chan *job
	quit chan struct{}
}

type job struct {
	h   message.HandlerFunc
	msg *message.Message
	out []*message.Message
	err error
	// panicked: h panicked with panicVal; exited: h called runtime.Goexit.
	panicked, exited bool
	panicVal         any
	done             chan struct{}
}

var jobs = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

func newWorkers() *workers {
	return &workers{jobs: make(chan *job), quit: make(chan struct{})}
}

// close ends idle workers, and busy ones once their message is handled.
func (w *workers) close() { close(w.quit) }

// middleware runs the rest of the chain on a worker. A panic there is
// raised again on the router's goroutine (so Watermill recovers it and
// nacks the message as it would have), with the worker's stack. A chain
// that calls runtime.Goexit (which on the router's own goroutine left the
// message neither acked nor nacked, holding up its partition) returns an
// error: the message is nacked and comes again. That error is raised
// outside the retry and dead-letter middleware, so it is not dead-lettered;
// a handler that always exits that way is delivered again and again, as a
// panicking middleware is.
func (w *workers) middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		j := jobs.Get().(*job)
		j.h, j.msg = h, msg
		select {
		case w.jobs <- j:
		default:
			go w.work(j)
		}
		<-j.done
		out, err, panicked, exited, pv := j.out, j.err, j.panicked, j.exited, j.panicVal
		*j = job{done: j.done}
		jobs.Put(j)
		switch {
		case panicked:
			panic(pv)
		case exited:
			return nil, fmt.Errorf("stream: handler of message %s called runtime.Goexit", msg.UUID)
		}
		return out, err
	}
}

// work runs j, then the jobs handed to it, until the pool is closed.
func (w *workers) work(j *job) {
	for {
		if !w.run(j) {
			return
		}
		select {
		case j = <-w.jobs:
		case <-w.quit:
			return
		}
	}
}

// run runs one job and reports it done. It returns false when the job
// called runtime.Goexit (this goroutine is ending).
func (w *workers) run(j *job) (ok bool) {
	finished := false
	defer func() {
		if finished {
			return
		}
		if r := recover(); r != nil {
			j.panicked, j.panicVal = true, workerPanic{value: r, stack: debug.Stack()}
			ok = true
		} else {
			j.exited = true // runtime.Goexit: unwinding goes on
		}
		j.done <- struct{}{}
	}()
	j.out, j.err = j.h(j.msg)
	finished = true
	j.done <- struct{}{}
	return true
}

// workerPanic is a panic raised by a handler chain on a worker, raised
// again on the router's goroutine.
type workerPanic struct {
	value any
	stack []byte
}

func (p workerPanic) String() string { return fmt.Sprintf("%v\n\nworker stack:\n%s", p.value, p.stack) }

func (p workerPanic) Error() string { return p.String() }

// Unwrap returns the panic value when it is an error.
func (p workerPanic) Unwrap() error {
	err, _ := p.value.(error)
	return err
}
