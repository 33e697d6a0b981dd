package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// ResetTo says where `groups reset-offsets` moves committed offsets.
type ResetTo struct {
	// Kind is one of "earliest", "latest", "offset", "datetime", "shift".
	Kind string
	// Offset is the target of "offset" (clamped to the partition's range).
	Offset int64
	// Time is the target of "datetime": the first record at or after it.
	Time time.Time
	// Shift is added to the committed offset for "shift" (clamped).
	Shift int64
}

// ResetOptions select the group and partitions to reset.
type ResetOptions struct {
	Group string
	// Topic is a topic name, or topic:0,1,2 to reset only those partitions.
	Topic string
	To    ResetTo
}

// ResetPlan is what a reset would commit, computed without changing anything.
type ResetPlan struct {
	Group string
	// State is the group state when planned; Members its member count.
	State   string
	Members int
	Rows    []ResetRow
}

// ResetRow is one partition's change; Current is -1 when nothing was committed.
type ResetRow struct {
	Topic     string
	Partition int32
	Current   int64
	New       int64
}

// ParseTime accepts RFC 3339 (2024-05-01T10:00:00Z, with or without
// fractional seconds), 2024-05-01T10:00:00 and 2024-05-01 (both UTC), or a
// Unix time in milliseconds.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2024-05-01T10:00:00Z), 2024-05-01 or Unix milliseconds", s)
}

// parseTopicPartitions splits "topic" or "topic:0,1,2".
func parseTopicPartitions(s string) (string, []int32, error) {
	topic, list, ok := strings.Cut(s, ":")
	if topic == "" {
		return "", nil, errors.New("--topic: a topic name is required")
	}
	if !ok {
		return topic, nil, nil
	}
	var ps []int32
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil || n < 0 {
			return "", nil, fmt.Errorf("--topic %q: partition %q is not a number", s, f)
		}
		ps = append(ps, int32(n))
	}
	return topic, ps, nil
}

// PlanReset computes the new committed offsets of a group for a topic
// without committing anything.
func PlanReset(ctx context.Context, adm *kadm.Client, o ResetOptions) (ResetPlan, error) {
	if o.Group == "" {
		return ResetPlan{}, errors.New("reset offsets: a group is required")
	}
	topic, only, err := parseTopicPartitions(o.Topic)
	if err != nil {
		return ResetPlan{}, err
	}
	described, err := adm.DescribeGroups(ctx, o.Group)
	if err != nil {
		return ResetPlan{}, fmt.Errorf("reset offsets of %q: describe group: %w", o.Group, err)
	}
	plan := ResetPlan{Group: o.Group}
	if d, ok := described[o.Group]; ok {
		if d.Err != nil {
			return ResetPlan{}, fmt.Errorf("reset offsets of %q: describe group: %w", o.Group, d.Err)
		}
		plan.State, plan.Members = d.State, len(d.Members)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return ResetPlan{}, fmt.Errorf("reset offsets of %q: topic %q: %w", o.Group, topic, err)
	}
	if len(starts[topic]) == 0 {
		return ResetPlan{}, fmt.Errorf("reset offsets of %q: topic %q has no partitions (does it exist?)", o.Group, topic)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return ResetPlan{}, fmt.Errorf("reset offsets of %q: topic %q: %w", o.Group, topic, err)
	}
	committed, err := adm.FetchOffsetsForTopics(ctx, o.Group, topic)
	if err != nil {
		return ResetPlan{}, fmt.Errorf("reset offsets of %q: fetch committed offsets: %w", o.Group, err)
	}
	var byTime kadm.ListedOffsets
	if o.To.Kind == "datetime" {
		byTime, err = adm.ListOffsetsAfterMilli(ctx, o.To.Time.UnixMilli(), topic)
		if err == nil {
			err = byTime.Error()
		}
		if err != nil {
			return ResetPlan{}, fmt.Errorf("reset offsets of %q: offsets by time: %w", o.Group, err)
		}
	}
	partitions := only
	if partitions == nil {
		for p := range starts[topic] {
			partitions = append(partitions, p)
		}
	}
	for _, p := range sortedInt32(partitions) {
		start, ok := starts.Lookup(topic, p)
		if !ok {
			return ResetPlan{}, fmt.Errorf("reset offsets of %q: topic %q has no partition %d", o.Group, topic, p)
		}
		end, _ := ends.Lookup(topic, p)
		row := ResetRow{Topic: topic, Partition: p, Current: -1}
		if c, ok := committed.Lookup(topic, p); ok && c.Err == nil && c.At >= 0 {
			row.Current = c.At
		}
		switch o.To.Kind {
		case "earliest":
			row.New = start.Offset
		case "latest":
			row.New = end.Offset
		case "offset":
			row.New = o.To.Offset
		case "datetime":
			row.New = end.Offset
			if t, ok := byTime.Lookup(topic, p); ok && t.Offset >= 0 {
				row.New = t.Offset
			}
		case "shift":
			if row.Current < 0 {
				return ResetPlan{}, fmt.Errorf("reset offsets of %q: --shift-by: partition %s:%d has no committed offset; use --to-earliest, --to-latest or --to-offset",
					o.Group, topic, p)
			}
			row.New = row.Current + o.To.Shift
		default:
			return ResetPlan{}, fmt.Errorf("reset offsets: unknown target %q", o.To.Kind)
		}
		row.New = min(max(row.New, start.Offset), end.Offset)
		plan.Rows = append(plan.Rows, row)
	}
	return plan, nil
}

// Write prints the plan as a table.
func (p ResetPlan) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tNEW-OFFSET")
	for _, r := range p.Rows {
		cur := "-"
		if r.Current >= 0 {
			cur = fmt.Sprint(r.Current)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\n", p.Group, r.Topic, r.Partition, cur, r.New)
	}
	return tw.Flush()
}

// ErrGroupActive is wrapped by ApplyReset's error when the group has members.
var ErrGroupActive = errors.New("group has active members")

// ApplyReset commits a plan. It refuses while the group has members, as
// their next commit would undo the reset; the check is made again right
// before committing.
func ApplyReset(ctx context.Context, adm *kadm.Client, plan ResetPlan) error {
	described, err := adm.DescribeGroups(ctx, plan.Group)
	if err != nil {
		return fmt.Errorf("reset offsets of %q: describe group: %w", plan.Group, err)
	}
	if d, ok := described[plan.Group]; ok && len(d.Members) > 0 {
		return fmt.Errorf("reset offsets of %q: %w (%d, state %s); stop its consumers first",
			plan.Group, ErrGroupActive, len(d.Members), d.State)
	}
	var os kadm.Offsets
	for _, r := range plan.Rows {
		os.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: r.New, LeaderEpoch: -1})
	}
	resps, err := adm.CommitOffsets(ctx, plan.Group, os)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		return fmt.Errorf("reset offsets of %q: commit: %w", plan.Group, err)
	}
	return nil
}

func sortedInt32(xs []int32) []int32 {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}
