package server

import (
	"strconv"

	"github.com/millstream/millstream/broker/metadata"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// configEntry is one config as Describe/CreateTopics responses show it.
type configEntry struct {
	name     string
	value    string
	source   kmsg.ConfigSource
	readOnly bool
	typ      kmsg.ConfigType
	doc      string
	synonyms []configSynonym // most specific first, including itself
}

type configSynonym struct {
	name   string
	value  string
	source kmsg.ConfigSource
}

// brokerNameOf maps each topic config to the broker setting that supplies
// its default, as Kafka names it.
var brokerNameOf = map[string]string{
	metadata.RetentionMs:          "log.retention.ms",
	metadata.RetentionBytes:       "log.retention.bytes",
	metadata.SegmentBytes:         "log.segment.bytes",
	metadata.SegmentMs:            "log.roll.ms",
	metadata.MaxMessageBytes:      "message.max.bytes",
	metadata.MessageTimestampType: "log.message.timestamp.type",
	metadata.CleanupPolicy:        "log.cleanup.policy",
}

// topicConfigEntries returns every honoured config of a topic, sorted by
// name, with its effective value and where it comes from: set on the topic
// (DYNAMIC_TOPIC_CONFIG), set on the broker by flag or file
// (STATIC_BROKER_CONFIG), or Kafka's default (DEFAULT_CONFIG).
func (s *Server) topicConfigEntries(set map[string]string) []configEntry {
	defaults := s.cfg.TopicDefaults.Map()
	kafka := metadata.DefaultTopicDefaults().Map()
	var out []configEntry
	for _, name := range metadata.ConfigNames() {
		e := configEntry{name: name, typ: configType(name), doc: metadata.ConfigDoc(name)}
		if v, ok := set[name]; ok {
			e.value, e.source = v, kmsg.ConfigSourceDynamicTopicConfig
			e.synonyms = append(e.synonyms, configSynonym{name, v, kmsg.ConfigSourceDynamicTopicConfig})
		}
		if defaults[name] != kafka[name] {
			if e.source == 0 {
				e.value, e.source = defaults[name], kmsg.ConfigSourceStaticBrokerConfig
			}
			e.synonyms = append(e.synonyms, configSynonym{brokerNameOf[name], defaults[name], kmsg.ConfigSourceStaticBrokerConfig})
		}
		if e.source == 0 {
			e.value, e.source = kafka[name], kmsg.ConfigSourceDefaultConfig
		}
		e.synonyms = append(e.synonyms, configSynonym{brokerNameOf[name], kafka[name], kmsg.ConfigSourceDefaultConfig})
		out = append(out, e)
	}
	return out
}

// brokerConfigEntries describes the broker's own settings. They are
// read-only: they come from flags or the config file.
func (s *Server) brokerConfigEntries() []configEntry {
	defaults := s.cfg.TopicDefaults.Map()
	kafka := metadata.DefaultTopicDefaults().Map()
	def := DefaultConfig()
	var out []configEntry
	add := func(name, value, kafkaDefault string, typ kmsg.ConfigType, doc string) {
		src := kmsg.ConfigSourceDefaultConfig
		if value != kafkaDefault {
			src = kmsg.ConfigSourceStaticBrokerConfig
		}
		out = append(out, configEntry{name: name, value: value, source: src, readOnly: true, typ: typ, doc: doc,
			synonyms: []configSynonym{{name, value, src}}})
	}
	for _, name := range metadata.ConfigNames() {
		add(brokerNameOf[name], defaults[name], kafka[name], configType(name), "default "+name+" of topics: "+metadata.ConfigDoc(name))
	}
	add("broker.id", "0", "0", kmsg.ConfigTypeInt, "this broker's node id")
	add("log.dirs", s.cfg.DataDir, def.DataDir, kmsg.ConfigTypeString, "the data directory (--data-dir)")
	add("listeners", "PLAINTEXT://"+s.Addr(), "PLAINTEXT://"+def.KafkaAddr, kmsg.ConfigTypeList, "the Kafka listener (--kafka-addr)")
	add("advertised.listeners", "PLAINTEXT://"+s.advertise, "PLAINTEXT://"+def.KafkaAddr, kmsg.ConfigTypeList, "the address given to clients (--advertise-kafka-addr)")
	add("auto.create.topics.enable", strconv.FormatBool(s.cfg.AutoCreateTopics), "true", kmsg.ConfigTypeBoolean, "create topics on Metadata requests (--auto-create-topics)")
	add("num.partitions", strconv.Itoa(int(s.cfg.DefaultPartitions)), "1", kmsg.ConfigTypeInt, "partitions of auto-created topics (--default-partitions)")
	add("socket.request.max.bytes", strconv.Itoa(int(s.cfg.MaxRequestSize)), strconv.Itoa(int(def.MaxRequestSize)), kmsg.ConfigTypeInt, "largest request accepted (--max-request-size)")
	add("millstream.fsync", s.cfg.Fsync.String(), def.Fsync.String(), kmsg.ConfigTypeString, "durability policy (--fsync)")
	add("log.retention.check.interval.ms", strconv.FormatInt(s.cfg.RetentionCheckInterval.Milliseconds(), 10),
		strconv.FormatInt(def.RetentionCheckInterval.Milliseconds(), 10), kmsg.ConfigTypeLong, "how often retention runs (--retention-check-interval)")
	return out
}

func configType(name string) kmsg.ConfigType {
	switch name {
	case metadata.SegmentBytes, metadata.MaxMessageBytes:
		return kmsg.ConfigTypeInt
	case metadata.CleanupPolicy:
		return kmsg.ConfigTypeList
	}
	if metadata.IsNumericConfig(name) {
		return kmsg.ConfigTypeLong
	}
	return kmsg.ConfigTypeString
}
