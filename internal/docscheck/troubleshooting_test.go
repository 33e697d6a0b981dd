package docscheck_test

import (
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTroubleshootingQuotesRealMessages ties each message that
// docs/troubleshooting.md quotes to the file that prints it, so that a
// reworded error fails here until the page follows. The fragments are the
// constant parts of each message (the variable parts, such as addresses,
// were copied from real runs).
func TestTroubleshootingQuotesRealMessages(t *testing.T) {
	quoted := []struct{ fragment, source string }{
		{"did you mean max-attempts?", "sdk/streamfx/testdata/errors.txt"},
		{"add its module (such as kafka.Module) to the fx app, or fix the name", "sdk/streamfx/testdata/errors.txt"},
		{"names no bound function; bound bindings: ", "sdk/stream/app.go"},
		{": unknown key; known keys: ", "binder/kafka/config.go"},
		{"kafka: describe topic ", "binder/kafka/provision.go"},
		{"kafka: no broker of ", "binder/kafka/health.go"},
		{"rabbit: connect to ", "binder/rabbit/binder.go"},
		{"cluster unreachable", "broker/cli/connect.go"},
		{"accepted the connection but gave no Kafka answer within ", "broker/cli/connect.go"},
		{" does not exist (create it with: millstream topics create ", "broker/cli/commands.go"},
		{"compaction is not implemented yet; use cleanup.policy=delete", "broker/metadata/configs.go"},
		{"unknown topic config; supported: ", "broker/metadata/configs.go"},
		{"server: listen on kafka-addr ", "broker/server/server.go"},
		{"listen on http-addr", "broker/server/server.go"},
		{"unsupported version ", "broker/server/conn.go"},
		{"legacy message formats (magic 0 and 1) are not supported", "broker/record/errors.go"},
		{"rabbitmq-server is not installed (apt-get install rabbitmq-server, or make tools)", "binder/rabbit/rabbittest/rabbittest.go"},
		{"binder/rabbit tests need rabbitmq-server", "binder/rabbit/main_test.go"},
		{"neither 'docker compose' nor 'docker-compose' is installed", "compose/stack"},
		{"not healthy after ", "compose/stack"},
		{"install them (Debian: sudo apt-get install ", "scripts/test-tools"},
		{"docs/snippets/make-help.txt is stale", "Makefile"},
	}
	page, err := os.ReadFile(filepath.Join(root, "docs/troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The messages sit in <pre> blocks, HTML-escaped.
	text := html.UnescapeString(string(page))
	for _, q := range quoted {
		if !strings.Contains(text, q.fragment) {
			t.Errorf("docs/troubleshooting.md does not quote %q (from %s); update the test or the page", q.fragment, q.source)
		}
		src, err := os.ReadFile(filepath.Join(root, q.source))
		if err != nil {
			t.Errorf("%s: %v (the message %q moved?)", q.source, err, q.fragment)
			continue
		}
		if !strings.Contains(string(src), q.fragment) {
			t.Errorf("%s no longer contains %q, which docs/troubleshooting.md quotes; fix the page", q.source, q.fragment)
		}
	}
}
