package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// DefaultClientID is the client id sent to brokers when none is configured.
const DefaultClientID = "millstream"

// Connection says how a client reaches the cluster. It is shared by
// [PublisherConfig], [SubscriberConfig] and the binder's [Config].
type Connection struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string
	// ClientID is sent to the brokers with every request (it shows in
	// their logs and quotas). Default "millstream".
	ClientID string
	// TLS, when not nil, encrypts connections.
	TLS *TLSConfig
	// SASL, when not nil, authenticates connections.
	SASL *SASLConfig
	// Logger receives the client's warnings and errors. Default: discard.
	Logger *slog.Logger
}

// TLSConfig configures TLS from PEM files.
type TLSConfig struct {
	// CAFile is a PEM bundle of the certificate authorities that sign the
	// brokers' certificates. Default: the system roots.
	CAFile string
	// CertFile and KeyFile are the client certificate and its key, for
	// clusters that authenticate clients by certificate (mutual TLS). Both
	// or neither.
	CertFile string
	KeyFile  string
	// ServerName overrides the name checked in the brokers' certificates.
	// Default: the host of the broker address.
	ServerName string
	// InsecureSkipVerify disables certificate checks. For tests only.
	InsecureSkipVerify bool
}

// SASL mechanisms.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// SASLConfig configures SASL authentication.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string
	Username  string
	Password  string
}

// Validate reports what is wrong with the connection settings, each
// problem naming the setting and the fix.
func (c *Connection) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: empty: give at least one host:port, e.g. localhost:9092"))
	}
	for _, b := range c.Brokers {
		if strings.TrimSpace(b) == "" {
			errs = append(errs, errors.New("brokers: an empty address: remove it or give host:port"))
		}
	}
	if t := c.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, errors.New("tls: cert-file and key-file go together: set both or neither"))
	}
	if s := c.SASL; s != nil {
		switch strings.ToUpper(s.Mechanism) {
		case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		default:
			errs = append(errs, fmt.Errorf("sasl: mechanism %q: want %s, %s or %s", s.Mechanism, SASLPlain, SASLScramSHA256, SASLScramSHA512))
		}
		if s.Username == "" {
			errs = append(errs, errors.New("sasl: username is empty"))
		}
	}
	return errors.Join(errs...)
}

// kgoOpts turns the connection into franz-go client options.
func (c *Connection) kgoOpts() ([]kgo.Opt, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	id := c.ClientID
	if id == "" {
		id = DefaultClientID
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(id)}
	if c.Logger != nil {
		opts = append(opts, kgo.WithLogger(kgoLogger{c.Logger}))
	}
	if c.TLS != nil {
		cfg, err := c.TLS.Config()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if s := c.SASL; s != nil {
		switch strings.ToUpper(s.Mechanism) {
		case SASLPlain:
			opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()))
		case SASLScramSHA256:
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()))
		case SASLScramSHA512:
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()))
		}
	}
	return opts, nil
}

// Config builds the crypto/tls configuration, reading the files.
func (t *TLSConfig) Config() (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, documented as for tests
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: ca-file %s: no PEM certificate in it", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: cert-file %s and key-file %s: %w", t.CertFile, t.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// kgoLogger sends franz-go's log lines to slog.
type kgoLogger struct{ l *slog.Logger }

// Level keeps franz-go's chatty info lines (every connection, every join)
// for when the logger is at debug.
func (k kgoLogger) Level() kgo.LogLevel {
	switch ctx := context.Background(); {
	case k.l.Enabled(ctx, slog.LevelDebug):
		return kgo.LogLevelDebug
	case k.l.Enabled(ctx, slog.LevelWarn):
		return kgo.LogLevelWarn
	default:
		return kgo.LogLevelError
	}
}

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	l := slog.LevelDebug
	switch level {
	case kgo.LogLevelError:
		l = slog.LevelError
	case kgo.LogLevelWarn:
		l = slog.LevelWarn
	case kgo.LogLevelInfo:
		l = slog.LevelInfo
	}
	k.l.Log(context.Background(), l, "kafka client: "+msg, keyvals...)
}

func discardLogger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
