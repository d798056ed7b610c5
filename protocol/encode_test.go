package protocol

import (
	"log/slog"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

// discardConn is a net.Conn whose writes succeed and vanish.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

func newEncodeTestConn() *Conn {
	return NewConn(discardConn{}, pgproto3.NewBackend(nil, nil), newFakeSession(), Config{}, slog.New(slog.DiscardHandler))
}

var encodeTestColumns = []Column{
	{Name: "id", TypeOID: pgtype.Int4OID},
	{Name: "big", TypeOID: pgtype.Int8OID},
	{Name: "name", TypeOID: pgtype.TextOID},
	{Name: "flag", TypeOID: pgtype.BoolOID},
	{Name: "missing", TypeOID: pgtype.TextOID},
}

func TestRowEncodingDoesNotAllocate(t *testing.T) {
	for _, format := range []int16{pgproto3.TextFormat, pgproto3.BinaryFormat} {
		c := newEncodeTestConn()
		formats := []int16{format, format, format, format, format}
		c.sink.reset(false, encodeTestColumns, formats)
		values := []any{int32(7), int64(1) << 40, "name", true, nil}

		allocs := testing.AllocsPerRun(1000, func() {
			if err := c.sink.Row(values); err != nil {
				t.Fatalf("row: %v", err)
			}
		})
		if allocs != 0 {
			t.Errorf("format %d: %.1f allocations per row, want 0", format, allocs)
		}
	}
}

func BenchmarkRowEncoding(b *testing.B) {
	c := newEncodeTestConn()
	c.sink.reset(false, encodeTestColumns, []int16{1, 1, 0, 1, 0})
	values := []any{int32(7), int64(1) << 40, "name", true, nil}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.sink.Row(values); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRewindDropsUnsentOutput(t *testing.T) {
	c := newEncodeTestConn()
	c.sink.reset(false, encodeTestColumns, nil)
	values := []any{int32(7), int64(1), "name", true, nil}
	if err := c.sink.Complete("BEGIN"); err != nil {
		t.Fatal(err)
	}
	before := len(c.wbuf)
	mark := c.sink.Mark()
	if err := c.sink.Row(values); err != nil {
		t.Fatal(err)
	}
	if err := c.sink.Complete("UPDATE 1"); err != nil {
		t.Fatal(err)
	}
	if !c.sink.Rewind(mark) {
		t.Fatal("Rewind of unsent output reported false")
	}
	if len(c.wbuf) != before {
		t.Fatalf("output is %d bytes after Rewind, want the %d before the mark", len(c.wbuf), before)
	}

	// Output that a flush has sent stays.
	if err := c.sink.Row(values); err != nil {
		t.Fatal(err)
	}
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	if c.sink.Rewind(mark) {
		t.Fatal("Rewind after a flush reported true")
	}
}
