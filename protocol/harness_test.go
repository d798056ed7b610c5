package protocol

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// testTimeout bounds every wait in these tests so that a hang fails the
// test instead of stalling the run.
const testTimeout = 10 * time.Second

// lockedBuffer is a log destination that tests can read while a connection
// goroutine writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer accepts connections on a loopback port, performs a trust
// handshake and runs Conn.Serve with a fakeSession for each.
type testServer struct {
	t        *testing.T
	listener net.Listener
	cfg      Config
	logs     lockedBuffer
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	// served receives one record per connection once Serve has returned.
	served chan servedConn
	// started receives one record per connection before Serve runs.
	started chan servedConn
}

type servedConn struct {
	conn *Conn
	sess *fakeSession
	err  error
}

func startTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{
		t:        t,
		listener: ln,
		cfg:      cfg,
		ctx:      ctx,
		cancel:   cancel,
		served:   make(chan servedConn, 16),
		started:  make(chan servedConn, 16),
	}
	s.wg.Add(1)
	go s.acceptLoop()
	t.Cleanup(func() {
		cancel()
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) acceptLoop() {
	defer s.wg.Done()
	for {
		netConn, err := s.listener.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer netConn.Close()
			s.serveConn(netConn)
		}()
	}
}

func (s *testServer) serveConn(netConn net.Conn) {
	backend := pgproto3.NewBackend(netConn, netConn)
	if err := trustHandshake(netConn, backend); err != nil {
		return
	}

	sess := newFakeSession()
	logger := slog.New(slog.NewTextHandler(&s.logs, nil))
	c := NewConn(netConn, backend, sess, s.cfg, logger)
	s.started <- servedConn{conn: c, sess: sess}
	err := c.Serve(s.ctx)
	s.served <- servedConn{conn: c, sess: sess, err: err}
}

// trustHandshake replies 'N' to SSLRequest and accepts any StartupMessage.
func trustHandshake(netConn net.Conn, backend *pgproto3.Backend) error {
	for {
		msg, err := backend.ReceiveStartupMessage()
		if err != nil {
			return err
		}
		switch msg.(type) {
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			if _, err := netConn.Write([]byte{'N'}); err != nil {
				return err
			}
			continue
		case *pgproto3.StartupMessage:
		default:
			return fmt.Errorf("unexpected startup message %T", msg)
		}

		backend.Send(&pgproto3.AuthenticationOk{})
		backend.Send(&pgproto3.ParameterStatus{Name: "client_encoding", Value: "UTF8"})
		backend.Send(&pgproto3.ParameterStatus{Name: "standard_conforming_strings", Value: "on"})
		backend.Send(&pgproto3.ParameterStatus{Name: "server_version", Value: "15.0"})
		backend.Send(&pgproto3.BackendKeyData{ProcessID: 1, SecretKey: []byte{1, 2, 3, 4}})
		return backend.Flush()
	}
}

func (s *testServer) addr() string { return s.listener.Addr().String() }

// waitServed returns the record of the next connection whose Serve returned.
func (s *testServer) waitServed() servedConn {
	s.t.Helper()
	select {
	case sc := <-s.served:
		return sc
	case <-time.After(testTimeout):
		s.t.Fatal("timed out waiting for Serve to return")
		return servedConn{}
	}
}

func (s *testServer) waitStarted() servedConn {
	s.t.Helper()
	select {
	case sc := <-s.started:
		return sc
	case <-time.After(testTimeout):
		s.t.Fatal("timed out waiting for a connection")
		return servedConn{}
	}
}

// connectPgconn opens a pgconn connection to the test server.
func (s *testServer) connectPgconn(t *testing.T) *pgconn.PgConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	host, port, _ := net.SplitHostPort(s.addr())
	conn, err := pgconn.Connect(ctx, fmt.Sprintf("host=%s port=%s user=tester database=db sslmode=disable", host, port))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// rawClient is a byte-level client: a pgproto3.Frontend over a TCP
// connection that has completed startup.
type rawClient struct {
	t        *testing.T
	netConn  net.Conn
	frontend *pgproto3.Frontend
}

func (s *testServer) connectRaw(t *testing.T) *rawClient {
	t.Helper()
	netConn, err := net.DialTimeout("tcp", s.addr(), testTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = netConn.Close() })
	_ = netConn.SetDeadline(time.Now().Add(testTimeout))

	c := &rawClient{t: t, netConn: netConn, frontend: pgproto3.NewFrontend(netConn, netConn)}
	c.frontend.Send(&pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters:      map[string]string{"user": "tester"},
	})
	c.flush()
	for {
		msg := c.receive()
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			return c
		}
	}
}

func (c *rawClient) send(msgs ...pgproto3.FrontendMessage) {
	c.t.Helper()
	for _, msg := range msgs {
		c.frontend.Send(msg)
	}
	c.flush()
}

func (c *rawClient) flush() {
	c.t.Helper()
	if err := c.frontend.Flush(); err != nil {
		c.t.Fatalf("flush: %v", err)
	}
}

func (c *rawClient) writeRaw(b []byte) {
	c.t.Helper()
	if _, err := c.netConn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *rawClient) receive() pgproto3.BackendMessage {
	c.t.Helper()
	msg, err := c.frontend.Receive()
	if err != nil {
		c.t.Fatalf("receive: %v", err)
	}
	return msg
}

// receiveUntilReady returns the messages up to and including ReadyForQuery,
// as short descriptions such as "DataRow [1]" that tests compare.
func (c *rawClient) receiveUntilReady() []string {
	c.t.Helper()
	var out []string
	for {
		msg := c.receive()
		out = append(out, describeMessage(msg))
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			return out
		}
	}
}

// expectClosed asserts that the server closes the connection, after
// returning the messages sent before the close.
func (c *rawClient) expectClosed() []string {
	c.t.Helper()
	var out []string
	for {
		msg, err := c.frontend.Receive()
		if err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				c.t.Fatalf("expected the server to close the connection, got %v", err)
			}
			return out
		}
		out = append(out, describeMessage(msg))
	}
}

func describeMessage(msg pgproto3.BackendMessage) string {
	switch m := msg.(type) {
	case *pgproto3.ReadyForQuery:
		return fmt.Sprintf("ReadyForQuery %c", m.TxStatus)
	case *pgproto3.CommandComplete:
		return fmt.Sprintf("CommandComplete %s", m.CommandTag)
	case *pgproto3.ErrorResponse:
		return fmt.Sprintf("ErrorResponse %s %s %s", m.Severity, m.Code, m.Message)
	case *pgproto3.NoticeResponse:
		return fmt.Sprintf("NoticeResponse %s %s", m.Code, m.Message)
	case *pgproto3.DataRow:
		return fmt.Sprintf("DataRow %q", m.Values)
	case *pgproto3.RowDescription:
		s := "RowDescription"
		for _, f := range m.Fields {
			s += fmt.Sprintf(" %s:%d:%d", f.Name, f.DataTypeOID, f.Format)
		}
		return s
	case *pgproto3.ParameterDescription:
		return fmt.Sprintf("ParameterDescription %v", m.ParameterOIDs)
	case *pgproto3.ParameterStatus:
		return fmt.Sprintf("ParameterStatus %s=%s", m.Name, m.Value)
	default:
		return fmt.Sprintf("%T", msg)[len("*pgproto3."):]
	}
}

// int4Binary returns the binary encoding of an int4.
func int4Binary(v int32) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(v))
}
