package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
	"github.com/pgkeep/pgkeep/security"
)

// serveConn runs one connection from accept to close: startup packet,
// authentication, session, message loop. A panic ends only this connection.
func (s *Server) serveConn(netConn net.Conn, unix bool) {
	defer s.wg.Done()
	defer s.untrackConn(netConn)
	defer netConn.Close()

	remoteAddr := remoteAddrString(netConn, unix)
	source := s.connectionSource(netConn, unix)
	logger := s.logger.With(slog.String("remote_addr", remoteAddr), slog.String("source", source.String()))
	defer func() {
		if r := recover(); r != nil {
			logger.Error("panic in connection goroutine; closing the connection",
				slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
		}
	}()

	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()

	// The startup phase must finish within AuthenticationTimeout, so idle
	// or half-open connections do not pile up. Shutdown ends it at once.
	_ = netConn.SetDeadline(time.Now().Add(s.cfg.AuthenticationTimeout))
	stopWake := context.AfterFunc(ctx, func() { _ = netConn.SetDeadline(time.Now()) })
	defer stopWake()

	// PostgreSQL also replies 'N' to an SSLRequest on a unix socket.
	var tlsInfo *tlsState
	var startTLS func(net.Conn) (net.Conn, error)
	if s.cfg.TLS != nil && !unix {
		startTLS = func(raw net.Conn) (net.Conn, error) {
			tlsConn, state, err := s.startTLS(ctx, raw)
			if err != nil {
				return nil, err
			}
			tlsInfo = &state
			return tlsConn, nil
		}
	}
	conn, startup, cancelReq, err := readStartup(netConn, startTLS)
	if tlsInfo != nil {
		// Closing the TLS connection sends close_notify before the deferred
		// close of the socket.
		defer conn.Close()
		logger = logger.With(slog.String("tls_version", tls.VersionName(tlsInfo.version)),
			slog.String("tls_cipher", tls.CipherSuiteName(tlsInfo.cipherSuite)))
	}
	if err != nil {
		s.rejectStartup(logger, conn, err)
		return
	}
	if cancelReq != nil {
		s.handleCancelRequest(logger, cancelReq)
		return
	}

	if s.cfg.RequireTLSRemote && tlsInfo == nil && source == security.SourceRemote {
		logger.Warn("connection rejected: TLS is required for remote addresses",
			slog.String("user", startup.params["user"]), slog.String("database", startup.params["database"]))
		sendFatal(conn, pgerror.Newf(pgcode.InvalidAuthorizationSpecification,
			`TLS is required for connections from host "%s"`, hostOf(remoteAddr)))
		return
	}

	if !s.acquireSession() {
		logger.Warn("connection rejected: too many clients",
			slog.Int("max_connections", s.cfg.MaxConnections))
		sendFatal(conn, pgerror.New(pgcode.TooManyConnections, "sorry, too many clients already"))
		return
	}
	defer s.releaseSession()

	pid, secret := s.cancelKeys.reserve()
	defer s.cancelKeys.release(pid)
	logger = logger.With(slog.Uint64("pid", uint64(pid)))
	start := time.Now()
	logger.Info("connection received",
		slog.String("user", startup.params["user"]), slog.String("database", startup.params["database"]))
	defer func() {
		logger.Info("connection ended", slog.Duration("duration", time.Since(start)))
	}()

	c := &sessionConn{
		server:     s,
		netConn:    conn,
		tls:        tlsInfo,
		logger:     logger,
		startup:    startup,
		source:     source,
		remoteAddr: remoteAddr,
		pid:        pid,
		secret:     secret,
		stopWake:   stopWake,
	}
	c.run(ctx)
}

// rejectStartup ends a connection whose startup packets were invalid.
func (s *Server) rejectStartup(logger *slog.Logger, netConn net.Conn, err error) {
	var startupErr *startupError
	switch {
	case errors.Is(err, errTLSHandshake):
		// The client expects TLS records, so it gets no ErrorResponse.
		logger.Info("TLS handshake failed", slog.Any("error", err))
	case errors.As(err, &startupErr):
		logger.Info("startup packet rejected", slog.String("error", startupErr.err.Message))
		sendFatal(netConn, startupErr.err)
	case errors.Is(err, errInvalidStartupLength):
		// PostgreSQL closes without a reply here, because the client may not
		// speak the protocol at all.
		logger.Info("startup packet rejected", slog.String("error", err.Error()))
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		logger.Debug("connection closed before the startup packet was complete")
	case errors.Is(err, os.ErrDeadlineExceeded):
		logger.Info("startup packet not received in time", slog.Duration("timeout", s.cfg.AuthenticationTimeout))
	default:
		logger.Info("reading the startup packet failed", slog.Any("error", err))
	}
}

// handleCancelRequest cancels the statement of the connection the request
// names. As in PostgreSQL, the requesting connection gets no reply, so a
// client cannot learn whether a PID and key matched.
func (s *Server) handleCancelRequest(logger *slog.Logger, req *cancelRequest) {
	if s.cancelKeys.cancel(req.pid, req.secret) {
		logger.Info("cancel request accepted", slog.Uint64("target_pid", uint64(req.pid)))
		return
	}
	logger.Debug("cancel request matched no connection", slog.Uint64("target_pid", uint64(req.pid)))
}

// sendFatal writes err as a FATAL ErrorResponse straight to the socket, for
// the phases before a pgproto3.Backend exists.
func sendFatal(netConn net.Conn, err *pgerror.Error) {
	resp := protocol.ErrorResponse(err.WithSeverity(pgerror.SeverityFatal))
	buf, encodeErr := resp.Encode(nil)
	if encodeErr != nil {
		return
	}
	_, _ = netConn.Write(buf)
}

// sessionConn is a connection that sent a valid StartupMessage.
type sessionConn struct {
	server *Server
	// netConn is the connection after the startup packets, a *tls.Conn when
	// the client negotiated TLS.
	netConn net.Conn
	// tls describes the TLS session, nil without TLS.
	tls        *tlsState
	logger     *slog.Logger
	startup    *startupMessage
	source     security.Source
	remoteAddr string
	pid        uint32
	secret     [secretKeyLen]byte
	// stopWake stops the startup-phase shutdown hook, which would set a
	// deadline on the socket.
	stopWake func() bool
}

func (c *sessionConn) run(ctx context.Context) {
	s := c.server
	backend := pgproto3.NewBackend(c.netConn, c.netConn)
	if c.startup.needsNegotiation() {
		backend.Send(c.startup.negotiateProtocolVersion())
	}

	if !c.authenticate(ctx, backend) {
		return
	}

	sess, ok := c.newSession(ctx, backend)
	if !ok {
		return
	}

	conn := protocol.NewConn(c.netConn, backend, sess, protocol.Config{MaxMessageSize: s.cfg.MaxMessageSize}, c.logger)
	s.cancelKeys.activate(c.pid, conn)
	if err := backend.Flush(); err != nil {
		c.logger.Info("sending the session parameters failed", slog.Any("error", err))
		sess.Close()
		return
	}

	// The startup phase is over: Serve watches ctx itself and reads without
	// a deadline.
	c.stopWake()
	_ = c.netConn.SetDeadline(time.Time{})
	if err := conn.Serve(ctx); err != nil {
		c.logger.Warn("connection closed after an error", slog.Any("error", err))
	}
}

// authenticate runs the authentication conversation and logs its outcome.
// On success it queues AuthenticationOk; on failure it sends the error and
// returns false.
func (c *sessionConn) authenticate(ctx context.Context, backend *pgproto3.Backend) bool {
	s := c.server
	params := make(map[string]string, len(c.startup.params))
	for k, v := range c.startup.params {
		if k != "user" && k != "database" {
			params[k] = v
		}
	}
	ci := security.ConnInfo{
		User:       c.startup.params["user"],
		Database:   c.startup.params["database"],
		Source:     c.source,
		RemoteAddr: c.remoteAddr,
		Params:     params,
	}
	if c.tls != nil {
		ci.TLS = true
		ci.ChannelBinding = c.tls.channelBinding
	}
	authCtx, cancel := context.WithTimeout(ctx, s.cfg.AuthenticationTimeout)
	defer cancel()
	ex := newWireExchange(backend)
	result, err := s.backend.Authenticate(authCtx, ci, ex)

	attrs := []any{
		slog.String("user", ci.User),
		slog.String("database", ci.Database),
		slog.String("method", result.Method),
	}
	if result.Reason != "" {
		attrs = append(attrs, slog.String("reason", result.Reason))
	}
	switch {
	case err == nil:
		c.logger.Info("authentication succeeded", attrs...)
		backend.Send(&pgproto3.AuthenticationOk{})
		// Later 'p' messages are invalid; decode them as PasswordMessage so
		// the protocol layer can reject them.
		_ = backend.SetAuthType(pgproto3.AuthTypeOk)
		return true
	case ctx.Err() != nil:
		c.logger.Info("authentication interrupted by server shutdown", attrs...)
	case ex.clientGone || errors.Is(err, errClientGone):
		c.logger.Debug("client closed the connection during authentication", attrs...)
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		c.logger.Warn("authentication timed out",
			append(attrs, slog.Duration("timeout", s.cfg.AuthenticationTimeout))...)
	default:
		c.logger.Warn("authentication failed", append(attrs, slog.String("error", err.Error()))...)
		c.sendFatal(backend, err)
	}
	return false
}

// newSession creates the session and queues the ParameterStatus messages
// and BackendKeyData. On failure it sends the error, after the queued
// AuthenticationOk as PostgreSQL does for a missing database.
func (c *sessionConn) newSession(ctx context.Context, backend *pgproto3.Backend) (protocol.Session, bool) {
	info := SessionInfo{
		User:       c.startup.params["user"],
		Database:   c.startup.params["database"],
		Params:     c.startup.sessionParams(),
		Source:     c.source,
		RemoteAddr: c.remoteAddr,
		PID:        c.pid,
	}
	sess, statuses, err := c.server.backend.NewSession(ctx, info)
	if err != nil {
		c.logger.Warn("session setup failed", slog.String("user", info.User),
			slog.String("database", info.Database), slog.String("error", err.Error()))
		c.sendFatal(backend, err)
		return nil, false
	}

	for _, ps := range statuses {
		backend.Send(&pgproto3.ParameterStatus{Name: ps.Name, Value: ps.Value})
	}
	backend.Send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret[:]})
	return sess, true
}

// sendFatal sends err with severity FATAL after the queued messages.
func (c *sessionConn) sendFatal(backend *pgproto3.Backend, err error) {
	resp := protocol.ErrorResponse(err)
	resp.Severity = pgerror.SeverityFatal
	resp.SeverityUnlocalized = pgerror.SeverityFatal
	backend.Send(resp)
	_ = backend.Flush()
}
