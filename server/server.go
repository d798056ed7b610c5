package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
)

// Server accepts PostgreSQL client connections on TCP and a unix socket and
// runs one goroutine per connection.
type Server struct {
	cfg        Config
	backend    Backend
	logger     *slog.Logger
	cancelKeys *cancelRegistry

	// ctx is canceled by Shutdown. Every connection derives its context
	// from it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts the accept loops and connection goroutines.
	wg sync.WaitGroup

	mu struct {
		sync.Mutex
		started      bool
		shuttingDown bool
		listeners    []net.Listener
		tcpAddr      net.Addr
		socketPath   string
		// conns contains every open connection, so Shutdown can close them.
		conns map[net.Conn]struct{}
		// sessions counts connections that passed the startup packet, the
		// ones MaxConnections limits.
		sessions int
	}
}

// New creates a server. It validates cfg; Start begins listening.
func New(cfg Config, backend Backend, logger *slog.Logger) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if backend == nil {
		return nil, errors.New("server backend is nil")
	}
	if logger == nil {
		return nil, errors.New("server logger is nil")
	}

	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:        cfg,
		backend:    backend,
		logger:     logger,
		cancelKeys: newCancelRegistry(),
		ctx:        ctx,
		cancel:     cancel,
	}
	s.mu.conns = make(map[net.Conn]struct{})
	return s, nil
}

// Start opens the configured listeners and returns once they accept
// connections. It fails if a listener cannot be opened, and then leaves
// none open.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.started {
		return errors.New("server already started")
	}
	if s.mu.shuttingDown {
		return errors.New("server is shut down")
	}

	port := defaultPort
	var listeners []net.Listener
	var unixListener net.Listener
	if s.cfg.ListenAddr != "" {
		ln, err := listenTCP(s.cfg.ListenAddr)
		if err != nil {
			return err
		}
		listeners = append(listeners, ln)
		s.mu.tcpAddr = ln.Addr()
		port = ln.Addr().(*net.TCPAddr).Port
	}
	if s.cfg.SocketDir != "" {
		ln, path, err := listenUnix(s.cfg.SocketDir, port)
		if err != nil {
			closeListeners(listeners)
			return err
		}
		unixListener = ln
		listeners = append(listeners, ln)
		s.mu.socketPath = path
	}

	s.mu.started = true
	s.mu.listeners = listeners
	for _, ln := range listeners {
		unix := ln == unixListener
		s.logger.Info("listening", slog.String("address", ln.Addr().String()))
		s.wg.Add(1)
		go s.acceptLoop(ln, unix)
	}
	return nil
}

// Addr returns the address of the TCP listener, or nil when TCP is
// disabled or the server has not started.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.tcpAddr
}

// SocketPath returns the path of the unix socket file, or "" when the
// socket is disabled or the server has not started.
func (s *Server) SocketPath() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.socketPath
}

// Shutdown stops accepting connections, cancels the running statements,
// ends every session with FATAL 57P01 and waits for the connection
// goroutines. When ctx ends first, it closes the remaining connections,
// waits for their goroutines and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.mu.shuttingDown = true
	listeners := s.mu.listeners
	s.mu.listeners = nil
	s.mu.Unlock()

	closeListeners(listeners)
	s.cancel()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()

	select {
	case <-done:
		s.logger.Info("server stopped")
		return nil
	case <-ctx.Done():
	}

	s.mu.Lock()
	for conn := range s.mu.conns {
		_ = conn.Close()
	}
	s.mu.Unlock()
	<-done
	s.logger.Warn("server stopped after closing connections that did not end in time")
	return ctx.Err()
}

// trackConn registers an accepted connection. It returns false when the
// server is shutting down, and the caller must close conn.
func (s *Server) trackConn(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.shuttingDown {
		return false
	}
	s.mu.conns[conn] = struct{}{}
	return true
}

func (s *Server) untrackConn(conn net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mu.conns, conn)
}

// acquireSession counts a new session against MaxConnections. It returns
// false when the limit is reached.
func (s *Server) acquireSession() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.sessions >= s.cfg.MaxConnections {
		return false
	}
	s.mu.sessions++
	return true
}

func (s *Server) releaseSession() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.sessions--
}
