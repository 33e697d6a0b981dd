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
)

// ErrNoSuchGroup is wrapped by the errors of group commands when the group
// has neither members nor committed offsets.
var ErrNoSuchGroup = errors.New("no such group")

// ListGroups writes one line per consumer group: its name, state and
// protocol type, sorted by name.
func ListGroups(ctx context.Context, adm *kadm.Client, w io.Writer) error {
	gs, err := adm.ListGroups(ctx)
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tSTATE\tPROTOCOL-TYPE")
	for _, g := range gs.Sorted() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Group, orDash(g.State), orDash(g.ProtocolType))
	}
	return tw.Flush()
}

// DescribeGroup writes a group's state, its members (member id, client id,
// host, assigned partitions) and, per partition it has an offset for or is
// assigned, the committed offset, the log end offset and the lag.
func DescribeGroup(ctx context.Context, adm *kadm.Client, w io.Writer, group string) error {
	lags, err := adm.Lag(ctx, group)
	if err != nil {
		return fmt.Errorf("describe group %q: %w", group, err)
	}
	l, ok := lags[group]
	if !ok {
		return fmt.Errorf("describe group %q: no answer from the cluster", group)
	}
	if err := l.Error(); err != nil {
		return fmt.Errorf("describe group %q: %w", group, err)
	}
	if (l.State == "Dead" || l.State == "") && len(l.Members) == 0 && len(l.Lag) == 0 {
		return fmt.Errorf("describe group %q: %w", group, ErrNoSuchGroup)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Group: %s\tState: %s\tProtocol: %s\tMembers: %d\tTotal lag: %d\n",
		group, l.State, orDash(l.Protocol), len(l.Members), l.Lag.Total())
	if len(l.Members) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "MEMBER-ID\tCLIENT-ID\tHOST\tASSIGNMENT")
		for _, m := range l.Members {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.MemberID, m.ClientID, m.ClientHost, assignment(m))
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tMEMBER-ID\tCLIENT-ID\tHOST")
	for _, p := range l.Lag.Sorted() {
		commit, lag := "-", "-"
		if p.Commit.At >= 0 {
			commit = fmt.Sprint(p.Commit.At)
		}
		if p.Lag >= 0 {
			lag = fmt.Sprint(p.Lag)
		}
		end := "-"
		if p.End.Err == nil {
			end = fmt.Sprint(p.End.Offset)
		}
		member, client, host := "-", "-", "-"
		if p.Member != nil {
			member, client, host = p.Member.MemberID, p.Member.ClientID, p.Member.ClientHost
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Topic, p.Partition, commit, end, lag, member, client, host)
	}
	return tw.Flush()
}

// assignment renders a consumer member's assignment as topic:0,1;other:2.
func assignment(m kadm.DescribedGroupMember) string {
	a, ok := m.Assigned.AsConsumer()
	if !ok || len(a.Topics) == 0 {
		return "-"
	}
	var parts []string
	for _, t := range a.Topics {
		ps := append([]int32(nil), t.Partitions...)
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		parts = append(parts, t.Topic+":"+joinInt32(ps))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// DeleteGroups deletes consumer groups (they must have no members) and
// writes a line per deleted group; it tries each and returns the errors.
func DeleteGroups(ctx context.Context, adm *kadm.Client, w io.Writer, groups ...string) error {
	if len(groups) == 0 {
		return errors.New("delete groups: name at least one group")
	}
	resps, err := adm.DeleteGroups(ctx, groups...)
	if err != nil {
		return fmt.Errorf("delete groups: %w", err)
	}
	var errs []error
	for _, g := range groups {
		r, ok := resps[g]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("delete group %q: no answer from the cluster", g))
		case r.Err != nil:
			errs = append(errs, fmt.Errorf("delete group %q: %w", g, withMessage(r.Err, r.ErrMessage)))
		default:
			fmt.Fprintf(w, "deleted group %q\n", g)
		}
	}
	return errors.Join(errs...)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
