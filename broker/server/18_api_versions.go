package server

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions: key 18.
//
// Version notes:
//   - v1: ThrottleMillis in the response.
//   - v2: no change.
//   - v3: flexible; the request carries ClientSoftwareName and
//     ClientSoftwareVersion; the response may carry tagged features.
//     Unlike every other flexible response, its header is still v0: no tag
//     byte, so a client can read it before it knows the broker's versions.
//
// A request of a version above our maximum is answered by serveFrame in
// the v0 shape with UNSUPPORTED_VERSION and the full key list; the client
// retries with a version from that list.

func (s *Server) handleApiVersions(_ context.Context, r *Request) (Reply, error) {
	resp := response[*kmsg.ApiVersionsResponse](r)
	resp.ApiKeys = s.advertisedKeys()
	return respond(resp), nil
}

// apiVersionsUnsupported is the reply to an ApiVersions request of a
// version we do not know.
func (s *Server) apiVersionsUnsupported() *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = s.advertisedKeys()
	return resp
}

func (s *Server) advertisedKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(s.apis))
	for k, a := range s.apis {
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: a.min, MaxVersion: a.max})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
	return keys
}
