package brokercontainer_test

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// The reaper (Ryuk) is an image, and no image can be pulled here; every
	// test terminates its containers itself.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	os.Exit(m.Run())
}
