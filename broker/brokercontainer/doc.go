// Package brokercontainer runs the Millstream broker in Docker for tests,
// as a testcontainers-go module shaped like its Kafka and Redpanda modules.
//
// # Usage
//
//	ctr, err := brokercontainer.Run(ctx, brokercontainer.DefaultImage,
//		brokercontainer.WithBuildFromRepo(repoRoot), // omit when the image exists
//		brokercontainer.WithTopicDefaults(map[string]string{"retention.ms": "3600000"}),
//	)
//	testcontainers.CleanupContainer(t, ctr)
//	if err != nil {
//		t.Fatal(err)
//	}
//	seeds, err := ctr.Brokers(ctx) // ["127.0.0.1:PORT"], for any Kafka client
//
// # The advertised address
//
// A Kafka client dials the seed address, then reconnects to whatever
// address the broker advertises in Metadata. Docker picks a random host
// port only when the container starts, after the broker's flags are fixed,
// so a broker in a container would advertise an address the host cannot
// reach. The image is FROM scratch, so the usual trick of a start script
// that waits for a file written after start is not available. Instead Run
// picks a free host port first, publishes the container's 9092 on exactly
// that port of 127.0.0.1, and starts the broker with
// --advertise-kafka-addr 127.0.0.1:PORT. If another process takes the port
// in between, Run picks another and tries again.
//
// The consequence: the advertised address is for clients on the Docker
// host. Other containers cannot use it, and neither can a remote Docker
// daemon's clients (DOCKER_HOST on another machine).
//
// # Data
//
// The broker keeps its data in /data, an anonymous volume unless
// [WithDataVolume] names one. Stopping and starting the container keeps
// the data and the port; a named volume also keeps it across containers.
//
// # Docker without a registry
//
// Tests here must not pull images: set TESTCONTAINERS_RYUK_DISABLED=true
// (the reaper is an image too) and terminate containers yourself, for
// instance with testcontainers.CleanupContainer.
package brokercontainer
