package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"

	"github.com/millstream/millstream/broker/group"
	"github.com/millstream/millstream/broker/storage"
	"github.com/millstream/millstream/broker/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FindCoordinator: key 10.
//
// Version notes:
//   - v1: CoordinatorType (0 group, 1 transaction); ThrottleMillis and
//     ErrorMessage in the response.
//   - v2: throttle applied after the response.
//   - v3: flexible.
//   - v4: several keys per request (CoordinatorKeys); not advertised (the
//     Kafka 2.8 maximum is 3) but answered.
//
// This broker (node 0) coordinates every group. Transactions are not
// supported yet, so transaction coordinators are not available.

func (s *Server) handleFindCoordinator(_ context.Context, r *Request) (Reply, error) {
	req := r.Msg.(*kmsg.FindCoordinatorRequest)
	resp := response[*kmsg.FindCoordinatorResponse](r)
	host, port := s.advertisedHostPort()
	answer := func(key string) kmsg.FindCoordinatorResponseCoordinator {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key = key
		switch req.CoordinatorType {
		case 0:
			c.NodeID, c.Host, c.Port = nodeID, host, port
		case 1:
			c.NodeID, c.Port = -1, -1
			c.ErrorCode = kerr.CoordinatorNotAvailable.Code
			msg := "transactions are not supported by this broker yet"
			c.ErrorMessage = &msg
		default:
			c.NodeID, c.Port = -1, -1
			c.ErrorCode = kerr.InvalidRequest.Code
			msg := fmt.Sprintf("unknown coordinator type %d", req.CoordinatorType)
			c.ErrorMessage = &msg
		}
		return c
	}
	if req.Version >= 4 {
		for _, k := range req.CoordinatorKeys {
			resp.Coordinators = append(resp.Coordinators, answer(k))
		}
		return respond(resp), nil
	}
	c := answer(req.CoordinatorKey)
	resp.ErrorCode, resp.ErrorMessage, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.ErrorMessage, c.NodeID, c.Host, c.Port
	return respond(resp), nil
}

// coordinators is the group coordinator and the producer state, opened
// with the partitions (openStorage) and closed after them.
type coordinators struct {
	groups    *group.Service
	producers *txn.Producers
	// appendMu guards appendLocks; each lock orders Check, Append and
	// Update of one partition log across connections.
	appendMu    sync.Mutex
	appendLocks map[*storage.Log]*sync.Mutex
}

// offsetsDir is the internal log of committed offsets and group metadata.
const offsetsDir = "__consumer_offsets"

// openCoordinators opens the group coordinator and the producer state in
// the data directory.
func (s *Server) openCoordinators() error {
	gopts := group.Options{InitialRebalanceDelay: s.cfg.GroupInitialRebalanceDelay}
	gopts.PartitionExists = func(topic string, p int32) bool {
		t := s.topic(topic)
		return t != nil && p >= 0 && int(p) < len(t.parts)
	}
	groups, err := group.Open(group.ServiceConfig{
		Dir:    filepath.Join(s.cfg.DataDir, offsetsDir),
		Group:  gopts,
		Logger: s.log.With("component", "group"),
	})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	producers, err := txn.OpenProducers(txn.Config{DataDir: s.cfg.DataDir, Logger: s.log.With("component", "txn")})
	if err != nil {
		_ = groups.Close()
		return fmt.Errorf("server: %w", err)
	}
	s.coord = coordinators{groups: groups, producers: producers, appendLocks: map[*storage.Log]*sync.Mutex{}}
	return nil
}

// closeCoordinators closes what openCoordinators opened.
func (s *Server) closeCoordinators() error {
	var errs []error
	if s.coord.groups != nil {
		errs = append(errs, s.coord.groups.Close())
	}
	if s.coord.producers != nil {
		errs = append(errs, s.coord.producers.Close())
	}
	return errors.Join(errs...)
}

// clientOf is the member identity DescribeGroups reports: the client id and
// "/ip", as Kafka prints hosts.
func clientOf(r *Request) group.Client {
	host := ""
	if r.RemoteAddr != nil {
		host = r.RemoteAddr.String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = "/" + host
	}
	return group.Client{ID: r.ClientID, Host: host}
}
