package kafka_test

import (
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
)

// TestPubSubGroups runs Watermill's Pub/Sub suite with consumer groups on
// topics of four partitions: a Pub/Sub made by a test joins that test's
// group, so a new subscriber continues where the last one committed.
func TestPubSubGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("ten-member groups rebalance for a while; runs without -short")
	}
	brokers := testBrokers(t)
	features := tests.Features{
		ConsumerGroups:      true,
		ExactlyOnceDelivery: false,
		GuaranteedOrder:     true, // per key: the suite's order test is keyed by payload
		Persistent:          true,
		GenerateTopicFunc:   func(tctx tests.TestContext) string { return "wm-g-" + string(tctx.TestID) },
	}
	tests.TestPubSub(t, features,
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return newPubSub(t, brokers, groupOf(t), 4)
		},
		func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
			return newPubSub(t, brokers, group, 4)
		})
}

// groupOf names the group of a test: every Pub/Sub a test makes joins the
// same group, and tests do not share groups.
func groupOf(t *testing.T) string {
	name := t.Name()
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[:i]
	}
	return "g-" + strings.NewReplacer("/", "-", " ", "_").Replace(name)
}
