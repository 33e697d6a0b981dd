package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/millstream/millstream/broker/brokertest"
	"github.com/millstream/millstream/broker/cli"
)

// fillTopic creates a one-partition topic holding the lines 0..n-1.
func fillTopic(t *testing.T, addr, topic string, n int) {
	t.Helper()
	createTopic(t, addr, topic, 1)
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "%d\n", i)
	}
	if _, err := produceLines(t, addr, in.String(), cli.ProducerSettings{}, cli.ProduceOptions{Topic: topic, Partition: -1}); err != nil {
		t.Fatal(err)
	}
}

// describeRow returns the describe line of partition 0 of topic, with its
// columns separated by single spaces.
func describeRow(t *testing.T, adm *kadm.Client, group, topic string) string {
	t.Helper()
	var out bytes.Buffer
	if err := cli.DescribeGroup(testContext(t), adm, &out, group); err != nil {
		t.Fatalf("DescribeGroup(%s): %v", group, err)
	}
	space := regexp.MustCompile(` +`)
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, topic+" ") {
			return strings.TrimSpace(space.ReplaceAllString(l, " "))
		}
	}
	t.Fatalf("DescribeGroup(%s) has no row for %s:\n%s", group, topic, out.String())
	return ""
}

func TestConsumeGroupResumesFromCommit(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	fillTopic(t, b.Addr(), "events", 10)
	adm := admin(t, b.Addr())

	got, _ := consumeAll(t, b.Addr(), 4, cli.ConsumeOptions{Topic: "events", Partition: -1, Start: "earliest", Group: "g"})
	if got != "0\n1\n2\n3\n" {
		t.Fatalf("first group consume = %q, want records 0-3", got)
	}
	// TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG MEMBER CLIENT HOST
	if row := describeRow(t, adm, "g", "events"); !strings.HasPrefix(row, "events 0 4 10 6 ") {
		t.Errorf("after reading 4 of 10, describe row = %q, want committed 4, end 10, lag 6", row)
	}
	got, _ = consumeAll(t, b.Addr(), 6, cli.ConsumeOptions{Topic: "events", Partition: -1, Start: "earliest", Group: "g"})
	if got != "4\n5\n6\n7\n8\n9\n" {
		t.Errorf("second group consume = %q, want records 4-9 (resume after the commit)", got)
	}
	if row := describeRow(t, adm, "g", "events"); !strings.HasPrefix(row, "events 0 10 10 0 ") {
		t.Errorf("after reading all, describe row = %q, want committed 10, lag 0", row)
	}
}

func TestResetOffsets(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	fillTopic(t, b.Addr(), "events", 10)
	adm := admin(t, b.Addr())
	ctx := testContext(t)
	consumeAll(t, b.Addr(), 5, cli.ConsumeOptions{Topic: "events", Partition: -1, Start: "earliest", Group: "g"})

	plan, err := cli.PlanReset(ctx, adm, cli.ResetOptions{Group: "g", Topic: "events", To: cli.ResetTo{Kind: "earliest"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []cli.ResetRow{{Topic: "events", Partition: 0, Current: 5, New: 0}}; fmt.Sprint(plan.Rows) != fmt.Sprint(want) {
		t.Errorf("plan to earliest = %v, want %v", plan.Rows, want)
	}
	// Planning changes nothing.
	if row := describeRow(t, adm, "g", "events"); !strings.HasPrefix(row, "events 0 5 ") {
		t.Errorf("after a dry run, describe row = %q, want the commit still at 5", row)
	}

	future := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		to   cli.ResetTo
		want int64
	}{
		{cli.ResetTo{Kind: "earliest"}, 0},
		{cli.ResetTo{Kind: "shift", Shift: 3}, 3},
		{cli.ResetTo{Kind: "shift", Shift: -100}, 0},  // clamped to the start
		{cli.ResetTo{Kind: "offset", Offset: 99}, 10}, // clamped to the end
		{cli.ResetTo{Kind: "offset", Offset: 7}, 7},
		{cli.ResetTo{Kind: "datetime", Time: future}, 10},
		{cli.ResetTo{Kind: "datetime", Time: time.UnixMilli(0)}, 0},
		{cli.ResetTo{Kind: "latest"}, 10},
		{cli.ResetTo{Kind: "offset", Offset: 2}, 2},
	} {
		plan, err := cli.PlanReset(ctx, adm, cli.ResetOptions{Group: "g", Topic: "events:0", To: tc.to})
		if err != nil {
			t.Fatalf("PlanReset(%+v): %v", tc.to, err)
		}
		if err := cli.ApplyReset(ctx, adm, plan); err != nil {
			t.Fatalf("ApplyReset(%+v): %v", tc.to, err)
		}
		if row := describeRow(t, adm, "g", "events"); !strings.HasPrefix(row, fmt.Sprintf("events 0 %d 10 ", tc.want)) {
			t.Errorf("after reset %+v, describe row = %q, want committed %d", tc.to, row, tc.want)
		}
	}
	// The group resumes from the reset offset.
	got, _ := consumeAll(t, b.Addr(), 3, cli.ConsumeOptions{Topic: "events", Partition: -1, Group: "g"})
	if got != "2\n3\n4\n" {
		t.Errorf("after reset to 2, the group read %q, want records 2-4", got)
	}

	for _, bad := range []cli.ResetOptions{
		{Group: "g", Topic: "nosuch", To: cli.ResetTo{Kind: "earliest"}},
		{Group: "g", Topic: "events:5", To: cli.ResetTo{Kind: "earliest"}},
		{Group: "fresh", Topic: "events", To: cli.ResetTo{Kind: "shift", Shift: 1}},
	} {
		if _, err := cli.PlanReset(ctx, adm, bad); err == nil {
			t.Errorf("PlanReset(%+v) = nil error, want one", bad)
		}
	}
}

// member runs a group consumer until the test ends.
func member(t *testing.T, addr, group, topic string) {
	t.Helper()
	cl := connect(t, addr, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		cl.Close()
	})
}

func waitForMembers(t *testing.T, adm *kadm.Client, group string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		gs, err := adm.DescribeGroups(testContext(t), group)
		if err == nil && len(gs[group].Members) > 0 && gs[group].State == "Stable" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s has no stable member after 15s (last: %+v, %v)", group, gs[group], err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestResetAndDeleteRefusedWhileGroupHasMembers(t *testing.T) {
	t.Parallel()
	b := brokertest.Start(t)
	fillTopic(t, b.Addr(), "events", 3)
	adm := admin(t, b.Addr())
	ctx := testContext(t)
	member(t, b.Addr(), "busy", "events")
	waitForMembers(t, adm, "busy")

	var out bytes.Buffer
	if err := cli.DescribeGroup(ctx, adm, &out, "busy"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"State: Stable", "Members: 1", "MEMBER-ID", "events:0", "127.0.0.1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("describe of an active group lacks %q:\n%s", want, out.String())
		}
	}

	plan, err := cli.PlanReset(ctx, adm, cli.ResetOptions{Group: "busy", Topic: "events", To: cli.ResetTo{Kind: "earliest"}})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Members != 1 {
		t.Errorf("plan.Members = %d, want 1", plan.Members)
	}
	if err := cli.ApplyReset(ctx, adm, plan); !errors.Is(err, cli.ErrGroupActive) {
		t.Errorf("ApplyReset on an active group = %v, want ErrGroupActive", err)
	}
	if err := cli.DeleteGroups(ctx, adm, &out, "busy"); !errors.Is(err, kerr.NonEmptyGroup) {
		t.Errorf("DeleteGroups on an active group = %v, want NON_EMPTY_GROUP", err)
	}
	out.Reset()
	if err := cli.ListGroups(ctx, adm, &out); err != nil || !strings.Contains(out.String(), "busy") {
		t.Errorf("ListGroups = %q, %v; want the group busy", out.String(), err)
	}
}

func TestGroupsCommands(t *testing.T) {
	b := brokertest.Start(t)
	fillTopic(t, b.Addr(), "events", 10)
	t.Setenv(cli.BootstrapEnv, b.Addr())
	if out, _, err := run(t, "", "consume", "events", "--group", "cmdg", "--from-beginning", "--max-messages", "4"); err != nil || out != "0\n1\n2\n3\n" {
		t.Fatalf("consume --group = %q, %v", out, err)
	}
	out, _, err := run(t, "", "groups", "list")
	if err != nil || !strings.Contains(out, "cmdg") || !strings.Contains(out, "Empty") {
		t.Errorf("groups list = %q, %v; want cmdg, Empty", out, err)
	}
	out, _, err = run(t, "", "groups", "describe", "cmdg")
	if err != nil || !strings.Contains(out, "Total lag: 6") {
		t.Errorf("groups describe = %q, %v; want a total lag of 6", out, err)
	}
	out, stderr, err := run(t, "", "groups", "reset-offsets", "cmdg", "--topic", "events", "--to-offset", "1")
	if err != nil || !regexp.MustCompile(`cmdg +events +0 +4 +1`).MatchString(out) || !strings.Contains(stderr, "dry run") {
		t.Errorf("reset-offsets dry run = %q (stderr %q), %v", out, stderr, err)
	}
	if out, _, _ := run(t, "", "groups", "describe", "cmdg"); !strings.Contains(out, "Total lag: 6") {
		t.Errorf("a dry run changed the offsets:\n%s", out)
	}
	if _, _, err := run(t, "", "groups", "reset-offsets", "cmdg", "--topic", "events", "--to-offset", "1", "--execute"); err != nil {
		t.Fatalf("reset-offsets --execute: %v", err)
	}
	if out, _, _ := run(t, "", "groups", "describe", "cmdg"); !strings.Contains(out, "Total lag: 9") {
		t.Errorf("after reset to 1, describe:\n%s\nwant a total lag of 9", out)
	}
	if _, _, err := run(t, "", "groups", "reset-offsets", "cmdg", "--topic", "events", "--to-earliest", "--to-latest"); err == nil ||
		!strings.Contains(err.Error(), "exactly one") {
		t.Errorf("reset-offsets with two targets = %v, want a refusal", err)
	}
	if out, _, err := run(t, "", "groups", "delete", "cmdg"); err != nil || !strings.Contains(out, `deleted group "cmdg"`) {
		t.Errorf("groups delete = %q, %v", out, err)
	}
	if _, _, err := run(t, "", "groups", "describe", "cmdg"); err == nil {
		t.Error("describe of a deleted group = nil error, want one")
	}
}
