package protocol

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// DefaultMaxMessageSize is the default limit on the body of one frontend
// message, in bytes. PostgreSQL allows up to 1 GB; 64 MiB keeps a single
// client from pinning that much memory per connection.
const DefaultMaxMessageSize = 64 << 20

// Config contains the settings of the protocol layer.
type Config struct {
	// MaxMessageSize is the maximum body length of a frontend message in
	// bytes. Zero or a negative value selects DefaultMaxMessageSize.
	MaxMessageSize int
}

// Conn runs the message loop of one client connection after the startup
// and authentication phase.
type Conn struct {
	netConn net.Conn
	backend *pgproto3.Backend
	sess    Session
	logger  *slog.Logger

	// typeMap encodes results and decodes parameters. A pgtype.Map memoizes
	// plans and is not safe for concurrent use, so each connection owns one.
	typeMap *pgtype.Map

	// wbuf collects outgoing messages until the next flush.
	wbuf []byte
	// flushes counts the writes of wbuf to the client, for OutputMark.
	flushes uint64
	// writeErr is the first write error. Once set, the connection is dead
	// and every later send returns it.
	writeErr error

	// stmts and portals are the prepared statements and portals of the
	// extended query protocol, by name ("" is the unnamed one).
	stmts   map[string]PreparedStatement
	portals map[string]*portal
	// ignoreTillSync is set after an error in extended query mode: messages
	// are discarded until the next Sync.
	ignoreTillSync bool

	sink resultSink
	// copyReceiveErr is the error of a Receive that failed while a COPY
	// FROM STDIN read from the connection. The connection then ends once
	// the statement returns, without sending its results.
	copyReceiveErr error

	mu struct {
		sync.Mutex
		// cancelStatement cancels the context of the running statement, or
		// is nil between statements.
		cancelStatement context.CancelFunc
	}
}

// NewConn creates the protocol state of one authenticated connection. The
// caller must have flushed everything it sent through backend, because
// Conn writes to netConn through its own buffer.
func NewConn(netConn net.Conn, backend *pgproto3.Backend, sess Session, cfg Config, logger *slog.Logger) *Conn {
	maxSize := cfg.MaxMessageSize
	if maxSize <= 0 {
		maxSize = DefaultMaxMessageSize
	}
	backend.SetMaxBodyLen(maxSize)

	c := &Conn{
		netConn: netConn,
		backend: backend,
		sess:    sess,
		logger:  logger,
		typeMap: newTypeMap(),
		wbuf:    make([]byte, 0, initialWriteBufferSize),
		stmts:   make(map[string]PreparedStatement),
		portals: make(map[string]*portal),
	}
	c.sink.conn = c
	return c
}

// Cancel cancels the statement running now, if any. It is safe to call from
// any goroutine. A cancel that arrives between statements has no effect, as
// in PostgreSQL.
func (c *Conn) Cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.cancelStatement != nil {
		c.mu.cancelStatement()
	}
}

// beginStatement returns the context of one statement, which Cancel can
// cancel, and the function that ends it.
func (c *Conn) beginStatement(ctx context.Context) (context.Context, func()) {
	stmtCtx, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	c.mu.cancelStatement = cancel
	c.mu.Unlock()
	return stmtCtx, func() {
		c.mu.Lock()
		c.mu.cancelStatement = nil
		c.mu.Unlock()
		cancel()
	}
}

// panicError is returned by Serve when handling a message panicked.
type panicError struct {
	value any
}

func (e *panicError) Error() string {
	return fmt.Sprintf("panic while handling a client message: %v", e.value)
}

// Serve sends the first ReadyForQuery and runs the message loop until the
// client terminates, the connection fails or ctx is done. It closes the
// session before returning, in every case. Serve returns nil when the
// client sent Terminate or closed the connection. It also returns nil when
// ctx ended the session, after sending FATAL 57P01. Otherwise it returns the
// error that closed the connection. The caller closes netConn.
func (c *Conn) Serve(ctx context.Context) (err error) {
	defer c.closeSession()
	defer func() {
		if r := recover(); r != nil {
			err = c.handlePanic(r)
		}
	}()

	// A blocked read does not watch ctx, so wake it with a deadline.
	stopWake := context.AfterFunc(ctx, func() {
		_ = c.netConn.SetReadDeadline(time.Now())
	})
	defer stopWake()

	c.appendReadyForQuery()
	if err := c.flush(); err != nil {
		return err
	}

	for {
		msg, err := c.backend.Receive()
		if err != nil {
			return c.handleReceiveError(ctx, err)
		}

		done, err := c.handleMessage(ctx, msg)
		if err != nil || done {
			return err
		}
	}
}

// handleMessage dispatches one frontend message. It returns done=true when
// the connection must end without an error, and an error when it must end
// because of one.
func (c *Conn) handleMessage(ctx context.Context, msg pgproto3.FrontendMessage) (done bool, err error) {
	// NB: like PostgreSQL, Terminate is honoured even while skipping to Sync.
	if c.ignoreTillSync {
		switch msg.(type) {
		case *pgproto3.Sync, *pgproto3.Terminate:
		default:
			return false, nil
		}
	}

	switch msg := msg.(type) {
	case *pgproto3.Query:
		err = c.handleQuery(ctx, msg.String)
	case *pgproto3.Parse:
		err = c.extendedStep(c.handleParse(ctx, msg))
	case *pgproto3.Bind:
		err = c.extendedStep(c.handleBind(ctx, msg))
	case *pgproto3.Describe:
		err = c.extendedStep(c.handleDescribe(msg))
	case *pgproto3.Execute:
		err = c.extendedStep(c.handleExecute(ctx, msg))
	case *pgproto3.Close:
		err = c.extendedStep(c.handleClose(msg))
	case *pgproto3.Sync:
		err = c.handleSync(ctx)
	case *pgproto3.Flush:
		err = c.flush()
	case *pgproto3.Terminate:
		return true, nil
	case *pgproto3.FunctionCall:
		err = c.handleFunctionCall()
	case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
		// PostgreSQL ignores COPY messages that arrive outside COPY, because a
		// client may still be sending them after the server ended a COPY
		// with an error.
	default:
		// Only the authentication replies (PasswordMessage, SASL and GSS
		// responses, all of type 'p') reach this case. PostgreSQL rejects them
		// after authentication as an invalid message type.
		err = c.fatal(pgerror.Newf(pgcode.ProtocolViolation, "invalid frontend message type %d", 'p'))
	}
	if c.copyReceiveErr != nil {
		return true, c.handleReceiveError(ctx, c.copyReceiveErr)
	}
	if err != nil {
		return false, err
	}
	return false, c.writeErr
}

// extendedStep sends the error of one extended query message, if any, and
// starts skipping messages until Sync. It returns only errors that end the
// connection.
func (c *Conn) extendedStep(err error) error {
	if err == nil {
		return c.writeErr
	}
	if c.writeErr != nil {
		return c.writeErr
	}
	c.ignoreTillSync = true
	if err := c.sendError(err); err != nil {
		return err
	}
	// Like PostgreSQL, send the error at once: a client that pipelines
	// and waits on Flush must not wait for a Sync it has not sent.
	return c.flush()
}

func (c *Conn) handleFunctionCall() error {
	// FunctionCall is a simple-protocol message: it ends with ReadyForQuery.
	err := pgerror.New(pgcode.FeatureNotSupported, "fastpath function calls are not supported")
	if err := c.sendError(err); err != nil {
		return err
	}
	c.appendReadyForQuery()
	return c.flush()
}

// handleReceiveError turns a failed Receive into the end of the connection.
// I/O errors end it without a reply. Protocol violations get a FATAL 08P01
// first.
func (c *Conn) handleReceiveError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		// The server is shutting down.
		shutdown := pgerror.New(pgcode.AdminShutdown, "terminating connection due to administrator command").
			WithSeverity(pgerror.SeverityFatal)
		_ = c.sendError(shutdown)
		return nil
	}
	if isClientGone(err) {
		return nil
	}
	if isIOError(err) {
		return err
	}
	return c.fatal(protocolViolation(err))
}

// protocolViolation converts a decoding error of pgproto3.Backend.Receive
// into the 08P01 error that PostgreSQL reports for the same violation.
func protocolViolation(err error) *pgerror.Error {
	var tooLong *pgproto3.ExceededMaxBodyLenErr
	if errors.As(err, &tooLong) {
		return pgerror.New(pgcode.ProtocolViolation, "invalid message length").
			WithDetailf("The message body has %d bytes, more than the maximum of %d.",
				tooLong.ActualBodyLen, tooLong.MaxExpectedBodyLen)
	}

	// NB: pgproto3 reports an unknown type only through this message text
	// ("unknown message type: %c" in v5.13.0), with the type byte as a rune.
	if rest, ok := strings.CutPrefix(err.Error(), "unknown message type: "); ok {
		typ, _ := utf8.DecodeRuneInString(rest)
		return pgerror.Newf(pgcode.ProtocolViolation, "invalid frontend message type %d", typ)
	}

	if strings.HasPrefix(err.Error(), "invalid message length") {
		return pgerror.New(pgcode.ProtocolViolation, "invalid message length").WithDetail(err.Error())
	}
	return pgerror.New(pgcode.ProtocolViolation, "invalid message format").WithDetail(err.Error())
}

// isClientGone reports whether err means that the client closed the
// connection.
func isClientGone(err error) bool {
	return errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET)
}

// isIOError reports whether err comes from the connection rather than from
// decoding a message.
func isIOError(err error) bool {
	var netErr net.Error
	var sysErr *os.SyscallError
	return errors.As(err, &netErr) || errors.As(err, &sysErr) || errors.Is(err, os.ErrDeadlineExceeded)
}

// fatal sends err with severity FATAL and returns it, so the caller ends
// the connection.
func (c *Conn) fatal(err *pgerror.Error) error {
	err.Severity = pgerror.SeverityFatal
	_ = c.sendError(err)
	return err
}

// handlePanic logs a recovered panic, sends FATAL XX000 to the client when
// the connection still works, and returns the error for Serve.
func (c *Conn) handlePanic(r any) error {
	c.logger.Error("panic while handling a client message",
		slog.Any("panic", r), slog.String("stack", string(debug.Stack())))

	if c.writeErr == nil {
		internal := pgerror.New(pgcode.InternalError, "internal error while handling the message").
			WithSeverity(pgerror.SeverityFatal)
		resp := ErrorResponse(internal)
		if buf, err := resp.Encode(c.wbuf); err == nil {
			c.wbuf = buf
		}
		_ = c.flush()
	}
	return &panicError{value: r}
}

// closeSession closes the session, containing a panic of its own so that a
// broken session cannot take the server down.
func (c *Conn) closeSession() {
	c.Cancel()
	defer func() {
		if r := recover(); r != nil {
			c.logger.Error("panic while closing the session",
				slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
		}
	}()
	c.closeAllPortals()
	c.sess.Close()
}
