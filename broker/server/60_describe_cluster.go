package server

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeCluster: key 60.
//
// Version notes:
//   - v0: introduced in Kafka 2.8 (KIP-700), flexible from the start.
//   - v1: EndpointType (Kafka 3.7; not advertised).
//   - v2: IncludeFencedBrokers (not advertised).

func (s *Server) handleDescribeCluster(_ context.Context, r *Request) (Reply, error) {
	resp := response[*kmsg.DescribeClusterResponse](r)
	host, port := s.advertisedHostPort()
	resp.ClusterID = s.reg.ClusterID()
	resp.ControllerID = nodeID
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{{NodeID: nodeID, Host: host, Port: port}}
	return respond(resp), nil
}
