package compat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// pyMember is one kafka-python group member process
// (testdata/kafka_python_group_member.py) and what it has reported.
type pyMember struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when stdout is drained and the process waited for

	mu        sync.Mutex // guards the fields below
	assigned  []int32
	reads     []memberRead
	committed map[int32]int64 // partition -> next offset, as last reported
	commitErr []string        // failed commits, as reported
	bad       error           // an unparsable line
	killed    bool            // by the test, so exiting is expected
	stderr    bytes.Buffer
}

// memberRead is one record a member reported.
type memberRead struct {
	member    string
	partition int32
	offset    int64
	value     string
}

type pyEvent struct {
	Event      string           `json:"event"`
	Partitions []int32          `json:"partitions"`
	Partition  int32            `json:"partition"`
	Offset     int64            `json:"offset"`
	Value      string           `json:"value"`
	Offsets    map[string]int64 `json:"offsets"`
	Error      string           `json:"error"`
}

// startPyMember starts a group member; the test kills it at the end.
// assignor, if given, is the only assignor it offers (range or roundrobin).
func startPyMember(t testing.TB, addr, topic, group, name string, session time.Duration, assignor ...string) *pyMember {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	m := &pyMember{name: name, done: make(chan struct{}), committed: map[int32]int64{}}
	args := append([]string{"testdata/kafka_python_group_member.py",
		addr, topic, group, name, strconv.Itoa(int(session.Milliseconds()))}, assignor...)
	m.cmd = exec.CommandContext(ctx, python, args...)
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	m.cmd.Stderr = &lockedWriter{mu: &m.mu, w: &m.stderr}
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		defer close(m.done)
		defer cancel()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			m.handle(sc.Bytes())
		}
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

func (m *pyMember) handle(line []byte) {
	var ev pyEvent
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := json.Unmarshal(line, &ev); err != nil {
		m.bad = fmt.Errorf("%s printed %q: %w", m.name, line, err)
		return
	}
	switch ev.Event {
	case "assigned":
		m.assigned = ev.Partitions
	case "revoked":
		m.assigned = nil
	case "record":
		m.reads = append(m.reads, memberRead{m.name, ev.Partition, ev.Offset, ev.Value})
	case "committed":
		for p, o := range ev.Offsets {
			n, _ := strconv.Atoi(p)
			m.committed[int32(n)] = o
		}
	case "commit_failed":
		m.commitErr = append(m.commitErr, ev.Error)
	default:
		m.bad = fmt.Errorf("%s printed unknown event %q", m.name, ev.Event)
	}
}

// Kill sends SIGKILL: the member leaves no goodbye, the broker must notice
// by its session timeout.
func (m *pyMember) Kill() {
	m.mu.Lock()
	m.killed = true
	m.mu.Unlock()
	m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
}

func (m *pyMember) state() (assigned []int32, reads []memberRead, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bad != nil {
		return nil, nil, m.bad
	}
	select {
	case <-m.done:
		if m.killed {
			return nil, slices.Clone(m.reads), nil
		}
		return nil, nil, fmt.Errorf("%s exited: %v\n%s", m.name, m.cmd.ProcessState, m.stderr.String())
	default:
	}
	return slices.Clone(m.assigned), slices.Clone(m.reads), nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// balanced reports an error unless the members' assignments are non-empty,
// disjoint and cover partitions 0..n-1.
func balanced(n int32, members ...*pyMember) error {
	owner := map[int32]string{}
	for _, m := range members {
		a, _, err := m.state()
		if err != nil {
			return err
		}
		if len(a) == 0 {
			return fmt.Errorf("%s has no partitions", m.name)
		}
		for _, p := range a {
			if o, dup := owner[p]; dup {
				return fmt.Errorf("partition %d assigned to %s and %s", p, o, m.name)
			}
			owner[p] = m.name
		}
	}
	for p := range n {
		if _, ok := owner[p]; !ok {
			return fmt.Errorf("partition %d assigned to nobody (%v)", p, owner)
		}
	}
	return nil
}

// groupProducer writes numbered records round-robin over the partitions and
// remembers where each landed.
type groupProducer struct {
	cl         *kgo.Client
	partitions int32
	next       int
	written    map[[2]int64]string // (partition, offset) -> value
}

// newGroupProducer writes round-robin over the partitions of topic with
// a client made with opts on top of the manual partitioner.
func newGroupProducer(t testing.TB, addr, topic string, partitions int32, opts ...kgo.Opt) *groupProducer {
	opts = append([]kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)
	return &groupProducer{cl: newClient(t, addr, opts...), partitions: partitions, written: map[[2]int64]string{}}
}

func (g *groupProducer) produce(t testing.TB, n int) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Partition: int32(g.next % int(g.partitions)), Value: fmt.Appendf(nil, "rec-%d", g.next)}
		g.next++
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	for _, r := range recs {
		g.written[[2]int64{int64(r.Partition), r.Offset}] = string(r.Value)
	}
}

// allRead reports an error unless every written record has been read by
// one of the members.
func (g *groupProducer) allRead(members ...*pyMember) error {
	read := map[[2]int64]bool{}
	for _, m := range members {
		_, reads, err := m.state()
		if err != nil {
			return err
		}
		for _, r := range reads {
			read[[2]int64{int64(r.partition), r.offset}] = true
		}
	}
	missing := 0
	for pos := range g.written {
		if !read[pos] {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("%d of %d records not read yet", missing, len(g.written))
	}
	return nil
}

// TestKafkaPythonConsumerGroup runs kafka-python group members on a
// 4-partition topic: two split the partitions, a third joins and they are
// spread again, one is killed and its partitions move to the others after
// the session timeout. Across all of it no record is lost, and none is read
// twice except what the killed member read after its last commit.
func TestKafkaPythonConsumerGroup(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits for a session timeout; runs without -short")
	}
	requireKafkaPython(t)
	b := startBroker(t)
	requireAPI(t, b.Addr(), kmsg.JoinGroup, "consumer groups")
	const (
		topic      = "python-group"
		group      = "python-group"
		partitions = 4
		session    = 6 * time.Second
	)
	createTopic(t, b.Addr(), topic, partitions)
	// kafka-python on Debian has no snappy, franz-go's default codec.
	prod := newGroupProducer(t, b.Addr(), topic, partitions, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	prod.produce(t, 100)

	a := startPyMember(t, b.Addr(), topic, group, "member-a", session)
	bm := startPyMember(t, b.Addr(), topic, group, "member-b", session)
	eventually(t, 60*time.Second, "two members split four partitions", func() error { return balanced(partitions, a, bm) })
	prod.produce(t, 200)
	eventually(t, 30*time.Second, "two members read everything", func() error { return prod.allRead(a, bm) })

	c := startPyMember(t, b.Addr(), topic, group, "member-c", session)
	eventually(t, 60*time.Second, "three members share four partitions", func() error { return balanced(partitions, a, bm, c) })
	prod.produce(t, 200)
	eventually(t, 30*time.Second, "three members read everything", func() error { return prod.allRead(a, bm, c) })

	prod.produce(t, 100)
	bm.Kill()
	killed := time.Now()
	eventually(t, 60*time.Second, "the killed member's partitions move", func() error { return balanced(partitions, a, c) })
	t.Logf("partitions moved %v after the kill (session timeout %v)", time.Since(killed).Round(100*time.Millisecond), session)
	prod.produce(t, 200)
	eventually(t, 30*time.Second, "the two survivors read everything", func() error { return prod.allRead(a, bm, c) })

	// Nothing read twice, except by the killed member after its last commit.
	bm.mu.Lock()
	bCommitted := maps.Clone(bm.committed)
	bm.mu.Unlock()
	byPos := map[[2]int64][]memberRead{}
	for _, m := range []*pyMember{a, bm, c} {
		m.mu.Lock()
		for _, r := range m.reads {
			pos := [2]int64{int64(r.partition), r.offset}
			byPos[pos] = append(byPos[pos], r)
			if want, ok := prod.written[pos]; !ok || r.value != want {
				t.Errorf("%s read %q at partition %d offset %d, want %q", m.name, r.value, r.partition, r.offset, want)
			}
		}
		m.mu.Unlock()
	}
	var dupPos [][2]int64
	for pos, rs := range byPos {
		if len(rs) > 1 {
			dupPos = append(dupPos, pos)
		}
	}
	sort.Slice(dupPos, func(i, j int) bool {
		return dupPos[i][0] < dupPos[j][0] || dupPos[i][0] == dupPos[j][0] && dupPos[i][1] < dupPos[j][1]
	})
	excused := 0
	for _, pos := range dupPos {
		rs := byPos[pos]
		byB := slices.ContainsFunc(rs, func(r memberRead) bool { return r.member == bm.name })
		if len(rs) == 2 && byB && pos[1] >= bCommitted[int32(pos[0])] {
			excused++
			continue
		}
		t.Errorf("partition %d offset %d read %d times (%v); member-b had committed up to %d", pos[0], pos[1], len(rs), rs, bCommitted[int32(pos[0])])
	}
	t.Logf("%d records, each read once, except %d that member-b read after its last commit before it was killed", len(prod.written), excused)
}

// TestKafkaPythonGroupSurvivesBrokerKill kills the broker with SIGKILL
// while two kafka-python members consume and commit. After the restart the
// members rejoin, every record is read, and a record is read twice only at
// or after the partition's last commit made before the kill.
func TestKafkaPythonGroupSurvivesBrokerKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("members rejoin after the broker restarts; runs without -short")
	}
	requireKafkaPython(t)
	b := startBroker(t)
	requireAPI(t, b.Addr(), kmsg.JoinGroup, "consumer groups")
	const (
		topic      = "python-group-kill"
		group      = "python-group-kill"
		partitions = 4
		session    = 6 * time.Second
	)
	createTopic(t, b.Addr(), topic, partitions)
	prod := newGroupProducer(t, b.Addr(), topic, partitions, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	prod.produce(t, 200)
	a := startPyMember(t, b.Addr(), topic, group, "member-a", session)
	c := startPyMember(t, b.Addr(), topic, group, "member-c", session)
	eventually(t, 60*time.Second, "two members split four partitions", func() error { return balanced(partitions, a, c) })
	eventually(t, 30*time.Second, "two members read everything", func() error { return prod.allRead(a, c) })

	prod.produce(t, 100)
	b.Kill()
	committed := map[int32]int64{}
	for _, m := range []*pyMember{a, c} {
		m.mu.Lock()
		for p, o := range m.committed {
			committed[p] = max(committed[p], o)
		}
		m.mu.Unlock()
	}
	b.Restart()
	prod.produce(t, 200)
	eventually(t, 90*time.Second, "the members rejoin and read everything", func() error {
		if err := balanced(partitions, a, c); err != nil {
			return err
		}
		return prod.allRead(a, c)
	})

	byPos := map[[2]int64]int{}
	for _, m := range []*pyMember{a, c} {
		m.mu.Lock()
		for _, r := range m.reads {
			byPos[[2]int64{int64(r.partition), r.offset}]++
		}
		if len(m.commitErr) > 0 {
			t.Logf("%s: %d failed commits, first: %s", m.name, len(m.commitErr), m.commitErr[0])
		}
		m.mu.Unlock()
	}
	again := 0
	for pos, n := range byPos {
		if n < 2 {
			continue
		}
		if pos[1] < committed[int32(pos[0])] {
			t.Errorf("partition %d offset %d read %d times, though offset %d was committed before the kill", pos[0], pos[1], n, committed[int32(pos[0])])
		}
		again++
	}
	t.Logf("%d records; %d read again after the kill (at or past the last commit); commits at the kill: %v", len(prod.written), again, committed)
}
