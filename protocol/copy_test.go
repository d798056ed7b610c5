package protocol

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

func TestCopyInDataBeforeResponseRead(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := ts.connectRaw(t)
	sess := ts.waitStarted().sess

	// Everything goes out in one write before the client reads anything,
	// as pgx's CopyFrom may do.
	c.send(
		&pgproto3.Query{String: "copyin"},
		&pgproto3.CopyData{Data: []byte("a\n")},
		&pgproto3.CopyData{Data: []byte("b\nc\n")},
		&pgproto3.CopyDone{},
	)
	resp, ok := c.receive().(*pgproto3.CopyInResponse)
	if !ok {
		t.Fatalf("first message is not CopyInResponse")
	}
	if resp.OverallFormat != 0 || len(resp.ColumnFormatCodes) != 1 || resp.ColumnFormatCodes[0] != 0 {
		t.Fatalf("CopyInResponse = %+v, want text format with one text column", resp)
	}
	assertMessages(t, c.receiveUntilReady(), []string{"CommandComplete COPY 3", "ReadyForQuery I"})
	if got := sess.copied(); got != "a\nb\nc\n" {
		t.Fatalf("copied %q, want %q", got, "a\nb\nc\n")
	}
}

func TestCopyFailReportsClientMessage(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := ts.connectRaw(t)

	c.send(
		&pgproto3.Query{String: "copyin"},
		&pgproto3.CopyData{Data: []byte("a\n")},
		&pgproto3.CopyFail{Message: "client gave up"},
	)
	assertMessages(t, c.receiveUntilReady(), []string{
		"CopyInResponse",
		"ErrorResponse ERROR 57014 COPY from stdin failed: client gave up",
		"ReadyForQuery I",
	})

	c.send(&pgproto3.Query{String: "insert"})
	assertMessages(t, c.receiveUntilReady(), []string{"CommandComplete INSERT 0 1", "ReadyForQuery I"})
}

func TestCopyInUnexpectedMessage(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := ts.connectRaw(t)
	sess := ts.waitStarted().sess

	c.send(
		&pgproto3.Query{String: "copyin"},
		&pgproto3.CopyData{Data: []byte("a\n")},
		&pgproto3.Query{String: "insert"},
	)
	assertMessages(t, c.receiveUntilReady(), []string{
		"CopyInResponse",
		"ErrorResponse ERROR 08P01 unexpected message type 0x51 during COPY from stdin",
		"ReadyForQuery I",
	})

	// The client's late COPY messages are discarded outside COPY.
	c.send(&pgproto3.CopyData{Data: []byte("b\n")}, &pgproto3.CopyDone{}, &pgproto3.Query{String: "insert"})
	assertMessages(t, c.receiveUntilReady(), []string{"CommandComplete INSERT 0 1", "ReadyForQuery I"})
	executed := sess.executed()
	if len(executed) != 2 || executed[1] != "insert" {
		t.Fatalf("executed %q, want copyin and one insert", executed)
	}
}

func TestCopyInSkipsFlushAndSync(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := ts.connectRaw(t)
	sess := ts.waitStarted().sess

	c.send(
		&pgproto3.Query{String: "copyin"},
		&pgproto3.Flush{},
		&pgproto3.CopyData{Data: []byte("x\n")},
		&pgproto3.Sync{},
		&pgproto3.CopyDone{},
	)
	assertMessages(t, c.receiveUntilReady(), []string{"CopyInResponse", "CommandComplete COPY 1", "ReadyForQuery I"})
	if got := sess.copied(); got != "x\n" {
		t.Fatalf("copied %q, want %q", got, "x\n")
	}
}

func TestCopyInExtendedProtocol(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := ts.connectRaw(t)
	sess := ts.waitStarted().sess

	c.send(
		&pgproto3.Parse{Query: "copyin"},
		&pgproto3.Bind{},
		&pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Execute{},
		&pgproto3.CopyData{Data: []byte("1\n2\n")},
		&pgproto3.CopyDone{},
		&pgproto3.Sync{},
	)
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete", "NoData", "CopyInResponse", "CommandComplete COPY 2", "ReadyForQuery I",
	})
	if got := sess.copied(); got != "1\n2\n" {
		t.Fatalf("copied %q, want %q", got, "1\n2\n")
	}
}

func TestCopyFailExtendedSkipsToSync(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := ts.connectRaw(t)

	c.send(
		&pgproto3.Parse{Query: "copyin"},
		&pgproto3.Bind{},
		&pgproto3.Execute{},
		&pgproto3.CopyFail{Message: "stop"},
		&pgproto3.Parse{Query: "insert"},
		&pgproto3.Sync{},
	)
	assertMessages(t, c.receiveUntilReady(), []string{
		"ParseComplete", "BindComplete", "CopyInResponse",
		"ErrorResponse ERROR 57014 COPY from stdin failed: stop",
		"ReadyForQuery I",
	})
}

func TestCopyOversizedMessageClosesConnection(t *testing.T) {
	ts := startTestServer(t, Config{MaxMessageSize: 1 << 10})
	c := ts.connectRaw(t)

	c.send(&pgproto3.Query{String: "copyin"}, &pgproto3.CopyData{Data: make([]byte, 2<<10)})
	got := c.expectClosed()
	assertMessages(t, got, []string{"CopyInResponse", "ErrorResponse FATAL 08P01 invalid message length"})
	sc := ts.waitServed()
	if !sc.sess.closed() {
		t.Fatal("session not closed")
	}
}

func TestCopyClientGoneDuringCopyIn(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := ts.connectRaw(t)

	c.send(&pgproto3.Query{String: "copyin"}, &pgproto3.CopyData{Data: []byte("a\n")})
	if _, ok := c.receive().(*pgproto3.CopyInResponse); !ok {
		t.Fatal("first message is not CopyInResponse")
	}
	_ = c.netConn.Close()
	sc := ts.waitServed()
	if sc.err != nil {
		t.Fatalf("Serve returned %v, want nil for a client that left", sc.err)
	}
	if !sc.sess.closed() {
		t.Fatal("session not closed")
	}
}

func TestPgconnCopyFromAndCopyTo(t *testing.T) {
	ts := startTestServer(t, Config{})
	conn := ts.connectPgconn(t)
	sess := ts.waitStarted().sess
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	// About 1.9 MB, more than pgx sends in one CopyData message and more
	// than the server's output buffer.
	var data strings.Builder
	for i := range 200000 {
		data.WriteString(strings.Repeat("x", i%17))
		data.WriteString("\n")
	}
	tag, err := conn.CopyFrom(ctx, strings.NewReader(data.String()), "copyin")
	if err != nil {
		t.Fatalf("CopyFrom: %v", err)
	}
	if tag.String() != "COPY 200000" {
		t.Fatalf("CopyFrom tag %q, want COPY 200000", tag)
	}
	if sess.copied() != data.String() {
		t.Fatalf("the server received %d bytes, want %d", len(sess.copied()), data.Len())
	}

	var out bytes.Buffer
	tag, err = conn.CopyTo(ctx, &out, "copyout 3")
	if err != nil {
		t.Fatalf("CopyTo: %v", err)
	}
	if tag.String() != "COPY 3" {
		t.Fatalf("CopyTo tag %q, want COPY 3", tag)
	}
	if out.String() != "1\n2\n3\n" {
		t.Fatalf("CopyTo wrote %q", out.String())
	}
}

func TestCopyOutSimpleQueryMessages(t *testing.T) {
	ts := startTestServer(t, Config{})
	c := ts.connectRaw(t)

	c.send(&pgproto3.Query{String: "copyout 2"})
	assertMessages(t, c.receiveUntilReady(), []string{
		"CopyOutResponse", "CopyData", "CopyData", "CopyDone", "CommandComplete COPY 2", "ReadyForQuery I",
	})
}
