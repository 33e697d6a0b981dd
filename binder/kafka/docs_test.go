package kafka_test

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/millstream/millstream/binder/kafka"
	"github.com/millstream/millstream/sdk/stream"
)

// TestDocsConfig keeps the configuration files the docs quote valid.
func TestDocsConfig(t *testing.T) {
	for _, file := range []string{"testdata/millstream.yaml", "testdata/embedded.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Millstream struct {
				Binders map[string]stream.BinderConfig `yaml:"binders"`
			} `yaml:"millstream"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if _, err := kafka.ParseConfig(doc.Millstream.Binders["kafka"]); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}
