package group_test

import (
	"testing"
	"time"

	"github.com/millstream/millstream/broker/group"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// replay builds a new coordinator from records, as a restart does.
func replay(t *testing.T, clk *manualClock, recs []group.Record) *group.Coordinator {
	t.Helper()
	c := group.New(group.Options{}, clk, nil)
	for _, r := range recs {
		if err := c.Restore(r.Key, r.Value); err != nil {
			t.Fatalf("Restore: %v", err)
		}
	}
	return c
}

func TestRecordsRestoreOffsetsAndGroups(t *testing.T) {
	h := newHarness(t, group.Options{})
	ids, gen := h.stableGroup("live", 2)
	h.commit("live", ids[0], gen, "t", 0, 10, "m0")
	h.commit("live", ids[1], gen, "t", 1, 11, "m1")
	h.commit("solo", "", -1, "u", 0, 5, "")
	h.commit("gone", "", -1, "u", 0, 6, "")
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"gone"}
	h.c.DeleteGroups(del)
	h.commit("solo", "", -1, "u", 0, 7, "later") // overwrites
	recs := h.c.TakeRecords()
	if len(h.c.TakeRecords()) != 0 {
		t.Fatalf("TakeRecords returned records twice")
	}

	for name, rs := range map[string][]group.Record{"log": recs, "snapshot": h.c.Snapshot()} {
		t.Run(name, func(t *testing.T) {
			h2 := &harness{t: t, c: replay(t, h.clk, rs), clk: h.clk}
			for _, c := range []struct {
				g, topic string
				p        int32
				off      int64
				meta     string
			}{{"live", "t", 0, 10, "m0"}, {"live", "t", 1, 11, "m1"}, {"solo", "u", 0, 7, "later"}, {"gone", "u", 0, -1, ""}} {
				off, meta := h2.fetch(c.g, c.topic, c.p)
				if off != c.off || meta != c.meta {
					t.Errorf("restored %s %s/%d = %d %q, want %d %q", c.g, c.topic, c.p, off, meta, c.off, c.meta)
				}
			}
			d := h2.describe("live")
			if d.State != "Stable" || len(d.Members) != 2 || d.Protocol != "range" {
				t.Fatalf("restored group = %+v, want Stable with 2 members", d)
			}
			// Members carry on: heartbeats and commits with the old
			// generation work, and assignments are kept.
			if got := h2.heartbeat("live", ids[1], gen); got != 0 {
				t.Fatalf("heartbeat after restore = %d", got)
			}
			if s := h2.sync("live", ids[1], gen, nil); string(s.resp.MemberAssignment) != "assignment-of-"+ids[1] {
				t.Fatalf("assignment after restore = %q", s.resp.MemberAssignment)
			}
			// A new member makes the next generation follow on.
			n := h2.joinNew("live", joinSpec{})
			h2.join("live", joinSpec{member: ids[0]})
			h2.join("live", joinSpec{member: ids[1]})
			if !n.done() || n.resp.Generation != gen+1 {
				t.Fatalf("join after restore = %+v, want generation %d", n.resp, gen+1)
			}
		})
	}
}

func TestRestoredMembersTimeOut(t *testing.T) {
	h := newHarness(t, group.Options{})
	h.stableGroup("g", 1)
	c := replay(t, h.clk, h.c.TakeRecords())
	h.clk.Advance(11 * time.Second)
	c.Tick()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{"g"}
	if d := c.DescribeGroups(req).Groups[0]; d.State != "Empty" {
		t.Fatalf("restored group whose member never came back = %s, want Empty", d.State)
	}
}

func TestRestoreRejectsGarbage(t *testing.T) {
	c := group.New(group.Options{}, nil, nil)
	for _, k := range [][]byte{nil, {0}, {0, 9, 1, 2}, {0, 1, 0, 200}} {
		if err := c.Restore(k, []byte{1}); err == nil {
			t.Errorf("Restore(%x) = nil, want an error", k)
		}
	}
}

func FuzzRestore(f *testing.F) {
	h := newHarness(f, group.Options{})
	ids, gen := h.stableGroup("g", 2)
	h.commit("g", ids[0], gen, "t", 0, 10, "meta")
	for _, r := range h.c.TakeRecords() {
		f.Add(r.Key, r.Value)
	}
	f.Fuzz(func(t *testing.T, key, value []byte) {
		c := group.New(group.Options{}, nil, nil)
		if err := c.Restore(key, value); err != nil {
			return
		}
		// Whatever was accepted must be usable.
		c.Tick()
		c.ListGroups(kmsg.NewPtrListGroupsRequest())
		c.Snapshot()
	})
}
