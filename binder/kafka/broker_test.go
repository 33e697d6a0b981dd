package kafka_test

import (
	"os"
	"strings"
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
)

// brokersEnv names a comma-separated list of brokers of an external cluster
// to run the tests against instead of the bundled broker (e.g. a Kafka or
// Redpanda container).
const brokersEnv = "MILLSTREAM_KAFKA_TEST_BROKERS"

// testBrokers returns the seed brokers of a cluster for t: the external one
// of MILLSTREAM_KAFKA_TEST_BROKERS, else a bundled broker started in process.
func testBrokers(t testing.TB) []string {
	t.Helper()
	if v := os.Getenv(brokersEnv); v != "" {
		return strings.Split(v, ",")
	}
	return []string{brokertest.Start(t).Addr()}
}
