package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ConsumeOptions describe what `consume` reads and how it stops.
type ConsumeOptions struct {
	Topic string
	// Partition, when 0 or above, reads only that partition (not with Group).
	// -1 reads every partition.
	Partition int32
	// Start is where reading begins: "earliest", "latest" or an offset
	// number. In group mode it applies only to partitions the group has no
	// committed offset for. Default: "latest".
	Start string
	// Group, when set, consumes as a member of this consumer group and
	// commits the offsets of the records written.
	Group string
	// MaxMessages stops after this many records; 0 means no limit.
	MaxMessages int64
	// IdleTimeout stops after no record arrived for this long; 0 waits forever.
	IdleTimeout time.Duration
	// Format renders each record. Default: the value and a newline.
	Format *Format
}

// ParseStart turns "earliest", "latest" or an offset number into a kgo offset.
func ParseStart(s string) (kgo.Offset, error) {
	switch strings.ToLower(s) {
	case "", "latest", "end":
		return kgo.NewOffset().AtEnd(), nil
	case "earliest", "beginning", "start":
		return kgo.NewOffset().AtStart(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return kgo.Offset{}, fmt.Errorf("--offset %q: want earliest, latest or an offset number", s)
	}
	return kgo.NewOffset().At(n), nil
}

// ClientOpts returns the consumer options a client needs for these options.
func (o ConsumeOptions) ClientOpts() ([]kgo.Opt, error) {
	if o.Topic == "" {
		return nil, errors.New("consume: a topic is required")
	}
	start, err := ParseStart(o.Start)
	if err != nil {
		return nil, err
	}
	if o.Group != "" && o.Partition >= 0 {
		return nil, errors.New("consume: --partition cannot be combined with --group; the group assigns partitions")
	}
	opts := []kgo.Opt{kgo.FetchMaxWait(500 * time.Millisecond)}
	switch {
	case o.Partition >= 0:
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.Topic: {o.Partition: start}}))
	default:
		opts = append(opts, kgo.ConsumeTopics(o.Topic), kgo.ConsumeResetOffset(start))
	}
	if o.Group != "" {
		opts = append(opts, kgo.ConsumerGroup(o.Group), kgo.AutoCommitMarks(),
			kgo.Balancers(kgo.CooperativeStickyBalancer()))
	}
	return opts, nil
}

// Consume writes the records of a client built with o.ClientOpts to w until
// MaxMessages were written, IdleTimeout passed without a record, or ctx
// ends; reaching a limit or ctx ending is not an error. In group mode it
// marks each written record and commits the marks before returning. It
// returns the number of records written.
func Consume(ctx context.Context, cl *kgo.Client, w io.Writer, o ConsumeOptions) (int64, error) {
	format := o.Format
	if format == nil {
		var err error
		if format, err = ParseFormat(DefaultFormat(false, false)); err != nil {
			return 0, err
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var (
		n   int64
		buf []byte
	)
	defer func() {
		if o.Group != "" {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = cl.CommitMarkedOffsets(cctx)
		}
	}()
	for o.MaxMessages == 0 || n < o.MaxMessages {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if o.IdleTimeout > 0 {
			pctx, cancel = context.WithTimeout(ctx, o.IdleTimeout)
		}
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			break
		}
		if fetches.IsClientClosed() {
			break
		}
		var fetchErr error
		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			if fetchErr == nil {
				fetchErr = fmt.Errorf("consume: topic %q partition %d: %w", t, p, err)
			}
		})
		if fetchErr != nil {
			bw.Flush()
			return n, fetchErr
		}
		if fetches.NumRecords() == 0 {
			if pctx.Err() != nil {
				break // idle for IdleTimeout
			}
			continue
		}
		iter := fetches.RecordIter()
		for !iter.Done() && (o.MaxMessages == 0 || n < o.MaxMessages) {
			r := iter.Next()
			buf = format.AppendRecord(buf[:0], r)
			if _, err := bw.Write(buf); err != nil {
				return n, fmt.Errorf("consume: write output: %w", err)
			}
			n++
			if o.Group != "" {
				cl.MarkCommitRecords(r)
			}
		}
		if err := bw.Flush(); err != nil {
			return n, fmt.Errorf("consume: write output: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("consume: write output: %w", err)
	}
	return n, nil
}
