package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/millstream/millstream/broker/server"
)

// Example embeds a broker in a Go program.
func Example() {
	dir, err := os.MkdirTemp("", "millstream-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	cfg := server.DefaultConfig()
	cfg.DataDir = dir
	cfg.KafkaAddr = "127.0.0.1:0" // any free port
	cfg.Fsync = server.FsyncPolicy{Mode: server.FsyncAlways}
	srv, err := server.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err) // the message names the setting and the fix
	}
	if err := srv.Start(ctx); err != nil { // binds the port before returning
		panic(err)
	}
	defer srv.Close() // stop accepting, answer in-flight requests, flush and close logs
	fmt.Println("serving Kafka on", srv.Addr() != "")

	// Output: serving Kafka on true
}
