package protocol

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// rawMessage builds a frontend message with a type byte and body.
func rawMessage(typ byte, body []byte) []byte {
	msg := []byte{typ}
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(body)+4))
	return append(msg, body...)
}

func TestProtocolViolationsCloseConnection(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{
			name: "unknown message type",
			data: rawMessage('y', nil),
			want: "ErrorResponse FATAL 08P01 invalid frontend message type 121",
		},
		{
			name: "oversized message",
			data: rawMessage('Q', append(bytes.Repeat([]byte("x"), 2000), 0)),
			want: "ErrorResponse FATAL 08P01 invalid message length",
		},
		{
			name: "length below four",
			data: []byte{'Q', 0, 0, 0, 2},
			want: "ErrorResponse FATAL 08P01 invalid message length",
		},
		{
			name: "malformed bind",
			data: rawMessage('B', []byte("x")),
			want: "ErrorResponse FATAL 08P01 invalid message format",
		},
		{
			name: "password message after authentication",
			data: rawMessage('p', []byte("secret\x00")),
			want: "ErrorResponse FATAL 08P01 invalid frontend message type 112",
		},
	}

	srv := startTestServer(t, Config{MaxMessageSize: 1024})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := srv.connectRaw(t)
			c.writeRaw(tt.data)
			assertMessages(t, c.expectClosed(), []string{tt.want})

			sc := srv.waitServed()
			if sc.err == nil {
				t.Error("Serve returned nil, want the protocol violation")
			}
			if !sc.sess.closed() {
				t.Error("session was not closed")
			}
		})
	}
}

func TestMessageAtSizeLimitAccepted(t *testing.T) {
	srv := startTestServer(t, Config{MaxMessageSize: 1024})
	c := srv.connectRaw(t)

	// "insert", padding spaces and the terminating NUL fill exactly 1024 bytes.
	query := "insert" + strings.Repeat(" ", 1024-len("insert")-1)
	c.send(&pgproto3.Query{String: query})
	assertMessages(t, c.receiveUntilReady(), []string{"CommandComplete INSERT 0 1", "ReadyForQuery I"})
}

func TestPanicSendsFatalAndCloses(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)
	other := srv.connectRaw(t)

	c.send(&pgproto3.Query{String: "panic"})
	assertMessages(t, c.expectClosed(), []string{
		"ErrorResponse FATAL XX000 internal error while handling the message",
	})

	sc := srv.waitServed()
	var pe *panicError
	if !errors.As(sc.err, &pe) {
		t.Errorf("Serve returned %v, want a panicError", sc.err)
	}
	if !sc.sess.closed() {
		t.Error("session was not closed after the panic")
	}
	logs := srv.logs.String()
	if !strings.Contains(logs, "fake panic") || !strings.Contains(logs, "stack=") {
		t.Errorf("logs lack the panic value or stack: %s", logs)
	}

	// Another connection is unaffected.
	other.send(&pgproto3.Query{String: "insert"})
	assertMessages(t, other.receiveUntilReady(), []string{"CommandComplete INSERT 0 1", "ReadyForQuery I"})
}

func TestPanicInExecuteSendsFatal(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Parse{Query: "panic"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{})
	assertMessages(t, c.expectClosed(), []string{
		"ParseComplete", "BindComplete", "ErrorResponse FATAL XX000 internal error while handling the message",
	})
}

func TestErrorResponseFields(t *testing.T) {
	resp := ErrorResponse(errors.New("boom"))
	if resp.Code != "XX000" || resp.Severity != "ERROR" || resp.Message != "boom" {
		t.Errorf("uncoded error = %+v, want ERROR XX000 boom", resp)
	}

	resp = ErrorResponse(context.Canceled)
	if resp.Code != "57014" {
		t.Errorf("context.Canceled code = %s, want 57014", resp.Code)
	}

	unique := pgerror.New(pgcode.UniqueViolation, "duplicate key value violates unique constraint \"t_pkey\"").WithConstraint("t", "t_pkey")
	resp = ErrorResponse(unique)
	if resp.TableName != "t" || resp.ConstraintName != "t_pkey" || resp.ColumnName != "" {
		t.Errorf("unique violation names: table %q, constraint %q, column %q; want t, t_pkey and none", resp.TableName, resp.ConstraintName, resp.ColumnName)
	}
	resp = ErrorResponse(pgerror.New(pgcode.NotNullViolation, "null value").WithColumn("t", "c"))
	if resp.TableName != "t" || resp.ColumnName != "c" {
		t.Errorf("not-null violation names: table %q, column %q; want t and c", resp.TableName, resp.ColumnName)
	}
}

// FuzzBackendMessages feeds arbitrary bytes to a connection after startup.
// Serve must neither panic nor hang: it returns once the input ends.
func FuzzBackendMessages(f *testing.F) {
	seeds := [][]byte{
		rawMessage('Q', []byte("rows 3\x00")),
		rawMessage('P', []byte("\x00echo int4\x00\x00\x01\x00\x00\x00\x17")),
		append(rawMessage('P', []byte("\x00rows 2\x00\x00\x00")), rawMessage('B', []byte("\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01"))...),
		rawMessage('E', []byte("\x00\x00\x00\x00\x01")),
		rawMessage('S', nil),
		rawMessage('H', nil),
		rawMessage('D', []byte("S\x00")),
		rawMessage('C', []byte("P\x00")),
		rawMessage('X', nil),
		rawMessage('F', []byte("\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00")),
		rawMessage('d', []byte("data")),
		{'Q', 0x7f, 0xff, 0xff, 0xff},
	}
	for _, seed := range seeds {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		serverSide, clientSide := net.Pipe()
		defer clientSide.Close()

		logger := slog.New(slog.DiscardHandler)
		sess := newFakeSession()
		sess.harmless = true
		conn := NewConn(serverSide, pgproto3.NewBackend(serverSide, serverSide), sess, Config{MaxMessageSize: 4096}, logger)

		served := make(chan error, 1)
		go func() {
			defer serverSide.Close()
			served <- conn.Serve(context.Background())
		}()

		// Drain the output so that the server never blocks on a write.
		go func() { _, _ = io.Copy(io.Discard, clientSide) }()

		_ = clientSide.SetWriteDeadline(time.Now().Add(testTimeout))
		_, _ = clientSide.Write(data)
		_ = clientSide.Close()

		select {
		case err := <-served:
			var pe *panicError
			if errors.As(err, &pe) {
				t.Fatalf("Serve panicked: %v", pe.value)
			}
		case <-time.After(testTimeout):
			t.Fatal("Serve did not return after the input ended")
		}
	})
}
