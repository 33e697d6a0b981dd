package rabbit_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/millstream/millstream/binder/rabbit"
	"github.com/millstream/millstream/sdk/stream"
	"github.com/millstream/millstream/sdk/streamtest"
)

type docsFile struct {
	Millstream struct {
		Application   string                         `yaml:"application"`
		DefaultBinder string                         `yaml:"default-binder"`
		Binders       map[string]stream.BinderConfig `yaml:"binders"`
		Bindings      map[string]map[string]any      `yaml:"bindings"`
	} `yaml:"millstream"`
}

func readDocsFile(t *testing.T, name string) docsFile {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var doc docsFile
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

// TestDocsConfig keeps the configuration files the docs quote valid.
func TestDocsConfig(t *testing.T) {
	for _, file := range []string{"testdata/millstream.yaml", "testdata/moving.yaml"} {
		doc := readDocsFile(t, file)
		if _, err := rabbit.ParseConfig(doc.Millstream.Binders["rabbit"]); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

// TestMovingToRabbitMQ runs the bindings of testdata/moving.yaml, as
// docs/binders/moving.md shows them, on RabbitMQ: the application code and
// its bindings are the ones the Kafka page uses.
func TestMovingToRabbitMQ(t *testing.T) {
	doc := readDocsFile(t, "testdata/moving.yaml")
	cfg := stream.Config{Application: doc.Millstream.Application, DefaultBinder: "rabbit"}
	suffix := "." + strings.ReplaceAll(t.Name(), "/", ".") + "." + fmt.Sprint(os.Getpid())
	for binding, props := range doc.Millstream.Bindings {
		for k, v := range props {
			value := fmt.Sprint(v)
			if k == "destination" {
				value += suffix // a fresh destination per run
			}
			if err := cfg.Set("bindings."+binding+"."+k, value); err != nil {
				t.Fatal(err)
			}
		}
	}
	uppercase := stream.Function("uppercase", func(_ context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	})
	app := stream.New(cfg, stream.WithBinder("rabbit", newBinder(t)))
	if err := app.Register(uppercase); err != nil {
		t.Fatal(err)
	}
	h := streamtest.Run(t, app)
	h.Send("uppercase-in-0", "hello rabbit")
	if got := streamtest.Receive[string](t, h, "uppercase-out-0"); got.Payload != "HELLO RABBIT" {
		t.Fatalf("upper-words got %q, want HELLO RABBIT", got.Payload)
	}
}
