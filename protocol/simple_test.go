package protocol

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

func assertMessages(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("messages differ\ngot:  %q\nwant: %q", got, want)
	}
}

func TestSimpleQueryMultipleResults(t *testing.T) {
	srv := startTestServer(t, Config{})
	conn := srv.connectPgconn(t)

	results, err := conn.Exec(context.Background(), "rows 2; insert; rows 0").ReadAll()
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	if len(results) != 3 {
		t.Fatalf("got %d results, want 3", len(results))
	}

	if got := results[0].CommandTag.String(); got != "SELECT 2" {
		t.Errorf("first tag = %q, want SELECT 2", got)
	}
	if len(results[0].FieldDescriptions) != 1 || results[0].FieldDescriptions[0].Name != "n" {
		t.Errorf("first result columns = %+v, want one column n", results[0].FieldDescriptions)
	}
	if got := results[0].FieldDescriptions[0].Format; got != pgproto3.TextFormat {
		t.Errorf("simple query column format = %d, want text", got)
	}
	if len(results[0].Rows) != 2 || string(results[0].Rows[0][0]) != "1" || string(results[0].Rows[1][0]) != "2" {
		t.Errorf("first result rows = %q, want [[1] [2]]", results[0].Rows)
	}
	if got := results[1].CommandTag.String(); got != "INSERT 0 1" {
		t.Errorf("second tag = %q, want INSERT 0 1", got)
	}
	if got := results[2].CommandTag.String(); got != "SELECT 0" {
		t.Errorf("third tag = %q, want SELECT 0", got)
	}
	if len(results[2].Rows) != 0 {
		t.Errorf("third result has %d rows, want 0", len(results[2].Rows))
	}
}

func TestSimpleQueryEmpty(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Query{String: ""})
	assertMessages(t, c.receiveUntilReady(), []string{"EmptyQueryResponse", "ReadyForQuery I"})
}

func TestSimpleQueryErrorThenReady(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Query{String: "begin; fail; insert"})
	assertMessages(t, c.receiveUntilReady(), []string{
		"CommandComplete BEGIN",
		"ErrorResponse ERROR 22012 division by zero",
		"ReadyForQuery E",
	})

	c.send(&pgproto3.Query{String: "rollback"})
	assertMessages(t, c.receiveUntilReady(), []string{"CommandComplete ROLLBACK", "ReadyForQuery I"})

	c.send(&pgproto3.Query{String: "rows 1"})
	assertMessages(t, c.receiveUntilReady(), []string{
		"RowDescription n:23:0", `DataRow ["1"]`, "CommandComplete SELECT 1", "ReadyForQuery I",
	})
}

func TestSimpleQueryErrorFields(t *testing.T) {
	srv := startTestServer(t, Config{})
	conn := srv.connectPgconn(t)

	_, err := conn.Exec(context.Background(), "bogus").ReadAll()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("err = %v, want a PgError", err)
	}
	if pgErr.Code != "42601" {
		t.Errorf("code = %s, want 42601", pgErr.Code)
	}
	if pgErr.Position != 1 {
		t.Errorf("position = %d, want 1", pgErr.Position)
	}
	if pgErr.Severity != "ERROR" {
		t.Errorf("severity = %s, want ERROR", pgErr.Severity)
	}
}

func TestSimpleQueryNoticeAndParameterStatus(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Query{String: "notice; set application_name app"})
	assertMessages(t, c.receiveUntilReady(), []string{
		"NoticeResponse 00000 fake notice",
		"CommandComplete DO",
		"ParameterStatus application_name=app",
		"CommandComplete SET",
		"ReadyForQuery I",
	})
}

func TestSimpleQueryTextEncoding(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Query{String: "types"})
	got := c.receiveUntilReady()
	want := `DataRow ["1099511627776" "t" "1.5" "héllo" "2024-05-06 07:08:09+00" "\\xdead" ""]`
	if len(got) != 4 || got[1] != want {
		t.Fatalf("messages = %q, want DataRow %s", got, want)
	}
}

func TestSimpleQueryInvalidUTF8(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Query{String: "rows \xff1"})
	assertMessages(t, c.receiveUntilReady(), []string{
		`ErrorResponse ERROR 22021 invalid byte sequence for encoding "UTF8": 0xff`,
		"ReadyForQuery I",
	})
}

func TestErrorWithoutCodeIsInternal(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Query{String: "nocode"})
	assertMessages(t, c.receiveUntilReady(), []string{"ErrorResponse ERROR XX000 plain error", "ReadyForQuery I"})
	if logs := srv.logs.String(); !strings.Contains(logs, "plain error") {
		t.Errorf("logs do not mention the uncoded error: %s", logs)
	}
}

func TestFatalSessionErrorClosesConnection(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Query{String: "fatal"})
	assertMessages(t, c.expectClosed(), []string{"ErrorResponse FATAL 57P01 fake fatal error"})
	if sc := srv.waitServed(); !sc.sess.closed() {
		t.Error("session was not closed")
	}
}

func TestCancelRunningStatement(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)
	sc := srv.waitStarted()

	c.send(&pgproto3.Query{String: "sleep"})
	// Cancel until the statement has started: a cancel between statements
	// has no effect.
	done := make(chan []string)
	go func() { done <- c.receiveUntilReady() }()
	var got []string
	for got == nil {
		sc.conn.Cancel()
		select {
		case got = <-done:
		default:
		}
	}
	assertMessages(t, got, []string{
		"ErrorResponse ERROR 57014 canceling statement due to user request",
		"ReadyForQuery I",
	})
}

func TestTerminateClosesSession(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.Query{String: "begin"})
	c.receiveUntilReady()
	c.send(&pgproto3.Terminate{})

	sc := srv.waitServed()
	if sc.err != nil {
		t.Errorf("Serve returned %v, want nil", sc.err)
	}
	if !sc.sess.closed() {
		t.Error("session was not closed")
	}
}

func TestClientEOFClosesSession(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	_ = c.netConn.Close()
	sc := srv.waitServed()
	if sc.err != nil {
		t.Errorf("Serve returned %v, want nil", sc.err)
	}
	if !sc.sess.closed() {
		t.Error("session was not closed")
	}
}

func TestShutdownSendsAdminShutdown(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)
	srv.waitStarted()

	srv.cancel()
	assertMessages(t, c.expectClosed(), []string{
		"ErrorResponse FATAL 57P01 terminating connection due to administrator command",
	})
	if sc := srv.waitServed(); !sc.sess.closed() {
		t.Error("session was not closed")
	}
}

func TestFunctionCallNotSupported(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.FunctionCall{Function: 1234, ResultFormatCode: 0})
	assertMessages(t, c.receiveUntilReady(), []string{
		"ErrorResponse ERROR 0A000 fastpath function calls are not supported",
		"ReadyForQuery I",
	})
}

func TestCopyMessagesOutsideCopyIgnored(t *testing.T) {
	srv := startTestServer(t, Config{})
	c := srv.connectRaw(t)

	c.send(&pgproto3.CopyData{Data: []byte("1\n")}, &pgproto3.CopyDone{}, &pgproto3.CopyFail{Message: "x"},
		&pgproto3.Query{String: "insert"})
	assertMessages(t, c.receiveUntilReady(), []string{"CommandComplete INSERT 0 1", "ReadyForQuery I"})
}
