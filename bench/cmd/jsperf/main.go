// Command jsperf runs the workload of `millstream perf produce` against NATS
// JetStream, so the two can be compared in one benchmark run: records of
// random bytes published to one stream with file storage and one replica,
// each publish acknowledged by the server (the JetStream counterpart of
// acks=all). By default many publishes are in flight (throughput); with
// --sync each publish waits for its acknowledgement (latency).
//
//	jsperf --server nats://127.0.0.1:4222 --duration 30s [--sync] [--json]
//
// Figures are computed by the same perfstat package as millstream's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/millstream/millstream/broker/cli/perfstat"
)

type options struct {
	server, stream, subject string
	recordSize              int
	numRecords              int64
	duration                time.Duration
	sync                    bool
	maxPending              int
	progressInterval        time.Duration
	asJSON                  bool
	keepStream              bool
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "jsperf:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("jsperf", flag.ContinueOnError)
	fs.StringVar(&o.server, "server", nats.DefaultURL, "NATS server URL")
	fs.StringVar(&o.stream, "stream", "PERF", "stream to create (file storage, one replica) and publish to")
	fs.StringVar(&o.subject, "subject", "perf", "subject of the stream")
	fs.IntVar(&o.recordSize, "record-size", 1024, "payload size in bytes")
	fs.Int64Var(&o.numRecords, "num-records", 0, "stop after this many records")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long")
	fs.BoolVar(&o.sync, "sync", false, "one publish at a time, each waiting for its acknowledgement")
	fs.IntVar(&o.maxPending, "max-pending", 10000, "publishes in flight at most (throughput mode)")
	fs.DurationVar(&o.progressInterval, "progress-interval", 5*time.Second, "print a progress line this often (0: never)")
	fs.BoolVar(&o.asJSON, "json", false, "print the summary as JSON on stdout (progress goes to stderr)")
	fs.BoolVar(&o.keepStream, "keep-stream", false, "reuse an existing stream instead of recreating it empty")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.numRecords <= 0 && o.duration <= 0 {
		return errors.New("give --num-records or --duration")
	}
	progress := stdout
	if o.asJSON {
		progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := bench(ctx, o, progress)
	if err != nil {
		return err
	}
	if o.asJSON {
		err = s.WriteJSON(stdout)
	} else {
		err = s.WriteText(stdout, "published")
	}
	if err != nil {
		return err
	}
	if s.Errors > 0 {
		return fmt.Errorf("%d publishes failed; first: %s", s.Errors, s.FirstError)
	}
	return nil
}

func bench(ctx context.Context, o options, progress io.Writer) (perfstat.Summary, error) {
	nc, err := nats.Connect(o.server, nats.Timeout(5*time.Second))
	if err != nil {
		return perfstat.Summary{}, fmt.Errorf("connect to %s: %w", o.server, err)
	}
	defer nc.Close()

	// rec is set once the stream exists, before the first publish.
	var rec *perfstat.Recorder
	size := int64(o.recordSize)
	// sent maps each in-flight message to the time it was published.
	var (
		mu   sync.Mutex
		sent = make(map[*nats.Msg]time.Time)
	)
	took := func(m *nats.Msg) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		start := sent[m]
		delete(sent, m)
		return time.Since(start)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(o.maxPending),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, _ *jetstream.PubAck) {
			rec.Done(1, size, took(m))
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			took(m)
			rec.Failed(err)
		}),
	)
	if err != nil {
		return perfstat.Summary{}, fmt.Errorf("jetstream: %w", err)
	}
	cfg := jetstream.StreamConfig{
		Name:     o.stream,
		Subjects: []string{o.subject},
		Storage:  jetstream.FileStorage,
		Replicas: 1,
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if !o.keepStream {
		if err := js.DeleteStream(sctx, o.stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return perfstat.Summary{}, fmt.Errorf("delete stream %s: %w", o.stream, err)
		}
	}
	if _, err := js.CreateOrUpdateStream(sctx, cfg); err != nil {
		return perfstat.Summary{}, fmt.Errorf("create stream %s: %w", o.stream, err)
	}

	rec = perfstat.NewRecorder()
	pctx, stopProgress := context.WithCancel(ctx)
	var progressDone sync.WaitGroup
	progressDone.Go(func() { rec.Progress(pctx, progress, o.progressInterval, "published") })
	defer func() {
		stopProgress()
		progressDone.Wait()
	}()

	var deadline time.Time
	if o.duration > 0 {
		deadline = time.Now().Add(o.duration)
	}
	payloads := perfstat.NewPayloads(o.recordSize, uint64(time.Now().UnixNano()))
	for n := int64(0); ctx.Err() == nil; n++ {
		if o.numRecords > 0 && n >= o.numRecords || !deadline.IsZero() && !time.Now().Before(deadline) {
			break
		}
		if o.sync {
			start := time.Now()
			if _, err := js.Publish(ctx, o.subject, payloads.Next()); err != nil {
				rec.Failed(err)
				continue
			}
			rec.Done(1, size, time.Since(start))
			continue
		}
		m := &nats.Msg{Subject: o.subject, Data: payloads.Next()}
		mu.Lock()
		sent[m] = time.Now()
		mu.Unlock()
		if _, err := js.PublishMsgAsync(m); err != nil {
			took(m)
			rec.Failed(err)
		}
	}
	if !o.sync {
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			return perfstat.Summary{}, errors.New("publishes still unacknowledged a minute after the last one")
		case <-ctx.Done():
		}
	}
	rec.Stop()
	s := rec.Summary()
	s.Tool, s.Target, s.RecordSize = "jsperf", o.server, o.recordSize
	s.Mode = "throughput"
	if o.sync {
		s.Mode = "sync"
	}
	return s, nil
}
