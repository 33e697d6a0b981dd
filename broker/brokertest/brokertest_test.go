package brokertest_test

import (
	"testing"

	"github.com/millstream/millstream/broker/brokertest"
)

func TestAddrStableAcrossRestart(t *testing.T) {
	b := brokertest.Start(t)
	addr := b.Addr()
	b.Restart()
	if b.Addr() != addr {
		t.Fatalf("address changed across Restart: %s -> %s", addr, b.Addr())
	}
	b.Close()
	b.Close() // a second Close does nothing
	if b.Server() != nil {
		t.Fatal("Server() after Close is not nil")
	}
}
