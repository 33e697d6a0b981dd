package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/millstream/millstream/broker/auth"
	"github.com/millstream/millstream/broker/metadata"
	"github.com/millstream/millstream/broker/storage"
)

// Server is a single-node broker: the Kafka protocol listener, the topic
// registry and the partition logs. Create it with [New], then [Server.Start]
// it; [Server.Close] stops it. Its methods are safe for concurrent use.
type Server struct {
	cfg  Config
	log  *slog.Logger
	apis map[int16]api
	// auth checks SASL logins; nil when SASL is off (17_sasl_handshake.go).
	auth *auth.Authenticator

	reg *metadata.Registry
	// bufs is the write-behind buffer free list every partition log
	// shares, so memory kept for reuse does not grow with partitions.
	bufs *storage.Buffers
	// coord is the group coordinator and the producer state
	// (10_find_coordinator.go).
	coord coordinators
	// sessions are the fetch sessions (fetch_sessions.go).
	sessions fetchSessions

	// adminMu serialises changes to topics (create, delete, grow, alter),
	// which may take long (opening many partitions); readers of topics do
	// not wait for it. Lock order: adminMu, then topicsMu, then the
	// registry's own lock (the registry never calls back).
	adminMu sync.Mutex
	// topicsMu guards topics, the map only; it is held briefly.
	topicsMu sync.RWMutex
	topics   map[string]*topicState

	ln        net.Listener
	advertise string // host:port in Metadata responses
	httpSrv   *http.Server
	httpLn    net.Listener

	// stopping is closed when Close begins: long-polls return early and
	// connections stop reading new requests.
	stopping chan struct{}
	// ctx is cancelled when Close gives up waiting (ShutdownTimeout) or
	// finishes: every connection and deferred reply ends.
	ctx    context.Context
	cancel context.CancelFunc

	// connsMu guards conns.
	connsMu sync.Mutex
	conns   map[*conn]struct{}
	// waiting counts deferred replies in progress (long-polls, fsyncs).
	waiting atomic.Int64

	// loops counts the background goroutines (accept, retention, fsync
	// interval, HTTP); conns counts connection goroutines.
	loops     sync.WaitGroup
	connsWG   sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	started   bool
}

// api is one entry of the dispatch table.
type api struct {
	min, max int16
	handle   handler
}

// New checks cfg and returns a server that is not started yet. log may be
// nil (nothing is logged).
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server: invalid config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		bufs:     storage.NewBuffers(4),
		cfg:      cfg,
		log:      log,
		topics:   map[string]*topicState{},
		stopping: make(chan struct{}),
		conns:    map[*conn]struct{}{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if len(cfg.SASLMechanisms) > 0 {
		a, err := auth.New(cfg.SASLMechanisms, cfg.SASLUsers)
		if err != nil {
			return nil, fmt.Errorf("server: sasl: %w", err)
		}
		s.auth = a
	}
	s.apis = s.apiTable()
	return s, nil
}

// Start opens the data directory (replaying the metadata log and opening
// every partition log), binds the listeners and starts serving. It returns
// once the listeners are bound, so a port in use fails Start. Call it once.
func (s *Server) Start(ctx context.Context) (err error) {
	if s.started {
		return errors.New("server: Start called twice")
	}
	s.started = true
	defer func() {
		if err != nil {
			s.cancel()
			s.closeStorage()
		}
	}()
	if err := s.openStorage(ctx); err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.KafkaAddr)
	if err != nil {
		return fmt.Errorf("server: listen on kafka-addr %s: %w", s.cfg.KafkaAddr, err)
	}
	s.ln = ln
	s.advertise = s.cfg.AdvertiseKafkaAddr
	if s.advertise == "" {
		s.advertise = ln.Addr().String()
	}
	if s.cfg.HTTPAddr != "" {
		hl, err := lc.Listen(ctx, "tcp", s.cfg.HTTPAddr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("server: listen on http-addr %s: %w", s.cfg.HTTPAddr, err)
		}
		s.httpLn = hl
		s.httpSrv = &http.Server{Handler: s.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
		s.loops.Add(1)
		go func() {
			defer s.loops.Done()
			if err := s.httpSrv.Serve(hl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("http server stopped", "err", err)
			}
		}()
	}
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		s.acceptLoop()
	}()
	s.startBackground()
	s.log.Info("broker started", "kafka_addr", ln.Addr().String(), "advertised", s.advertise,
		"data_dir", s.cfg.DataDir, "fsync", s.cfg.Fsync.String(), "cluster_id", s.reg.ClusterID(), "sasl", s.cfg.SASLMechanisms)
	return nil
}

// Addr returns the address the Kafka listener is bound to (useful with
// port 0), or "" before Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// HTTPAddr returns the address the HTTP listener is bound to, or "".
func (s *Server) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// Stats are point-in-time counters of a running server.
type Stats struct {
	Connections int   // open client connections
	Waiting     int64 // requests parked on a long-poll or an fsync
	// ProducerStates is how many partitions have idempotent-producer
	// state (loaded, or kept as a snapshot).
	ProducerStates int
	// FetchSessions is how many fetch sessions (KIP-227) are open.
	FetchSessions int
}

// Stats returns the server's current counters.
func (s *Server) Stats() Stats {
	s.connsMu.Lock()
	n := len(s.conns)
	s.connsMu.Unlock()
	st := Stats{Connections: n, Waiting: s.waiting.Load(), FetchSessions: s.sessions.count()}
	if s.coord.producers != nil {
		st.ProducerStates = s.coord.producers.Partitions()
	}
	return st
}

// Registry returns the topic registry.
func (s *Server) Registry() *metadata.Registry { return s.reg }

// Run starts the server, serves until ctx is done, then closes it.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}

// Close shuts down cleanly: it stops accepting connections and reading
// requests, lets in-flight requests finish (up to ShutdownTimeout, after
// which connections are dropped), stops the background loops, then
// flushes and closes every log. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.shutdown() })
	return s.closeErr
}

func (s *Server) shutdown() error {
	if !s.started || s.ln == nil {
		s.cancel()
		return nil
	}
	close(s.stopping)
	_ = s.ln.Close()
	s.connsMu.Lock()
	for c := range s.conns {
		// Unblock the reader; requests already read are still answered.
		_ = c.nc.SetReadDeadline(time.Now())
	}
	s.connsMu.Unlock()
	finished := make(chan struct{})
	go func() {
		s.connsWG.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(s.cfg.ShutdownTimeout):
		s.log.Warn("shutdown timeout: dropping connections with requests in flight", "timeout", s.cfg.ShutdownTimeout)
	}
	s.cancel()
	s.connsMu.Lock()
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.connsMu.Unlock()
	s.connsWG.Wait()
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.httpSrv.Shutdown(ctx)
		cancel()
	}
	s.loops.Wait()
	err := s.closeStorage()
	if err != nil {
		s.log.Error("broker stopped with errors", "err", err)
	} else {
		s.log.Info("broker stopped cleanly")
	}
	return err
}

func (s *Server) acceptLoop() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.stopping:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Error("accept", "err", err)
			select {
			case <-time.After(50 * time.Millisecond):
			case <-s.stopping:
				return
			}
			continue
		}
		ctx, cancel := context.WithCancel(s.ctx)
		c := &conn{s: s, nc: nc, ctx: ctx, cancel: cancel, log: s.log.With("remote", nc.RemoteAddr().String())}
		s.connsMu.Lock()
		select {
		case <-s.stopping:
			s.connsMu.Unlock()
			cancel()
			_ = nc.Close()
			return
		default:
		}
		s.conns[c] = struct{}{}
		s.connsWG.Add(1)
		s.connsMu.Unlock()
		go func() {
			defer s.connsWG.Done()
			c.serve()
			s.connsMu.Lock()
			delete(s.conns, c)
			s.connsMu.Unlock()
		}()
	}
}

// advertisedHostPort splits the advertised address for Metadata.
func (s *Server) advertisedHostPort() (string, int32) {
	host, port, err := net.SplitHostPort(s.advertise)
	if err != nil {
		return s.advertise, 0
	}
	p, _ := strconv.Atoi(port)
	return host, int32(p)
}

func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
