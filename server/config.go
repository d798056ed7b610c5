package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pgkeep/pgkeep/security"
)

const (
	// DefaultMaxConnections is the default limit on concurrent sessions,
	// the same as PostgreSQL's max_connections.
	DefaultMaxConnections = 100
	// DefaultAuthenticationTimeout is the default time a client has from
	// connecting to finishing authentication, the same as PostgreSQL's
	// authentication_timeout.
	DefaultAuthenticationTimeout = time.Minute
	// defaultPort names the socket file when ListenAddr gives no port.
	defaultPort = 5432
)

// Config contains the settings of the server.
type Config struct {
	// ListenAddr is the TCP address to listen on, such as "127.0.0.1:5432".
	// Empty disables TCP.
	ListenAddr string
	// SocketDir is the directory of the unix socket file
	// ".s.PGSQL.<port>", the name libpq expects. The port is the one TCP
	// listens on, or 5432 when TCP is disabled. Empty disables the socket.
	SocketDir string
	// MaxMessageSize is the maximum body length of a client message after
	// authentication, in bytes. Zero selects protocol.DefaultMaxMessageSize.
	MaxMessageSize int
	// MaxConnections is the maximum number of concurrent sessions. A client
	// beyond it gets FATAL 53300. Zero selects DefaultMaxConnections.
	MaxConnections int
	// AuthenticationTimeout bounds the startup and authentication phase of a
	// connection. Zero selects DefaultAuthenticationTimeout.
	AuthenticationTimeout time.Duration
	// TLS, when set, makes the server reply 'S' to an SSLRequest on TCP and
	// run a TLS handshake with this configuration. When nil, the server
	// replies 'N'. The server uses TLS 1.2 or newer whatever MinVersion says,
	// and disables session resumption. GetConfigForClient is not supported.
	TLS *tls.Config
	// RequireTLSRemote rejects connections from remote addresses that do
	// not use TLS with FATAL 28000. It requires TLS. Unix socket and
	// loopback connections are exempt.
	RequireTLSRemote bool
	// TestingKnobs contains hooks for tests. Production leaves it empty.
	TestingKnobs TestingKnobs
}

// TestingKnobs contains hooks that let tests change server behaviour.
type TestingKnobs struct {
	// OverrideSource, when set and returning true, replaces the source that
	// the server derives from a TCP connection's remote address, so a test
	// can pretend that a loopback connection is remote.
	OverrideSource func(remote net.Addr) (security.Source, bool)
}

// withDefaults validates cfg and fills in the defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.ListenAddr == "" && cfg.SocketDir == "" {
		return cfg, fmt.Errorf("invalid server config: neither a listen address nor a socket directory is set")
	}
	if cfg.ListenAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.ListenAddr); err != nil {
			return cfg, fmt.Errorf("invalid listen address %q: %w", cfg.ListenAddr, err)
		}
	}
	if cfg.MaxConnections < 0 {
		return cfg, fmt.Errorf("invalid max connections %d: must be positive, or 0 for the default %d",
			cfg.MaxConnections, DefaultMaxConnections)
	}
	if cfg.AuthenticationTimeout < 0 {
		return cfg, fmt.Errorf("invalid authentication timeout %s: must be positive, or 0 for the default %s",
			cfg.AuthenticationTimeout, DefaultAuthenticationTimeout)
	}

	if cfg.RequireTLSRemote && cfg.TLS == nil {
		return cfg, errors.New("invalid server config: RequireTLSRemote is set but TLS is not configured")
	}
	if cfg.TLS != nil {
		prepared, err := prepareTLSConfig(cfg.TLS)
		if err != nil {
			return cfg, err
		}
		cfg.TLS = prepared
	}

	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.AuthenticationTimeout == 0 {
		cfg.AuthenticationTimeout = DefaultAuthenticationTimeout
	}
	return cfg, nil
}
