package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreateTopicOptions describe a topic to create.
type CreateTopicOptions struct {
	Name string
	// Partitions is the partition count; -1 (or 0) lets the broker choose its default.
	Partitions int32
	// ReplicationFactor is the replica count; -1 (or 0) lets the broker choose its default.
	ReplicationFactor int16
	// Configs are topic configs such as retention.ms.
	Configs map[string]string
	// IfNotExists makes an existing topic a success instead of an error.
	IfNotExists bool
}

// CreateTopic creates one topic and writes one line saying so.
func CreateTopic(ctx context.Context, adm *kadm.Client, w io.Writer, o CreateTopicOptions) error {
	if o.Name == "" {
		return errors.New("create topic: a topic name is required")
	}
	parts, rf := o.Partitions, o.ReplicationFactor
	if parts == 0 {
		parts = -1
	}
	if rf == 0 {
		rf = -1
	}
	configs := make(map[string]*string, len(o.Configs))
	for k, v := range o.Configs {
		configs[k] = &v
	}
	resp, err := adm.CreateTopic(ctx, parts, rf, configs, o.Name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		if o.IfNotExists && errors.Is(err, kerr.TopicAlreadyExists) {
			_, err = fmt.Fprintf(w, "topic %q already exists\n", o.Name)
			return err
		}
		return fmt.Errorf("create topic %q: %w", o.Name, withMessage(err, resp.ErrMessage))
	}
	_, err = fmt.Fprintf(w, "created topic %q (%s, replication factor %d)\n",
		o.Name, plural(int(resp.NumPartitions), "partition"), resp.ReplicationFactor)
	return err
}

// ListTopics writes the names of the topics of the cluster, one per line,
// sorted; internal topics only when internal is true.
func ListTopics(ctx context.Context, adm *kadm.Client, w io.Writer, internal bool) error {
	var (
		td  kadm.TopicDetails
		err error
	)
	if internal {
		td, err = adm.ListTopicsWithInternal(ctx)
	} else {
		td, err = adm.ListTopics(ctx)
	}
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	for _, name := range td.Names() {
		if _, err := fmt.Fprintln(w, name); err != nil {
			return err
		}
	}
	return nil
}

// DescribeTopics writes, for each topic: its id, partition count and
// replication factor, its configs (only those set on the topic unless
// allConfigs), and one line per partition with leader, replicas and ISR.
// With no topics it describes every non-internal topic.
func DescribeTopics(ctx context.Context, adm *kadm.Client, w io.Writer, topics []string, allConfigs bool) error {
	td, err := adm.ListTopicsWithInternal(ctx, topics...)
	if err != nil {
		return fmt.Errorf("describe topics: %w", err)
	}
	if len(topics) == 0 {
		for name, d := range td {
			if d.IsInternal {
				delete(td, name)
			}
		}
	}
	for _, t := range topics {
		if d, ok := td[t]; !ok || d.Err != nil {
			cause := error(kerr.UnknownTopicOrPartition)
			if ok {
				cause = d.Err
			}
			return fmt.Errorf("describe topic %q: %w", t, cause)
		}
	}
	names := td.Names()
	var rcs kadm.ResourceConfigs
	if len(names) > 0 {
		rcs, err = adm.DescribeTopicConfigs(ctx, names...)
		if err != nil {
			return fmt.Errorf("describe topic configs: %w", err)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, name := range names {
		d := td[name]
		if i > 0 {
			fmt.Fprintln(tw)
		}
		rf := 0
		for _, p := range d.Partitions {
			rf = max(rf, len(p.Replicas))
		}
		fmt.Fprintf(tw, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\n",
			name, d.ID, len(d.Partitions), rf)
		for _, rc := range rcs {
			if rc.Name != name {
				continue
			}
			if rc.Err != nil {
				fmt.Fprintf(tw, "\tConfigs: (unavailable: %v)\n", withMessage(rc.Err, rc.ErrMessage))
				continue
			}
			fmt.Fprintf(tw, "\tConfigs: %s\n", formatConfigs(rc.Configs, allConfigs))
		}
		for _, p := range d.Partitions.Sorted() {
			fmt.Fprintf(tw, "\tPartition: %d\tLeader: %d\tReplicas: %s\tIsr: %s", p.Partition, p.Leader,
				joinInt32(p.Replicas), joinInt32(p.ISR))
			if p.Err != nil {
				fmt.Fprintf(tw, "\tError: %v", p.Err)
			}
			fmt.Fprintln(tw)
		}
	}
	return tw.Flush()
}

// formatConfigs renders configs as k=v,k=v sorted by key. Unless all, only
// configs set on the topic itself are shown, as kafka-topics does.
func formatConfigs(cs []kadm.Config, all bool) string {
	var kv []string
	for _, c := range cs {
		if !all && c.Source != kmsg.ConfigSourceDynamicTopicConfig {
			continue
		}
		v := c.MaybeValue()
		if c.Sensitive {
			v = "(sensitive)"
		}
		kv = append(kv, c.Key+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// DeleteTopics deletes topics and writes one line per deleted topic. It
// tries every topic and returns the errors of those that failed.
func DeleteTopics(ctx context.Context, adm *kadm.Client, w io.Writer, topics ...string) error {
	if len(topics) == 0 {
		return errors.New("delete topics: name at least one topic")
	}
	resps, err := adm.DeleteTopics(ctx, topics...)
	if err != nil {
		return fmt.Errorf("delete topics: %w", err)
	}
	var errs []error
	for _, t := range topics {
		r, ok := resps[t]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("delete topic %q: no answer from the cluster", t))
		case r.Err != nil:
			errs = append(errs, fmt.Errorf("delete topic %q: %w", t, withMessage(r.Err, r.ErrMessage)))
		default:
			fmt.Fprintf(w, "deleted topic %q\n", t)
		}
	}
	return errors.Join(errs...)
}

// AlterTopicOptions describe changes to one topic.
type AlterTopicOptions struct {
	Name string
	// Partitions, when above zero, is the new total partition count; it can
	// only grow.
	Partitions int
	// Set are configs to set.
	Set map[string]string
	// Delete are configs to remove, falling back to the broker default.
	Delete []string
}

// AlterTopic adds partitions and sets or removes configs of one topic,
// writing a line per change made.
func AlterTopic(ctx context.Context, adm *kadm.Client, w io.Writer, o AlterTopicOptions) error {
	if o.Name == "" {
		return errors.New("alter topic: a topic name is required")
	}
	if o.Partitions <= 0 && len(o.Set) == 0 && len(o.Delete) == 0 {
		return errors.New("alter topic: nothing to change; give --partitions, --config or --delete-config")
	}
	if o.Partitions > 0 {
		td, err := adm.ListTopics(ctx, o.Name)
		if err != nil {
			return fmt.Errorf("alter topic %q: %w", o.Name, err)
		}
		d, ok := td[o.Name]
		if !ok || d.Err != nil {
			cause := error(kerr.UnknownTopicOrPartition)
			if ok {
				cause = d.Err
			}
			return fmt.Errorf("alter topic %q: %w", o.Name, cause)
		}
		switch have := len(d.Partitions); {
		case o.Partitions < have:
			return fmt.Errorf("alter topic %q: --partitions %d is below the current %d; partitions can only be added",
				o.Name, o.Partitions, have)
		case o.Partitions > have:
			resps, err := adm.UpdatePartitions(ctx, o.Partitions, o.Name)
			if err != nil {
				return fmt.Errorf("alter topic %q: add partitions: %w", o.Name, err)
			}
			if r := resps[o.Name]; r.Err != nil {
				return fmt.Errorf("alter topic %q: add partitions: %w", o.Name, withMessage(r.Err, r.ErrMessage))
			}
			fmt.Fprintf(w, "topic %q now has %d partitions (was %d)\n", o.Name, o.Partitions, have)
		}
	}
	if len(o.Set) == 0 && len(o.Delete) == 0 {
		return nil
	}
	var alters []kadm.AlterConfig
	keys := make([]string, 0, len(o.Set))
	for k := range o.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := o.Set[k]
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: &v})
	}
	for _, k := range o.Delete {
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	resps, err := adm.AlterTopicConfigs(ctx, alters, o.Name)
	if err != nil {
		return fmt.Errorf("alter topic %q: configs: %w", o.Name, err)
	}
	for _, r := range resps {
		if r.Err != nil {
			return fmt.Errorf("alter topic %q: configs: %w", o.Name, withMessage(r.Err, r.ErrMessage))
		}
	}
	for _, k := range keys {
		fmt.Fprintf(w, "topic %q: set %s=%s\n", o.Name, k, o.Set[k])
	}
	for _, k := range o.Delete {
		fmt.Fprintf(w, "topic %q: removed %s\n", o.Name, k)
	}
	return nil
}

// withMessage adds the broker's free-text message to a Kafka error code
// when the broker sent one.
func withMessage(err error, msg string) error {
	if msg == "" || err == nil || strings.Contains(err.Error(), msg) {
		return err
	}
	return fmt.Errorf("%w (%s)", err, msg)
}

func joinInt32(xs []int32) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}

// plural renders "1 partition", "3 partitions".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
