package server_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/millstream/millstream/broker/auth"
)

// These tests log in with clients other than franz-go: kcat (librdkafka,
// SaslHandshake v1 + SaslAuthenticate) and kafka-python 2.0.2
// (SaslHandshake v0 and bare tokens). They need the tools installed and
// take a few seconds, so -short skips them.

func needTool(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts external clients; skipped with -short")
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

func runTool(t *testing.T, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

func TestSASLKcat(t *testing.T) {
	kcat := needTool(t, "kcat")
	b := startSASL(t)
	for _, mech := range auth.Mechanisms {
		t.Run(mech, func(t *testing.T) {
			t.Parallel() // each waits on librdkafka's timers more than on the CPU
			topic := "kcat-" + strings.ToLower(mech)
			sasl := []string{"-b", b.Addr(), "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=" + mech,
				"-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"}
			want := "line one over " + mech + "\nline two\n"
			if out, err := runTool(t, want, kcat, append(sasl, "-P", "-t", topic)...); err != nil {
				t.Fatalf("kcat -P: %v\n%s", err, out)
			}
			out, err := runTool(t, "", kcat, append(sasl, "-C", "-t", topic, "-o", "beginning", "-e", "-q")...)
			if err != nil {
				t.Fatalf("kcat -C: %v\n%s", err, out)
			}
			if out != want {
				t.Fatalf("kcat consumed %q, want %q", out, want)
			}

			bad := []string{"-b", b.Addr(), "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=" + mech,
				"-X", "sasl.username=alice", "-X", "sasl.password=wrong", "-L", "-m", "1"}
			out, err = runTool(t, "", kcat, bad...)
			if err == nil {
				t.Fatalf("kcat -L with a wrong password succeeded:\n%s", out)
			}
			if !strings.Contains(out, "Authentication failed") && !strings.Contains(out, "authentication failed") {
				t.Fatalf("kcat -L with a wrong password: %v, want an authentication error:\n%s", err, out)
			}
		})
	}
}

const kafkaPythonScript = `
import sys
from kafka import KafkaProducer, KafkaConsumer
from kafka.errors import KafkaError
addr, mech, user, password, topic = sys.argv[1:6]
conf = dict(bootstrap_servers=addr, security_protocol='SASL_PLAINTEXT', sasl_mechanism=mech,
            sasl_plain_username=user, sasl_plain_password=password, api_version_auto_timeout_ms=10000)
try:
    p = KafkaProducer(**conf)
except KafkaError as e:
    print('producer:', type(e).__name__, e)
    sys.exit(3)
p.send(topic, b'from kafka-python over ' + mech.encode()).get(timeout=20)
p.close()
c = KafkaConsumer(topic, auto_offset_reset='earliest', consumer_timeout_ms=10000, **conf)
for m in c:
    print(m.value.decode())
    break
c.close()
`

func TestSASLKafkaPython(t *testing.T) {
	py := needTool(t, "/usr/bin/python3")
	if out, err := runTool(t, "", py, "-c", "import kafka"); err != nil {
		t.Skipf("kafka-python not installed: %s", out)
	}
	b := startSASL(t)
	for _, mech := range auth.Mechanisms {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			topic := "python-" + strings.ToLower(mech)
			out, err := runTool(t, "", py, "-c", kafkaPythonScript, b.Addr(), mech, "alice", "alice-secret", topic)
			if err != nil {
				t.Fatalf("kafka-python: %v\n%s", err, out)
			}
			if want := "from kafka-python over " + mech + "\n"; out != want {
				t.Fatalf("kafka-python consumed %q, want %q", out, want)
			}
			out, err = runTool(t, "", py, "-c", kafkaPythonScript, b.Addr(), mech, "alice", "wrong", topic)
			if err == nil {
				t.Fatalf("kafka-python with a wrong password succeeded:\n%s", out)
			}
		})
	}
}
