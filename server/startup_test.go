package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// dialRaw opens a TCP connection to srv for byte-level tests.
func dialRaw(t *testing.T, srv *testServer) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", srv.Addr().String(), testTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(testTimeout))
	return conn
}

// startupPacket builds a startup packet with a protocol version or request
// code and NUL-terminated name/value pairs.
func startupPacket(code uint32, params ...string) []byte {
	body := binary.BigEndian.AppendUint32(nil, code)
	if len(params) > 0 {
		for _, p := range params {
			body = append(body, p...)
			body = append(body, 0)
		}
		body = append(body, 0)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body)+4)), body...)
}

func write(t *testing.T, conn net.Conn, data []byte) {
	t.Helper()
	if _, err := conn.Write(data); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// expectClosedWithoutReply asserts that the server closes conn and sends
// nothing.
func expectClosedWithoutReply(t *testing.T, conn net.Conn) {
	t.Helper()
	data, err := io.ReadAll(conn)
	if err != nil && !isConnReset(err) {
		t.Fatalf("read: %v", err)
	}
	if len(data) != 0 {
		t.Errorf("server replied %q, want no reply", data)
	}
}

func isConnReset(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && !opErr.Timeout()
}

// receiveAll reads backend messages until the server closes the connection
// or sends ReadyForQuery.
func receiveAll(t *testing.T, conn net.Conn) []pgproto3.BackendMessage {
	t.Helper()
	frontend := pgproto3.NewFrontend(conn, conn)
	var msgs []pgproto3.BackendMessage
	for {
		msg, err := frontend.Receive()
		if err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) && !isConnReset(err) {
				t.Fatalf("receive: %v", err)
			}
			return msgs
		}
		msgs = append(msgs, clone(msg))
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			return msgs
		}
	}
}

// clone copies the fields tests look at, because pgproto3 reuses messages.
func clone(msg pgproto3.BackendMessage) pgproto3.BackendMessage {
	switch m := msg.(type) {
	case *pgproto3.ErrorResponse:
		c := *m
		return &c
	case *pgproto3.NegotiateProtocolVersion:
		return &pgproto3.NegotiateProtocolVersion{
			NewestMinorProtocol: m.NewestMinorProtocol,
			UnrecognizedOptions: slices.Clone(m.UnrecognizedOptions),
		}
	case *pgproto3.ReadyForQuery:
		c := *m
		return &c
	default:
		return msg
	}
}

func expectFatal(t *testing.T, msgs []pgproto3.BackendMessage, code, message string) {
	t.Helper()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages %#v, want one ErrorResponse", len(msgs), msgs)
	}
	resp, ok := msgs[0].(*pgproto3.ErrorResponse)
	if !ok {
		t.Fatalf("got %T, want ErrorResponse", msgs[0])
	}
	if resp.Severity != "FATAL" || resp.Code != code || resp.Message != message {
		t.Errorf("error = %s %s %q, want FATAL %s %q", resp.Severity, resp.Code, resp.Message, code, message)
	}
}

func TestSSLAndGSSRequestsAnsweredN(t *testing.T) {
	srv := startServer(t, nil)
	conn := dialRaw(t, srv)

	reply := make([]byte, 1)
	write(t, conn, startupPacket(gssEncRequestCode))
	if _, err := io.ReadFull(conn, reply); err != nil || reply[0] != 'N' {
		t.Fatalf("GSSENCRequest reply = %q, %v; want N", reply, err)
	}
	write(t, conn, startupPacket(sslRequestCode))
	if _, err := io.ReadFull(conn, reply); err != nil || reply[0] != 'N' {
		t.Fatalf("SSLRequest reply = %q, %v; want N", reply, err)
	}

	write(t, conn, startupPacket(pgproto3.ProtocolVersion30, "user", "kate"))
	msgs := receiveAll(t, conn)
	if len(msgs) == 0 {
		t.Fatal("no reply to the startup message")
	}
	if _, ok := msgs[0].(*pgproto3.AuthenticationOk); !ok {
		t.Errorf("first message = %T, want AuthenticationOk", msgs[0])
	}
	if rfq, ok := msgs[len(msgs)-1].(*pgproto3.ReadyForQuery); !ok || rfq.TxStatus != 'I' {
		t.Errorf("last message = %#v, want ReadyForQuery I", msgs[len(msgs)-1])
	}
}

func TestSecondSSLRequestRejected(t *testing.T) {
	srv := startServer(t, nil)
	conn := dialRaw(t, srv)

	write(t, conn, startupPacket(sslRequestCode))
	reply := make([]byte, 1)
	if _, err := io.ReadFull(conn, reply); err != nil {
		t.Fatal(err)
	}
	write(t, conn, startupPacket(sslRequestCode))
	expectFatal(t, receiveAll(t, conn), "08P01", "encryption negotiation already done on this connection")
}

func TestOversizedStartupPacketClosesOnlyThatConnection(t *testing.T) {
	srv := startServer(t, nil)
	other := connectPgx(t, srv.tcpConnString("liam", "sslmode=disable"))

	conn := dialRaw(t, srv)
	packet := startupPacket(pgproto3.ProtocolVersion30, "user", "mia", "filler", string(bytes.Repeat([]byte("x"), 10_000)))
	if len(packet) <= maxStartupPacketLen {
		t.Fatalf("test packet has %d bytes, want more than %d", len(packet), maxStartupPacketLen)
	}
	// Only the length word is needed for the server to reject it.
	write(t, conn, packet[:4])
	expectClosedWithoutReply(t, conn)

	execOK(t, other)
}

func TestStartupPacketAtSizeLimitAccepted(t *testing.T) {
	srv := startServer(t, nil)
	conn := dialRaw(t, srv)

	base := startupPacket(pgproto3.ProtocolVersion30, "user", "nora", "filler", "")
	filler := string(bytes.Repeat([]byte("x"), maxStartupPacketLen-len(base)))
	packet := startupPacket(pgproto3.ProtocolVersion30, "user", "nora", "filler", filler)
	if len(packet) != maxStartupPacketLen {
		t.Fatalf("test packet has %d bytes, want %d", len(packet), maxStartupPacketLen)
	}
	write(t, conn, packet)
	msgs := receiveAll(t, conn)
	if _, ok := msgs[len(msgs)-1].(*pgproto3.ReadyForQuery); !ok {
		t.Errorf("last message = %T, want ReadyForQuery", msgs[len(msgs)-1])
	}
}

func TestGarbageStartupClosed(t *testing.T) {
	srv := startServer(t, nil)

	t.Run("http request", func(t *testing.T) {
		conn := dialRaw(t, srv)
		write(t, conn, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		expectClosedWithoutReply(t, conn)
	})
	t.Run("length below minimum", func(t *testing.T) {
		conn := dialRaw(t, srv)
		write(t, conn, []byte{0, 0, 0, 4})
		expectClosedWithoutReply(t, conn)
	})
	t.Run("unknown request code", func(t *testing.T) {
		conn := dialRaw(t, srv)
		write(t, conn, startupPacket(0x12345678))
		expectFatal(t, receiveAll(t, conn), "0A000", "unsupported frontend protocol 4660.22136: server supports 3.0 to 3.0")
	})
	t.Run("parameters without terminator", func(t *testing.T) {
		conn := dialRaw(t, srv)
		packet := startupPacket(pgproto3.ProtocolVersion30, "user", "olga")
		packet = packet[:len(packet)-1]
		binary.BigEndian.PutUint32(packet, uint32(len(packet)))
		write(t, conn, packet)
		expectFatal(t, receiveAll(t, conn), "08P01", "invalid startup packet layout: expected terminator as last byte")
	})
}

func TestProtocolVersion2Rejected(t *testing.T) {
	srv := startServer(t, nil)
	conn := dialRaw(t, srv)

	write(t, conn, startupPacket(2<<16, "user", "pat"))
	expectFatal(t, receiveAll(t, conn), "0A000", "unsupported frontend protocol 2.0: server supports 3.0 to 3.0")
}

func TestMissingUserRejected(t *testing.T) {
	srv := startServer(t, nil)
	conn := dialRaw(t, srv)

	write(t, conn, startupPacket(pgproto3.ProtocolVersion30, "database", "db"))
	expectFatal(t, receiveAll(t, conn), "28000", "no PostgreSQL user name specified in startup packet")
}

func TestProtocol31Negotiation(t *testing.T) {
	srv := startServer(t, nil)
	conn := dialRaw(t, srv)

	write(t, conn, startupPacket(3<<16|1, "user", "quinn", "_pq_.b_option", "on", "_pq_.a_option", "1"))
	msgs := receiveAll(t, conn)
	if len(msgs) < 2 {
		t.Fatalf("got %d messages, want NegotiateProtocolVersion and more", len(msgs))
	}
	npv, ok := msgs[0].(*pgproto3.NegotiateProtocolVersion)
	if !ok {
		t.Fatalf("first message = %T, want NegotiateProtocolVersion", msgs[0])
	}
	if npv.NewestMinorProtocol != 0 {
		t.Errorf("newest minor version = %d, want 0", npv.NewestMinorProtocol)
	}
	if want := []string{"_pq_.a_option", "_pq_.b_option"}; !slices.Equal(npv.UnrecognizedOptions, want) {
		t.Errorf("unrecognized options = %q, want %q", npv.UnrecognizedOptions, want)
	}
	if _, ok := msgs[len(msgs)-1].(*pgproto3.ReadyForQuery); !ok {
		t.Errorf("last message = %T, want ReadyForQuery", msgs[len(msgs)-1])
	}

	info, _ := srv.backend.lastSessionInfo()
	if _, ok := info.Params["_pq_.a_option"]; ok {
		t.Errorf("session params contain a protocol option: %v", info.Params)
	}
}

func TestPgxProtocol32FallsBackTo30(t *testing.T) {
	srv := startServer(t, nil)

	conn := connectPgx(t, srv.tcpConnString("rita", "sslmode=disable max_protocol_version=3.2"))
	execOK(t, conn)
}

func TestStartupTimeoutClosesIdleConnection(t *testing.T) {
	srv := startServer(t, func(cfg *Config) { cfg.AuthenticationTimeout = 100 * time.Millisecond })
	conn := dialRaw(t, srv)

	expectClosedWithoutReply(t, conn)
}

func TestClientGoneDuringPasswordRequest(t *testing.T) {
	srv := startServer(t, nil)
	conn := dialRaw(t, srv)

	write(t, conn, startupPacket(pgproto3.ProtocolVersion30, "user", passwordUser))
	frontend := pgproto3.NewFrontend(conn, conn)
	msg, err := frontend.Receive()
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if _, ok := msg.(*pgproto3.AuthenticationCleartextPassword); !ok {
		t.Fatalf("got %T, want AuthenticationCleartextPassword", msg)
	}
	_ = conn.Close()

	// psql does this to prompt for a password; it is not a failed login.
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for !bytes.Contains([]byte(srv.logs.String()), []byte("client closed the connection during authentication")) {
		if ctx.Err() != nil {
			t.Fatalf("disconnect not logged:\n%s", srv.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if bytes.Contains([]byte(srv.logs.String()), []byte("authentication failed")) {
		t.Errorf("a disconnect was logged as a failed login:\n%s", srv.logs.String())
	}
}

func TestCancelRequestWithWrongKeyIgnored(t *testing.T) {
	srv := startServer(t, nil)
	target := connectPgconn(t, srv.tcpConnString("sam", "sslmode=disable"))

	conn := dialRaw(t, srv)
	packet := binary.BigEndian.AppendUint32(nil, 16)
	packet = binary.BigEndian.AppendUint32(packet, cancelRequestCode)
	packet = binary.BigEndian.AppendUint32(packet, target.PID())
	packet = append(packet, bytes.Repeat([]byte{0xAA}, 4)...)
	write(t, conn, packet)
	expectClosedWithoutReply(t, conn)

	if _, err := target.Exec(context.Background(), "ok").ReadAll(); err != nil {
		t.Errorf("exec after a wrong cancel request: %v", err)
	}
}
