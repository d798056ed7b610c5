package server

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// socketFileMode lets every local user connect, as PostgreSQL's default
// unix_socket_permissions does. Authentication still applies.
const socketFileMode = 0o777

// Accept retry delays after a failure such as running out of file
// descriptors.
const (
	minAcceptDelay = 5 * time.Millisecond
	maxAcceptDelay = time.Second
)

func listenTCP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return ln, nil
}

// listenUnix listens on <dir>/.s.PGSQL.<port>. It first removes a socket
// file left behind by a server that is no longer running. A socket that
// accepts connections belongs to a running server, so it is an error.
func listenUnix(dir string, port int) (net.Listener, string, error) {
	path := filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))
	if err := removeStaleSocket(path); err != nil {
		return nil, "", err
	}

	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, "", fmt.Errorf("listening on unix socket %s: %w", path, err)
	}
	if err := os.Chmod(path, socketFileMode); err != nil {
		_ = ln.Close()
		return nil, "", fmt.Errorf("setting the mode of unix socket %s: %w", path, err)
	}
	return ln, path, nil
}

func removeStaleSocket(path string) error {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking unix socket %s: %w", path, err)
	}
	if info.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("unix socket path %s exists and is not a socket; remove it or choose another socket directory", path)
	}

	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		_ = conn.Close()
		return fmt.Errorf("unix socket %s is in use by another server; stop it or choose another socket directory", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("checking unix socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("removing stale unix socket %s: %w", path, err)
	}
	return nil
}

func closeListeners(listeners []net.Listener) {
	for _, ln := range listeners {
		_ = ln.Close()
	}
}

// acceptLoop accepts connections on ln until the listener is closed.
func (s *Server) acceptLoop(ln net.Listener, unix bool) {
	defer s.wg.Done()
	delay := time.Duration(0)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, minAcceptDelay), maxAcceptDelay)
			s.logger.Error("accepting a connection failed; retrying",
				slog.String("address", ln.Addr().String()), slog.Any("error", err), slog.Duration("retry_in", delay))
			time.Sleep(delay)
			continue
		}
		delay = 0

		if !s.trackConn(conn) {
			_ = conn.Close()
			continue
		}
		s.wg.Add(1)
		go s.serveConn(conn, unix)
	}
}
