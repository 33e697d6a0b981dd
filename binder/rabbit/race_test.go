//go:build race

package rabbit_test

// raceDetector is true under -race. watermill-amqp v3 (through v3.1.0)
// writes ConnectionWrapper.connected on reconnect without a lock while
// IsConnected reads it (github.com/ThreeDotsLabs/watermill/issues/693), so
// the reconnect test cannot run under the race detector.
const raceDetector = true
