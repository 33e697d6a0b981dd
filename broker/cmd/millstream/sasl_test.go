package main

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/millstream/millstream/broker/auth"
	"gopkg.in/yaml.v3"
)

// TestSASLExampleConfigFile: the example the docs show loads, and bob's
// credential is the one of the password its comment gives.
func TestSASLExampleConfigFile(t *testing.T) {
	cfg, err := parse(t, "--config", "testdata/broker-sasl.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.SASLMechanisms, auth.Mechanisms) {
		t.Errorf("sasl-mechanisms = %v, want %v", cfg.SASLMechanisms, auth.Mechanisms)
	}
	if cfg.SASLUsers["alice"].Password != "alice-secret" {
		t.Errorf("alice = %+v", cfg.SASLUsers["alice"])
	}
	bob := cfg.SASLUsers["bob"].ScramSHA512
	if bob == nil {
		t.Fatalf("bob has no scram-sha-512 credential: %+v", cfg.SASLUsers["bob"])
	}
	salt, _ := base64.StdEncoding.DecodeString(bob.Salt)
	want, err := auth.DeriveSCRAM(auth.ScramSHA512, "bob-secret", salt, bob.Iterations)
	if err != nil {
		t.Fatal(err)
	}
	if *bob != want {
		t.Errorf("bob's credential is not bob-secret's:\n%+v\nwant\n%+v", *bob, want)
	}

	// The flag replaces the file's list.
	cfg, err = parse(t, "--config", "testdata/broker-sasl.yaml", "--sasl-mechanisms", "PLAIN,SCRAM-SHA-512")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.SASLMechanisms, []string{"PLAIN", "SCRAM-SHA-512"}) {
		t.Errorf("sasl-mechanisms = %v, want the flag's [PLAIN SCRAM-SHA-512]", cfg.SASLMechanisms)
	}
}

func TestSASLConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sasl-mechanisms", "PLAIN"}, "no users"},
		{[]string{"--sasl-mechanisms", "GSSAPI", "--config", "testdata/broker-sasl.yaml"}, `mechanism "GSSAPI"`},
	} {
		_, err := parse(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q) error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestSASLCredentialCommand(t *testing.T) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetIn(strings.NewReader("s3cret pass\n"))
	root.SetArgs([]string{"sasl-credential", "carol"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var users map[string]auth.User
	if err := yaml.Unmarshal(out.Bytes(), &users); err != nil {
		t.Fatalf("output is not sasl-users YAML: %v\n%s", err, out.String())
	}
	u := users["carol"]
	if u.Password != "" || u.ScramSHA256 == nil || u.ScramSHA512 == nil {
		t.Fatalf("carol = %+v, want both credentials and no password", u)
	}
	for mech, c := range map[string]*auth.SCRAMCredential{auth.ScramSHA256: u.ScramSHA256, auth.ScramSHA512: u.ScramSHA512} {
		salt, _ := base64.StdEncoding.DecodeString(c.Salt)
		want, err := auth.DeriveSCRAM(mech, "s3cret pass", salt, c.Iterations)
		if err != nil {
			t.Fatal(err)
		}
		if *c != want {
			t.Errorf("%s credential does not match the password", mech)
		}
	}

	root = newRootCmd()
	root.SetIn(strings.NewReader(""))
	root.SetArgs([]string{"sasl-credential", "carol"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "stdin") {
		t.Errorf("empty stdin: err = %v, want one about stdin", err)
	}
}
