package server

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeConfigs: key 32.
//
// Version notes:
//   - v1: IncludeSynonyms; Source per config replaces IsDefault.
//   - v2: throttle applied after the response.
//   - v3: IncludeDocumentation; ConfigType and Documentation per config.
//   - v4: flexible.
//
// Topic resources list every honoured topic config with its effective
// value and its source: the topic (DYNAMIC_TOPIC_CONFIG), a broker flag or
// config file (STATIC_BROKER_CONFIG), or Kafka's default (DEFAULT_CONFIG).
// The broker resource ("" or "0") lists the broker's settings, read-only.

func (s *Server) handleDescribeConfigs(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.DescribeConfigsRequest)
	resp := response[*kmsg.DescribeConfigsResponse](r)
	for _, rr := range req.Resources {
		res := kmsg.NewDescribeConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		var entries []configEntry
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			t := s.topic(rr.ResourceName)
			if t == nil {
				res.ErrorCode = kerr.UnknownTopicOrPartition.Code
				res.ErrorMessage = errMessage(fmt.Errorf("unknown topic %q", rr.ResourceName))
				break
			}
			entries = s.topicConfigEntries(t.meta.Configs)
		case kmsg.ConfigResourceTypeBroker:
			if err := checkBrokerResource(rr.ResourceName); err != nil {
				res.ErrorCode, res.ErrorMessage = kerr.InvalidRequest.Code, errMessage(err)
				break
			}
			entries = s.brokerConfigEntries()
		default:
			res.ErrorCode = kerr.InvalidRequest.Code
			res.ErrorMessage = errMessage(fmt.Errorf("resource type %v is not supported; use TOPIC or BROKER", rr.ResourceType))
		}
		for _, e := range entries {
			if rr.ConfigNames != nil && !slices.Contains(rr.ConfigNames, e.name) {
				continue
			}
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name, c.Value, c.ReadOnly = e.name, &e.value, e.readOnly
			c.Source = e.source
			c.IsDefault = e.source == kmsg.ConfigSourceDefaultConfig
			c.ConfigType = e.typ
			if req.IncludeDocumentation {
				c.Documentation = &e.doc
			}
			if req.IncludeSynonyms {
				for _, syn := range e.synonyms {
					sc := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
					sc.Name, sc.Value, sc.Source = syn.name, &syn.value, syn.source
					c.ConfigSynonyms = append(c.ConfigSynonyms, sc)
				}
			}
			res.Configs = append(res.Configs, c)
		}
		resp.Resources = append(resp.Resources, res)
	}
	return respond(resp), nil
}

// checkBrokerResource accepts the names a client uses for this broker: its
// id, or "" (the cluster-wide default).
func checkBrokerResource(name string) error {
	if name == "" || name == "0" {
		return nil
	}
	return fmt.Errorf("unknown broker %q: this cluster has one broker, id 0", name)
}
