package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/broker/cli/perfstat"
)

// PerfProduceOptions describe a producer load test.
type PerfProduceOptions struct {
	Topic string
	// RecordSize is the value size in bytes. Default: 1024.
	RecordSize int
	// NumRecords stops after this many records in total; Duration stops
	// after this long. One of them must be set; whichever comes first wins.
	NumRecords int64
	Duration   time.Duration
	// Producers is the number of clients producing in parallel. Default: 1.
	Producers int
	// Sync sends one record at a time per producer, each waiting for its
	// acknowledgement: the latency of a single produce.
	Sync bool
	// ProgressInterval is how often a progress line is printed; 0: never.
	ProgressInterval time.Duration
	// Partitions is used to create the topic when it does not exist. Default: 1.
	Partitions int32
}

// ClientFactory creates a connected client; perf calls it once per producer
// or consumer.
type ClientFactory func(ctx context.Context) (*kgo.Client, error)

// EnsureTopic creates topic with the given partition count (replication
// factor: the broker default) unless it exists, and says so on w.
func EnsureTopic(ctx context.Context, adm *kadm.Client, w io.Writer, topic string, partitions int32) error {
	td, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("look up topic %q: %w", topic, err)
	}
	if d, ok := td[topic]; ok && d.Err == nil {
		return nil
	}
	resp, err := adm.CreateTopic(ctx, max(partitions, 1), -1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %q: %w", topic, withMessage(err, resp.ErrMessage))
	}
	if err == nil && w != nil {
		fmt.Fprintf(w, "created topic %q with %s\n", topic, plural(int(max(partitions, 1)), "partition"))
	}
	return nil
}

// PerfProduce runs a producer load test with random values and returns its
// summary; progress lines go to progress. An error means the test could not
// run; failed records are counted in the summary instead.
func PerfProduce(ctx context.Context, newClient ClientFactory, progress io.Writer, o PerfProduceOptions) (perfstat.Summary, error) {
	if o.Topic == "" {
		return perfstat.Summary{}, errors.New("perf produce: --topic is required")
	}
	if o.NumRecords <= 0 && o.Duration <= 0 {
		return perfstat.Summary{}, errors.New("perf produce: give --num-records or --duration")
	}
	if o.RecordSize <= 0 {
		o.RecordSize = 1024
	}
	o.Producers = max(o.Producers, 1)
	clients := make([]*kgo.Client, 0, o.Producers)
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()
	for range o.Producers {
		cl, err := newClient(ctx)
		if err != nil {
			return perfstat.Summary{}, err
		}
		clients = append(clients, cl)
	}
	if err := EnsureTopic(ctx, kadm.NewClient(clients[0]), progress, o.Topic, o.Partitions); err != nil {
		return perfstat.Summary{}, fmt.Errorf("perf produce: %w", err)
	}

	rec := perfstat.NewRecorder()
	var deadline time.Time
	if o.Duration > 0 {
		deadline = time.Now().Add(o.Duration)
	}
	var issued atomic.Int64
	// take reserves the next record, or says the test is over.
	take := func() bool {
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return false
		}
		return o.NumRecords <= 0 || issued.Add(1) <= o.NumRecords
	}

	pctx, stopProgress := context.WithCancel(ctx)
	var progressDone sync.WaitGroup
	progressDone.Go(func() { rec.Progress(pctx, progress, o.ProgressInterval, "sent") })

	var wg sync.WaitGroup
	for i, cl := range clients {
		payloads := perfstat.NewPayloads(o.RecordSize, uint64(time.Now().UnixNano())+uint64(i))
		size := int64(o.RecordSize)
		wg.Go(func() {
			for ctx.Err() == nil && take() {
				r := &kgo.Record{Topic: o.Topic, Value: payloads.Next()}
				start := time.Now()
				if o.Sync {
					if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
						if ctx.Err() == nil {
							rec.Failed(err)
						}
						continue
					}
					rec.Done(1, size, time.Since(start))
					continue
				}
				cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
					if err != nil {
						if ctx.Err() == nil { // not a record abandoned by Ctrl-C
							rec.Failed(err)
						}
						return
					}
					rec.Done(1, size, time.Since(start))
				})
			}
			if err := cl.Flush(ctx); err != nil && ctx.Err() == nil {
				rec.Failed(fmt.Errorf("flush: %w", err))
			}
		})
	}
	wg.Wait()
	rec.Stop()
	stopProgress()
	progressDone.Wait()
	s := rec.Summary()
	s.Tool, s.RecordSize = "millstream perf produce", o.RecordSize
	s.Mode = "throughput"
	if o.Sync {
		s.Mode = "sync"
	}
	return s, nil
}

// PerfConsumeOptions describe a consumer load test.
type PerfConsumeOptions struct {
	Topic string
	// NumRecords stops after this many records; Duration after this long
	// from the first record. At least one must be set.
	NumRecords int64
	Duration   time.Duration
	// IdleTimeout stops when no record arrived for this long. Default: 10s.
	IdleTimeout time.Duration
	// Group, when set, consumes as this consumer group (no commits).
	Group string
	// ProgressInterval is how often a progress line is printed; 0: never.
	ProgressInterval time.Duration
}

// ClientOpts returns the consumer options a client needs for this test.
func (o PerfConsumeOptions) ClientOpts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.ConsumeTopics(o.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
	if o.Group != "" {
		opts = append(opts, kgo.ConsumerGroup(o.Group), kgo.DisableAutoCommit())
	}
	return opts
}

// PerfConsume reads a topic from its start as fast as it can, with a client
// built with o.ClientOpts, and returns the throughput. The clock starts at
// the first record, so connecting and joining a group are not counted.
func PerfConsume(ctx context.Context, cl *kgo.Client, progress io.Writer, o PerfConsumeOptions) (perfstat.Summary, error) {
	if o.Topic == "" {
		return perfstat.Summary{}, errors.New("perf consume: --topic is required")
	}
	if o.NumRecords <= 0 && o.Duration <= 0 {
		return perfstat.Summary{}, errors.New("perf consume: give --num-records or --duration")
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Second
	}
	var (
		rec          *perfstat.Recorder
		deadline     time.Time
		progressDone sync.WaitGroup
	)
	progressCtx, stopProgress := context.WithCancel(ctx)
	defer func() {
		stopProgress()
		progressDone.Wait()
	}()
	for {
		if rec != nil && (o.NumRecords > 0 && rec.Records() >= o.NumRecords ||
			!deadline.IsZero() && !time.Now().Before(deadline)) {
			break
		}
		pctx, cancel := context.WithTimeout(ctx, o.IdleTimeout)
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			break
		}
		var fetchErr error
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && fetchErr == nil {
				fetchErr = fmt.Errorf("perf consume: topic %q partition %d: %w", t, p, err)
			}
		})
		if fetchErr != nil {
			return perfstat.Summary{}, fetchErr
		}
		if fetches.NumRecords() == 0 {
			if pctx.Err() != nil {
				break
			}
			continue
		}
		if rec == nil {
			rec = perfstat.NewRecorder()
			if o.Duration > 0 {
				deadline = time.Now().Add(o.Duration)
			}
			progressDone.Go(func() { rec.Progress(progressCtx, progress, o.ProgressInterval, "read") })
		}
		var n, size int64
		fetches.EachRecord(func(r *kgo.Record) {
			n++
			size += int64(len(r.Value) + len(r.Key))
		})
		rec.DoneNoLatency(n, size)
	}
	if rec == nil {
		return perfstat.Summary{}, fmt.Errorf("perf consume: no record arrived from topic %q within %s", o.Topic, o.IdleTimeout)
	}
	rec.Stop()
	s := rec.Summary()
	s.Tool, s.Mode = "millstream perf consume", "throughput"
	return s, nil
}
