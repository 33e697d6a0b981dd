package server

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AlterConfigs: key 33.
//
// Version notes:
//   - v1: throttle applied after the response.
//   - v2: flexible.
//
// AlterConfigs replaces the whole set of configs of a topic: a config not
// in the request returns to the broker default. Broker settings are static
// (flags and config file): altering them is refused.

func (s *Server) handleAlterConfigs(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.AlterConfigsRequest)
	resp := response[*kmsg.AlterConfigsResponse](r)
	for _, rr := range req.Resources {
		res := kmsg.NewAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		err := s.alterResource(rr.ResourceType, rr.ResourceName, func(map[string]string) (map[string]string, error) {
			out := make(map[string]string, len(rr.Configs))
			for _, c := range rr.Configs {
				if c.Value == nil {
					return nil, &codedError{kerr.InvalidConfig, fmt.Sprintf("config %q: null value", c.Name)}
				}
				out[c.Name] = *c.Value
			}
			return out, nil
		}, req.ValidateOnly)
		if err != nil {
			res.ErrorCode, res.ErrorMessage = errCode(err).Code, errMessage(err)
		}
		resp.Resources = append(resp.Resources, res)
	}
	return respond(resp), nil
}

// alterResource applies edit to the configs set on a topic resource. Any
// other resource is refused with a message saying why.
func (s *Server) alterResource(typ kmsg.ConfigResourceType, name string, edit func(set map[string]string) (map[string]string, error), validateOnly bool) error {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
	case kmsg.ConfigResourceTypeBroker:
		if err := checkBrokerResource(name); err != nil {
			return &codedError{kerr.InvalidRequest, err.Error()}
		}
		return &codedError{kerr.InvalidRequest, "broker settings are static: set them with millstream broker flags or its --config file and restart"}
	default:
		return &codedError{kerr.InvalidRequest, fmt.Sprintf("resource type %v is not supported; use TOPIC", typ)}
	}
	t := s.topic(name)
	if t == nil {
		return &codedError{kerr.UnknownTopicOrPartition, fmt.Sprintf("unknown topic %q", name)}
	}
	next, err := edit(t.meta.Configs)
	if err != nil {
		return err
	}
	return s.setTopicConfigs(name, next, validateOnly)
}
