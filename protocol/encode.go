package protocol

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

// resultSink is the ResultSink of a Conn. One value is reused for every
// statement: reset prepares it for the next one.
type resultSink struct {
	conn *Conn
	// simple is true while a simple Query runs. Only then does Describe send
	// a RowDescription.
	simple bool
	cols   []Column
	// formats contains the format code of each column, or is nil when every
	// column is sent as text.
	formats []int16
}

var (
	_ ResultSink           = (*resultSink)(nil)
	_ Rewinder             = (*resultSink)(nil)
	_ StatementDeallocator = (*resultSink)(nil)
)

// DeallocateStatement drops a named prepared statement of the connection.
func (s *resultSink) DeallocateStatement(name string) bool {
	if name == "" {
		return false
	}
	_, found := s.conn.stmts[name]
	delete(s.conn.stmts, name)
	return found
}

// DeallocateAllStatements drops the connection's named prepared
// statements. The unnamed one is replaced by the next Parse anyway.
func (s *resultSink) DeallocateAllStatements() {
	for name := range s.conn.stmts {
		if name != "" {
			delete(s.conn.stmts, name)
		}
	}
}

// Mark returns the current end of the connection's output.
func (s *resultSink) Mark() OutputMark {
	return OutputMark{flushes: s.conn.flushes, pos: len(s.conn.wbuf)}
}

// Rewind drops the buffered output written since m, unless a flush has
// sent part of it.
func (s *resultSink) Rewind(m OutputMark) bool {
	c := s.conn
	if c.flushes != m.flushes || len(c.wbuf) < m.pos || c.writeErr != nil {
		return false
	}
	c.wbuf = c.wbuf[:m.pos]
	return true
}

func (s *resultSink) reset(simple bool, cols []Column, formats []int16) {
	s.simple = simple
	s.cols = cols
	s.formats = formats
}

// Describe sends a RowDescription with text formats in a simple Query. In
// extended mode the Describe message has already sent the columns,
// so Describe only replaces the columns used to encode rows.
func (s *resultSink) Describe(cols []Column) error {
	s.cols = cols
	if !s.simple {
		return nil
	}
	s.formats = nil
	c := s.conn
	if c.writeErr != nil {
		return c.writeErr
	}
	c.wbuf = appendRowDescription(c.wbuf, cols, nil)
	return c.maybeFlush()
}

// Row encodes one DataRow straight into the output buffer. This is the hot
// path: it allocates nothing beyond what the pgtype codecs allocate.
func (s *resultSink) Row(values []any) error {
	c := s.conn
	if c.writeErr != nil {
		return c.writeErr
	}
	if len(values) != len(s.cols) {
		return pgerror.Internal("row has %d values but the result has %d columns", len(values), len(s.cols))
	}

	buf, start := beginMessage(c.wbuf, 'D')
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(values)))
	for i, v := range values {
		lenPos := len(buf)
		buf = append(buf, 0, 0, 0, 0)
		if v == nil {
			binary.BigEndian.PutUint32(buf[lenPos:], nullLength)
			continue
		}

		format := int16(pgproto3.TextFormat)
		if s.formats != nil {
			format = s.formats[i]
		}
		col := &s.cols[i]
		if t, ok := v.(time.Time); ok && pgtext.InfinitySign(t) != 0 {
			v = infiniteTimeValue(t, col.TypeOID)
		}
		// Encode appends to buf and returns nil for a value that is SQL NULL.
		out, err := c.typeMap.Encode(col.TypeOID, format, v, buf)
		if err != nil {
			c.wbuf = buf[:start]
			return pgerror.Internal("encoding column %q (type OID %d): %v", col.Name, col.TypeOID, err)
		}
		if out == nil {
			binary.BigEndian.PutUint32(buf[lenPos:], nullLength)
			continue
		}
		buf = out
		binary.BigEndian.PutUint32(buf[lenPos:], uint32(len(buf)-lenPos-4))
	}
	c.wbuf = finishMessage(buf, start)
	return c.maybeFlush()
}

// nullLength is the value length that marks SQL NULL in a DataRow: the
// int32 -1.
const nullLength = math.MaxUint32

// Complete sends CommandComplete with tag.
func (s *resultSink) Complete(tag string) error {
	c := s.conn
	if c.writeErr != nil {
		return c.writeErr
	}
	buf, start := beginMessage(c.wbuf, 'C')
	buf = append(buf, tag...)
	buf = append(buf, 0)
	c.wbuf = finishMessage(buf, start)
	return c.maybeFlush()
}

// EmptyQuery sends EmptyQueryResponse.
func (s *resultSink) EmptyQuery() error {
	return s.conn.send(&pgproto3.EmptyQueryResponse{})
}

// ParameterStatus sends ParameterStatus.
func (s *resultSink) ParameterStatus(name, value string) error {
	return s.conn.send(&pgproto3.ParameterStatus{Name: name, Value: value})
}

// Notice sends a NoticeResponse.
func (s *resultSink) Notice(severity, code, message string) error {
	return s.conn.send(&pgproto3.NoticeResponse{
		Severity:            severity,
		SeverityUnlocalized: severity,
		Code:                code,
		Message:             message,
	})
}

// appendRowDescription appends a RowDescription for cols. formats contains
// one format code per column, or is nil for text.
func appendRowDescription(buf []byte, cols []Column, formats []int16) []byte {
	buf, start := beginMessage(buf, 'T')
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(cols)))
	for i := range cols {
		col := &cols[i]
		format := int16(pgproto3.TextFormat)
		if formats != nil {
			format = formats[i]
		}
		buf = append(buf, col.Name...)
		buf = append(buf, 0)
		buf = binary.BigEndian.AppendUint32(buf, col.TableOID)
		buf = binary.BigEndian.AppendUint16(buf, uint16(col.AttrNumber))
		buf = binary.BigEndian.AppendUint32(buf, col.TypeOID)
		buf = binary.BigEndian.AppendUint16(buf, uint16(col.TypeSize))
		buf = binary.BigEndian.AppendUint32(buf, uint32(col.TypeModifier))
		buf = binary.BigEndian.AppendUint16(buf, uint16(format))
	}
	return finishMessage(buf, start)
}

// infiniteTimeValue returns the pgtype value that encodes an infinite
// date or timestamp of type oid, whose time.Time form pgtype cannot
// encode.
func infiniteTimeValue(t time.Time, oid uint32) any {
	modifier := pgtype.Infinity
	if pgtext.InfinitySign(t) < 0 {
		modifier = pgtype.NegativeInfinity
	}
	switch oid {
	case pgtype.DateOID:
		return pgtype.Date{InfinityModifier: modifier, Valid: true}
	case pgtype.TimestamptzOID:
		return pgtype.Timestamptz{InfinityModifier: modifier, Valid: true}
	}
	return pgtype.Timestamp{InfinityModifier: modifier, Valid: true}
}
