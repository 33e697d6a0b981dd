package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/millstream/millstream/broker/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// IncrementalAlterConfigs: key 44.
//
// Version notes:
//   - v0: introduced in Kafka 2.3 (KIP-339).
//   - v1: flexible.
//
// Operations: SET and DELETE (back to the broker default) on any config;
// APPEND and SUBTRACT only on list configs (cleanup.policy).

func (s *Server) handleIncrementalAlterConfigs(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.IncrementalAlterConfigsRequest)
	resp := response[*kmsg.IncrementalAlterConfigsResponse](r)
	for _, rr := range req.Resources {
		res := kmsg.NewIncrementalAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		err := s.alterResource(rr.ResourceType, rr.ResourceName, func(set map[string]string) (map[string]string, error) {
			return incrementalEdit(set, rr.Configs, s.cfg.TopicDefaults.Map())
		}, req.ValidateOnly)
		if err != nil {
			res.ErrorCode, res.ErrorMessage = errCode(err).Code, errMessage(err)
		}
		resp.Resources = append(resp.Resources, res)
	}
	return respond(resp), nil
}

func incrementalEdit(set map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig, defaults map[string]string) (map[string]string, error) {
	out := maps.Clone(set)
	if out == nil {
		out = map[string]string{}
	}
	for _, op := range ops {
		if _, known := defaults[op.Name]; !known {
			return nil, &codedError{kerr.InvalidConfig, metadata.ValidateConfig(op.Name, "").Error()}
		}
		value := ""
		if op.Value != nil {
			value = *op.Value
		}
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if op.Value == nil {
				return nil, &codedError{kerr.InvalidConfig, fmt.Sprintf("config %q: SET with a null value", op.Name)}
			}
			out[op.Name] = value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(out, op.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if op.Name != metadata.CleanupPolicy {
				return nil, &codedError{kerr.InvalidConfig, fmt.Sprintf("config %q: %v applies to list configs only (cleanup.policy)", op.Name, op.Op)}
			}
			cur, ok := out[op.Name]
			if !ok {
				cur = defaults[op.Name]
			}
			list := splitList(cur)
			for _, v := range splitList(value) {
				i := slices.Index(list, v)
				switch {
				case op.Op == kmsg.IncrementalAlterConfigOpAppend && i < 0:
					list = append(list, v)
				case op.Op == kmsg.IncrementalAlterConfigOpSubtract && i >= 0:
					list = slices.Delete(list, i, i+1)
				}
			}
			out[op.Name] = strings.Join(list, ",")
		default:
			return nil, &codedError{kerr.InvalidRequest, fmt.Sprintf("config %q: unknown operation %d", op.Name, op.Op)}
		}
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
