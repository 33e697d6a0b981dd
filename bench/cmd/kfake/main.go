// Command kfake serves franz-go's in-memory fake Kafka cluster (one node) on
// an address, so the client commands can be tried without a real broker and
// the benchmark has an in-memory peer to compare against.
//
//	kfake [--addr 127.0.0.1:9092] [--addr-file FILE] [--partitions 1] [--topic T]...
//
// With port 0 the node listens on a random port; the address it bound is
// printed on stdout and, with --addr-file, written to that file once the node
// accepts connections. kfake keeps every record in memory; for long runs give
// the topic a retention.bytes config and --retention-check. SIGINT or SIGTERM
// stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
}

// topicList collects repeated --topic flags.
type topicList []string

func (t *topicList) String() string     { return strings.Join(*t, ",") }
func (t *topicList) Set(v string) error { *t = append(*t, v); return nil }

func run(args []string) error {
	fs := flag.NewFlagSet("kfake", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9092", "host:port to listen on (port 0: a random port)")
	addrFile := fs.String("addr-file", "", "write the bound address to this file once listening")
	partitions := fs.Int("partitions", 1, "partitions of auto-created topics and of --topic topics")
	retentionCheck := fs.Duration("retention-check", 0,
		"apply topics' retention.ms and retention.bytes this often (0: never), to bound memory in long runs")
	var topics topicList
	fs.Var(&topics, "topic", "create this topic at start (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", *addr, err)
	}
	// kfake always asks for 127.0.0.1:<port>; listen on the host we were given
	// instead, keeping the port it chose.
	listen := func(network, a string) (net.Listener, error) {
		_, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, err
		}
		if port == "0" {
			_, port, _ = net.SplitHostPort(*addr)
		}
		return net.Listen(network, net.JoinHostPort(host, port))
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(listen),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
		kfake.GroupMinSessionTimeout(0),
	}
	_, port, _ := net.SplitHostPort(*addr)
	if port != "0" {
		var p int
		if _, err := fmt.Sscanf(port, "%d", &p); err != nil {
			return fmt.Errorf("--addr %q: bad port", *addr)
		}
		opts = append(opts, kfake.Ports(p))
	}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(*partitions), topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	defer c.Close()
	bound := c.ListenAddrs()[0]
	fmt.Println("kfake listening on", bound)
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(bound+"\n"), 0o644); err != nil {
			return fmt.Errorf("write --addr-file: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *retentionCheck > 0 {
		t := time.NewTicker(*retentionCheck)
		defer t.Stop()
		for ctx.Err() == nil {
			select {
			case <-t.C:
				c.ApplyRetention()
			case <-ctx.Done():
			}
		}
	}
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), context.Canceled) {
		return context.Cause(ctx)
	}
	return nil
}
