package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupMember is what the group tests need of a member, whatever the client.
type groupMember interface {
	memberName() string
	// snapshot returns the partitions the member owns now and every record
	// it has read so far, or an error if it died.
	snapshot() (owned []int32, reads []memberRead, err error)
}

func (m *pyMember) memberName() string { return m.name }
func (m *pyMember) snapshot() ([]int32, []memberRead, error) {
	return m.state()
}

// franzMember is a franz-go group consumer with the cooperative-sticky
// balancer, polling in a goroutine that Close ends.
type franzMember struct {
	name   string
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex // guards owned and reads
	owned map[int32]bool
	reads []memberRead
}

func startFranzMember(t testing.TB, addr, topic, group, name string) *franzMember {
	t.Helper()
	m := &franzMember{name: name, done: make(chan struct{}), owned: map[int32]bool{}}
	update := func(ps map[string][]int32, own bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, p := range ps[topic] {
			if own {
				m.owned[p] = true
			} else {
				delete(m.owned, p)
			}
		}
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ClientID(name),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(6*time.Second),
		kgo.HeartbeatInterval(300*time.Millisecond),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { update(ps, true) }),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, ps map[string][]int32) {
			// Replacing the default callback means committing here.
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				t.Errorf("%s: commit on revoke: %v", name, err)
			}
			update(ps, false)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { update(ps, false) }),
	)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	m.cl = cl
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil || fs.IsClientClosed() {
				return
			}
			m.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				m.reads = append(m.reads, memberRead{name, r.Partition, r.Offset, string(r.Value)})
			})
			m.mu.Unlock()
		}
	}()
	t.Cleanup(m.Close)
	return m
}

// Close stops polling, then leaves the group (committing what was read).
func (m *franzMember) Close() {
	m.cancel()
	<-m.done
	m.cl.Close()
}

func (m *franzMember) memberName() string { return m.name }

func (m *franzMember) snapshot() ([]int32, []memberRead, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	owned := slices.Sorted(maps.Keys(m.owned))
	return owned, slices.Clone(m.reads), nil
}

// kcatMember is `kcat -G`: records from stdout, its assignment from the
// rebalance lines on stderr.
type kcatMember struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}

	mu         sync.Mutex // guards the fields below
	owned      map[int32]bool
	reads      []memberRead
	rebalances int // rebalance lines seen
	stderr     bytes.Buffer
	bad        error
}

// kcatRebalance matches kcat's rebalance lines, eager and cooperative:
//
//	% Group g rebalanced (memberid m): assigned: t [0], t [2]
//	% Group g rebalanced: incremental revoke of 1 partition(s) (memberid m, COOPERATIVE rebalance protocol): t [0]
var (
	kcatRebalance = regexp.MustCompile(`^% Group \S+ rebalanced.*?(assigned|revoked|incremental assignment|incremental revoke)[^:]*: (.*)$`)
	kcatPartition = regexp.MustCompile(`\[(\d+)\]`)
)

// startKcatMember runs kcat -G in group with the given extra arguments.
func startKcatMember(t testing.TB, kcat, addr, topic, group, name string, extra ...string) *kcatMember {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	m := &kcatMember{name: name, done: make(chan struct{}), owned: map[int32]bool{}}
	// -u: unbuffered, so records show up as kcat reads them.
	args := append([]string{"-b", addr, "-G", group, "-u", "-X", "client.id=" + name,
		"-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000",
		"-X", "heartbeat.interval.ms=300", "-f", `%p %o %s\n`}, extra...)
	m.cmd = exec.CommandContext(ctx, kcat, append(args, topic)...)
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stderr, err := m.cmd.StderrPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start kcat -G: %v", err)
	}
	var pipes sync.WaitGroup
	pipes.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			m.record(sc.Text())
		}
	})
	pipes.Go(func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			m.status(sc.Text())
		}
	})
	go func() {
		defer close(m.done)
		defer cancel()
		pipes.Wait()
		m.cmd.Wait()
	}()
	t.Cleanup(func() {
		m.cmd.Process.Signal(syscall.SIGKILL)
		<-m.done
		if t.Failed() {
			m.mu.Lock()
			t.Logf("%s stderr:\n%s", m.name, m.stderr.String())
			m.mu.Unlock()
		}
	})
	return m
}

func (m *kcatMember) record(line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := strings.SplitN(line, " ", 3)
	p, err1 := strconv.Atoi(f[0])
	var o int64
	var err2 error
	if len(f) == 3 {
		o, err2 = strconv.ParseInt(f[1], 10, 64)
	}
	if len(f) != 3 || err1 != nil || err2 != nil {
		m.bad = fmt.Errorf("%s printed %q", m.name, line)
		return
	}
	m.reads = append(m.reads, memberRead{m.name, int32(p), o, f[2]})
}

func (m *kcatMember) status(line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stderr.WriteString(line + "\n")
	sm := kcatRebalance.FindStringSubmatch(line)
	if sm == nil {
		return
	}
	m.rebalances++
	own := sm[1] == "assigned" || sm[1] == "incremental assignment"
	if sm[1] == "assigned" || sm[1] == "revoked" {
		// Eager: the line names the whole new assignment, or all of it revoked.
		clear(m.owned)
	}
	for _, pm := range kcatPartition.FindAllStringSubmatch(sm[2], -1) {
		p, _ := strconv.Atoi(pm[1])
		if own {
			m.owned[int32(p)] = true
		} else {
			delete(m.owned, int32(p))
		}
	}
}

// Stop asks kcat to leave the group (SIGTERM: it commits and closes).
func (m *kcatMember) Stop(t testing.TB) {
	t.Helper()
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit after SIGTERM", m.name)
	}
}

func (m *kcatMember) memberName() string { return m.name }

func (m *kcatMember) snapshot() ([]int32, []memberRead, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bad != nil {
		return nil, nil, m.bad
	}
	return slices.Sorted(maps.Keys(m.owned)), slices.Clone(m.reads), nil
}

// membersBalanced reports an error unless every member owns at least one
// partition, no partition has two owners, and all n are owned.
func membersBalanced(n int32, ms ...groupMember) error {
	owner := map[int32]string{}
	for _, m := range ms {
		owned, _, err := m.snapshot()
		if err != nil {
			return err
		}
		if len(owned) == 0 {
			return fmt.Errorf("%s owns no partition", m.memberName())
		}
		for _, p := range owned {
			if o, dup := owner[p]; dup {
				return fmt.Errorf("partition %d owned by %s and %s", p, o, m.memberName())
			}
			owner[p] = m.memberName()
		}
	}
	if int32(len(owner)) != n {
		return fmt.Errorf("%d of %d partitions owned: %v", len(owner), n, owner)
	}
	return nil
}

// readsByPosition gathers every member's reads by (partition, offset).
func readsByPosition(ms ...groupMember) (map[[2]int64][]memberRead, error) {
	out := map[[2]int64][]memberRead{}
	for _, m := range ms {
		_, reads, err := m.snapshot()
		if err != nil {
			return nil, err
		}
		for _, r := range reads {
			pos := [2]int64{int64(r.partition), r.offset}
			out[pos] = append(out[pos], r)
		}
	}
	return out, nil
}

// describeStable checks with DescribeGroups that the group is Stable with
// the given number of members, each assigned partitions of topic.
func describeStable(adm *kadm.Client, group, topic string, members int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dg, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return err
	}
	g, ok := dg[group]
	if !ok || g.Err != nil {
		return fmt.Errorf("describe group %s: %v", group, g.Err)
	}
	if g.State != "Stable" || len(g.Members) != members {
		return fmt.Errorf("group %s is %s with %d members, want Stable with %d", group, g.State, len(g.Members), members)
	}
	for _, m := range g.Members {
		ca, ok := m.Assigned.AsConsumer()
		if !ok || len(ca.Topics) != 1 || ca.Topics[0].Topic != topic || len(ca.Topics[0].Partitions) == 0 {
			return fmt.Errorf("member %s (%s) assignment %+v, want partitions of %s", m.MemberID, m.ClientID, m.Assigned, topic)
		}
	}
	return nil
}

// TestKcatAndFranzGoShareAGroup puts kcat -G (librdkafka) and a franz-go
// consumer, both with the cooperative-sticky assignor, in one group: they
// split the partitions, read every record exactly once, and when kcat
// leaves, franz-go takes its partitions over from kcat's commits.
func TestKcatAndFranzGoShareAGroup(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	b := startBroker(t)
	requireAPI(t, b.Addr(), kmsg.JoinGroup, "consumer groups")
	const (
		topic      = "mixed-group"
		group      = "mixed-group"
		partitions = 4
	)
	createTopic(t, b.Addr(), topic, partitions)
	prod := newGroupProducer(t, b.Addr(), topic, partitions)
	adm := kadm.NewClient(newClient(t, b.Addr()))

	fm := startFranzMember(t, b.Addr(), topic, group, "franz-member")
	km := startKcatMember(t, kcat, b.Addr(), topic, group, "kcat-member",
		"-X", "partition.assignment.strategy=cooperative-sticky")
	eventually(t, 60*time.Second, "kcat and franz-go split four partitions", func() error {
		if err := membersBalanced(partitions, fm, km); err != nil {
			return err
		}
		return describeStable(adm, group, topic, 2)
	})

	prod.produce(t, 400)
	exactlyOnce := func() error {
		byPos, err := readsByPosition(fm, km)
		if err != nil {
			return err
		}
		for pos, want := range prod.written {
			rs := byPos[pos]
			if len(rs) == 0 {
				return fmt.Errorf("partition %d offset %d not read yet", pos[0], pos[1])
			}
			if len(rs) > 1 {
				t.Fatalf("partition %d offset %d read %d times: %v", pos[0], pos[1], len(rs), rs)
			}
			if rs[0].value != want {
				t.Fatalf("partition %d offset %d: read %q, want %q", pos[0], pos[1], rs[0].value, want)
			}
		}
		return nil
	}
	eventually(t, 30*time.Second, "both members read everything", exactlyOnce)
	// Each partition was read by its owner alone.
	byPos, _ := readsByPosition(fm, km)
	reader := map[int64]string{}
	for pos, rs := range byPos {
		if r, ok := reader[pos[0]]; ok && r != rs[0].member {
			t.Fatalf("partition %d read by both %s and %s without a rebalance", pos[0], r, rs[0].member)
		}
		reader[pos[0]] = rs[0].member
	}

	km.Stop(t)
	eventually(t, 60*time.Second, "franz-go takes over all partitions", func() error {
		if err := membersBalanced(partitions, fm); err != nil {
			return err
		}
		return describeStable(adm, group, topic, 1)
	})
	prod.produce(t, 200)
	eventually(t, 30*time.Second, "franz-go reads the rest from kcat's commits", exactlyOnce)
}

// TestGroupResumesAfterBrokerKill commits offsets from a franz-go group
// member, kills the broker with SIGKILL, and checks after the restart that
// the committed offsets are intact and that another client (kcat -G) in the
// same group resumes exactly there; then kcat's own commits survive a
// second kill.
func TestGroupResumesAfterBrokerKill(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	b := startBroker(t)
	requireAPI(t, b.Addr(), kmsg.JoinGroup, "consumer groups")
	const (
		topic      = "resume"
		group      = "resume"
		partitions = 3
	)
	createTopic(t, b.Addr(), topic, partitions)
	prod := newGroupProducer(t, b.Addr(), topic, partitions)
	prod.produce(t, 300)

	// A member commits offsets of its own choosing, then leaves.
	want := map[int32]int64{0: 40, 1: 100, 2: 7}
	cl := newClient(t, b.Addr(),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(6*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("group member read nothing: %v", ctx.Err())
		}
		if fs.NumRecords() > 0 {
			break
		}
	}
	commit := map[string]map[int32]kgo.EpochOffset{topic: {}}
	for p, o := range want {
		commit[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	var commitErr error
	cl.CommitOffsetsSync(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		commitErr = err
		if err == nil {
			for _, tp := range resp.Topics {
				for _, p := range tp.Partitions {
					if p.ErrorCode != 0 {
						commitErr = fmt.Errorf("commit %s[%d]: error code %d", tp.Topic, p.Partition, p.ErrorCode)
					}
				}
			}
		}
	})
	if commitErr != nil {
		t.Fatalf("commit: %v", commitErr)
	}
	cl.Close()

	b.Kill()
	b.Restart()
	checkCommitted(t, b.Addr(), group, topic, want)

	prod.produce(t, 30)
	km := startKcatMember(t, kcat, b.Addr(), topic, group, "kcat-resume", "-e")
	select {
	case <-km.done:
	case <-time.After(60 * time.Second):
		t.Fatal("kcat -G -e did not reach the end of the topic")
	}
	_, reads, err := km.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	next := maps.Clone(want)
	for _, r := range reads {
		if r.offset != next[r.partition] {
			t.Fatalf("kcat read partition %d offset %d, want offset %d (resume from the committed offset %d)", r.partition, r.offset, next[r.partition], want[r.partition])
		}
		if w := prod.written[[2]int64{int64(r.partition), r.offset}]; r.value != w {
			t.Fatalf("kcat read %q at partition %d offset %d, want %q", r.value, r.partition, r.offset, w)
		}
		next[r.partition]++
	}
	_, end := endOffsets(t, newClient(t, b.Addr()), topic)
	for p := range int32(partitions) {
		if next[p] != end[p] {
			t.Fatalf("kcat stopped partition %d at %d, want the end %d", p, next[p], end[p])
		}
	}

	// kcat committed on its way out; that survives a kill too.
	b.Kill()
	b.Restart()
	checkCommitted(t, b.Addr(), group, topic, end)
}

// checkCommitted fails unless the group's committed offsets for topic are
// exactly want.
func checkCommitted(t testing.TB, addr, group, topic string, want map[int32]int64) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("FetchOffsets(%s): %v", group, err)
	}
	got := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic != topic {
			return
		}
		if o.Err != nil {
			t.Fatalf("FetchOffsets(%s) %s[%d]: %v", group, o.Topic, o.Partition, o.Err)
		}
		got[o.Partition] = o.At
	})
	if !maps.Equal(got, want) {
		t.Fatalf("committed offsets of %s after restart = %v, want %v", group, got, want)
	}
}

// TestGroupProtocolSelection puts kcat -G (offering range and roundrobin)
// and kafka-python (offering roundrobin only) in one group: the broker must
// pick roundrobin, the one protocol both support. A third member offering
// only cooperative-sticky must be refused with INCONSISTENT_GROUP_PROTOCOL.
func TestGroupProtocolSelection(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	requireKafkaPython(t)
	b := startBroker(t)
	requireAPI(t, b.Addr(), kmsg.JoinGroup, "consumer groups")
	const (
		topic      = "protocols"
		group      = "protocols"
		partitions = 4
	)
	createTopic(t, b.Addr(), topic, partitions)
	km := startKcatMember(t, kcat, b.Addr(), topic, group, "kcat-range-rr",
		"-X", "partition.assignment.strategy=range,roundrobin")
	pm := startPyMember(t, b.Addr(), topic, group, "python-rr", 6*time.Second, "roundrobin")
	adm := kadm.NewClient(newClient(t, b.Addr()))
	eventually(t, 60*time.Second, "kcat and kafka-python share the group", func() error {
		if err := membersBalanced(partitions, km, pm); err != nil {
			return err
		}
		return describeStable(adm, group, topic, 2)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dg, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if p := dg[group].Protocol; p != "roundrobin" {
		t.Fatalf("group protocol = %q, want roundrobin (the only one both members offer)", p)
	}

	c, err := dialRaw(b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	join := kmsg.NewPtrJoinGroupRequest()
	join.Version = 0
	join.Group = group
	join.SessionTimeoutMillis = 6000
	join.ProtocolType = "consumer"
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name = "cooperative-sticky"
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	proto.Metadata = meta.AppendTo(nil)
	join.Protocols = append(join.Protocols, proto)
	resp, err := c.roundTrip(join, 20*time.Second)
	if err != nil {
		t.Fatalf("JoinGroup v0 with cooperative-sticky only: %v", err)
	}
	if code := resp.(*kmsg.JoinGroupResponse).ErrorCode; code != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("JoinGroup with a protocol no member offers: error %v, want INCONSISTENT_GROUP_PROTOCOL", kerr.ErrorForCode(code))
	}
	if err := describeStable(adm, group, topic, 2); err != nil {
		t.Fatalf("after the refused join: %v", err)
	}
}

// TestStaticMemberRejoinsWithoutRebalance runs two kcat -G members with
// static membership (group.instance.id). One is killed with SIGKILL and
// restarted at once under the same instance id: it must get its old
// partitions back and the other member must not go through a rebalance.
func TestStaticMemberRejoinsWithoutRebalance(t *testing.T) {
	t.Parallel()
	kcat := requireKcat(t)
	b := startBroker(t)
	requireAPI(t, b.Addr(), kmsg.JoinGroup, "consumer groups")
	const (
		topic      = "static"
		group      = "static"
		partitions = 4
	)
	createTopic(t, b.Addr(), topic, partitions)
	prod := newGroupProducer(t, b.Addr(), topic, partitions)
	static := func(name, id string) *kcatMember {
		return startKcatMember(t, kcat, b.Addr(), topic, group, name, "-X", "group.instance.id="+id)
	}
	s1 := static("static-1", "instance-1")
	s2 := static("static-2", "instance-2")
	adm := kadm.NewClient(newClient(t, b.Addr()))
	eventually(t, 60*time.Second, "two static members split four partitions", func() error {
		if err := membersBalanced(partitions, s1, s2); err != nil {
			return err
		}
		return describeStable(adm, group, topic, 2)
	})
	owned1, _, _ := s1.snapshot()
	s2.mu.Lock()
	before := s2.rebalances
	s2.mu.Unlock()

	s1.cmd.Process.Signal(syscall.SIGKILL)
	<-s1.done
	again := static("static-1-again", "instance-1")
	eventually(t, 30*time.Second, "the restarted static member owns its old partitions", func() error {
		owned, _, err := again.snapshot()
		if err != nil {
			return err
		}
		if !slices.Equal(owned, owned1) {
			return fmt.Errorf("owns %v, want %v", owned, owned1)
		}
		return nil
	})
	// Once both have read records written after the restart, a rebalance
	// the rejoin caused would have shown on the other member by now.
	prod.produce(t, 40)
	eventually(t, 30*time.Second, "both members read the new records", func() error {
		byPos, err := readsByPosition(again, s2)
		if err != nil {
			return err
		}
		for pos := range prod.written {
			if len(byPos[pos]) == 0 {
				return fmt.Errorf("partition %d offset %d not read yet", pos[0], pos[1])
			}
		}
		return nil
	})
	s2.mu.Lock()
	after := s2.rebalances
	s2.mu.Unlock()
	if after != before {
		t.Fatalf("the other static member went through %d rebalance events when instance-1 rejoined, want none", after-before)
	}
	if err := describeStable(adm, group, topic, 2); err != nil {
		t.Fatal(err)
	}
}
