package group

import "strings"

// State is the state of a group in the classic protocol.
type State int8

// The states of a group. Their String forms are the names Kafka reports in
// DescribeGroups and ListGroups.
const (
	Empty State = iota
	PreparingRebalance
	CompletingRebalance
	Stable
	Dead
)

func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	case Stable:
		return "Stable"
	case Dead:
		return "Dead"
	}
	return "Unknown"
}

// parseState maps a ListGroups state filter to a State, case-insensitively.
func parseState(s string) (State, bool) {
	for st := Empty; st <= Dead; st++ {
		if strings.EqualFold(s, st.String()) {
			return st, true
		}
	}
	return 0, false
}
