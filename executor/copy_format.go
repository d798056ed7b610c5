package executor

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
)

// This file reads and writes the three COPY formats of PostgreSQL 15. Text
// has one line per row, fields split by the delimiter and backslash
// escapes. CSV quotes as RFC 4180 does, with configurable quote and escape
// characters. Binary has the PGCOPY header, then per row a field count and
// length-prefixed values in the types' binary forms, then a -1 trailer.

// binarySignature starts the header of the binary COPY format.
var binarySignature = []byte("PGCOPY\n\xff\r\n\x00")

// maxCopyFieldSize is the largest field of binary COPY data, PostgreSQL's
// limit on a value (1 GB).
const maxCopyFieldSize = 1 << 30

// copySource parses the rows of COPY FROM STDIN from a stream.
type copySource struct {
	in    *bufio.Reader
	opts  *copyOptions
	table string
	names []string
	types []catalog.ColumnType
	loc   *time.Location
	// typeMap decodes binary values.
	typeMap *pgtype.Map

	// lineNo is the number of the current line (CSV: record), from 1.
	lineNo int64
	// line is the current line without its terminator, for error context.
	line []byte
	// crlf records whether the first line ended with \r\n, which every
	// line must then do. It is unset until the first line is read.
	crlf *bool
	// terminated is false for a last line that ends without a newline.
	terminated bool
	started    bool
	finished   bool
	// present is the number of fields of the current line. fields, isNull
	// and vals are reused for every row.
	present int
	fields  [][]byte
	isNull  []bool
	vals    []any
}

func newCopySource(in *bufio.Reader, opts *copyOptions, table string, names []string, types []catalog.ColumnType, loc *time.Location) *copySource {
	return &copySource{
		in: in, opts: opts, table: table, names: names, types: types, loc: loc,
		typeMap: pgtype.NewMap(),
		fields:  make([][]byte, len(names)),
		isNull:  make([]bool, len(names)),
		vals:    make([]any, len(names)),
	}
}

// next returns the values of the next row, one per copied column, or nil
// at the end of the data. The slice is reused by the next call.
func (s *copySource) next() ([]any, error) {
	if s.finished {
		return nil, nil
	}
	if s.opts.format == copyBinary {
		return s.nextBinary()
	}
	if !s.started {
		s.started = true
		if s.opts.header {
			if err := s.readHeaderLine(); err != nil || s.finished {
				return nil, err
			}
		}
	}
	for {
		ok, err := s.readLine()
		if err != nil || !ok {
			return nil, err
		}
		if err := s.splitFields(); err != nil {
			return nil, err
		}
		if s.finished && len(s.line) == 0 {
			// The end-of-data marker stood alone on its line.
			return nil, nil
		}
		return s.convertFields()
	}
}

// readHeaderLine skips the header line, checking its names under HEADER
// MATCH.
func (s *copySource) readHeaderLine() error {
	ok, err := s.readLine()
	if err != nil || !ok {
		return err
	}
	if !s.opts.headerMatch {
		return nil
	}
	fields, nulls, err := s.scanFields(true)
	if err != nil {
		return err
	}
	if len(fields) != len(s.names) {
		return s.lineError(pgerror.Newf(pgcode.BadCopyFileFormat, "wrong number of fields in header line: got %d, expected %d", len(fields), len(s.names)))
	}
	for i, f := range fields {
		if nulls[i] {
			return s.lineError(pgerror.Newf(pgcode.BadCopyFileFormat, "column name mismatch in header line field %d: got null value (\"%s\"), expected \"%s\"", i+1, s.opts.null, s.names[i]))
		}
		if string(f) != s.names[i] {
			return s.lineError(pgerror.Newf(pgcode.BadCopyFileFormat, "column name mismatch in header line field %d: got \"%s\", expected \"%s\"", i+1, f, s.names[i]))
		}
	}
	return nil
}

// readLine reads the next line (in CSV, the next record, which may span
// lines inside quotes) into s.line. It returns false at the end of the
// data.
func (s *copySource) readLine() (bool, error) {
	s.line = s.line[:0]
	inQuote := false
	for {
		chunk, err := s.in.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.line = append(s.line, chunk...)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		atEOF := err != nil
		if atEOF && len(chunk) == 0 && len(s.line) == 0 {
			s.finished = true
			return false, nil
		}
		start := len(s.line)
		s.line = append(s.line, chunk...)
		if atEOF {
			if inQuote || (s.opts.format == copyCSV && csvQuoteOpen(s.opts, s.line, start, inQuote)) {
				s.lineNo++
				return false, s.lineError(pgerror.New(pgcode.BadCopyFileFormat, "unterminated CSV quoted field"))
			}
			s.lineNo++
			s.terminated = false
			return true, s.checkLine(false)
		}
		if s.opts.format == copyCSV {
			inQuote = csvQuoteOpen(s.opts, s.line, start, inQuote)
			if inQuote {
				continue
			}
		} else if escapedNewline(s.line) {
			// A backslash before the newline makes it part of the data.
			continue
		}
		s.lineNo++
		s.terminated = true
		s.line = s.line[:len(s.line)-1]
		return true, s.checkLine(true)
	}
}

// csvQuoteOpen reports whether a CSV record is inside a quoted field after
// line[from:], given the state at from.
func csvQuoteOpen(opts *copyOptions, line []byte, from int, inQuote bool) bool {
	for i := from; i < len(line); i++ {
		c := line[i]
		if inQuote {
			if c == opts.escape && opts.escape != opts.quote && i+1 < len(line) && (line[i+1] == opts.quote || line[i+1] == opts.escape) {
				i++
				continue
			}
			if c == opts.quote {
				inQuote = false
			}
			continue
		}
		if c == opts.quote {
			inQuote = true
		}
	}
	return inQuote
}

// escapedNewline reports whether the line, which ends with \n, has an odd
// number of backslashes before that newline.
func escapedNewline(line []byte) bool {
	n := 0
	for i := len(line) - 2; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// checkLine checks the line terminator style and the encoding of the line
// just read, and strips a \r of a \r\n terminator.
func (s *copySource) checkLine(terminated bool) error {
	if terminated {
		endsCR := len(s.line) > 0 && s.line[len(s.line)-1] == '\r'
		if s.crlf == nil {
			s.crlf = &endsCR
		}
		if *s.crlf {
			if !endsCR {
				return s.lineOnlyError(pgerror.New(pgcode.BadCopyFileFormat, "literal newline found in data").
					WithHint(`Use "\n" to represent newline.`))
			}
			s.line = s.line[:len(s.line)-1]
		}
	} else if s.crlf != nil && *s.crlf && len(s.line) > 0 && s.line[len(s.line)-1] == '\r' {
		s.line = s.line[:len(s.line)-1]
	}
	if !utf8.Valid(s.line) {
		return s.lineOnlyError(invalidUTF8(s.line))
	}
	if s.opts.format == copyText && bytes.IndexByte(s.line, '\r') >= 0 {
		// NOTE: PostgreSQL also accepts lines that end with a bare \r;
		// pgkeep reads \n and \r\n line ends only.
		return s.lineError(pgerror.New(pgcode.BadCopyFileFormat, "literal carriage return found in data").
			WithHint(`Use "\r" to represent carriage return.`))
	}
	return nil
}

// invalidUTF8 returns PostgreSQL's error for the first invalid byte of b.
func invalidUTF8(b []byte) *pgerror.Error {
	for len(b) > 0 {
		if b[0] == 0 {
			return pgerror.New(pgcode.CharacterNotInRepertoire, `invalid byte sequence for encoding "UTF8": 0x00`)
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return pgerror.Newf(pgcode.CharacterNotInRepertoire, `invalid byte sequence for encoding "UTF8": 0x%02x`, b[0])
		}
		b = b[size:]
	}
	return pgerror.New(pgcode.CharacterNotInRepertoire, `invalid byte sequence for encoding "UTF8"`)
}

// splitFields splits s.line into the fields of one row.
func (s *copySource) splitFields() error {
	fields, nulls, err := s.scanFields(false)
	if err != nil {
		return err
	}
	if s.finished && len(s.line) == 0 {
		return nil
	}
	if len(fields) > len(s.names) {
		return s.lineError(pgerror.New(pgcode.BadCopyFileFormat, "extra data after last expected column"))
	}
	// convertFields reports a missing column after converting the present
	// ones, in PostgreSQL's order.
	s.present = len(fields)
	copy(s.fields, fields)
	copy(s.isNull, nulls)
	return nil
}

// scanFields returns the fields of s.line and which of them are NULL. In
// text format it also finds the end-of-data marker \. , which cuts the line
// and ends the data.
func (s *copySource) scanFields(header bool) ([][]byte, []bool, error) {
	if s.opts.format == copyCSV {
		if !header && string(s.line) == `\.` {
			s.finished = true
			s.line = s.line[:0]
			return nil, nil, nil
		}
		return s.scanCSV(header)
	}
	return s.scanText()
}

func (s *copySource) scanText() ([][]byte, []bool, error) {
	line := s.line
	delim := s.opts.delimiter
	var fields [][]byte
	var nulls []bool
	// A line holding only an end-of-data marker has no fields.
	for i := 0; i < len(line); i++ {
		if line[i] != '\\' {
			continue
		}
		if i+1 < len(line) && line[i+1] == '.' {
			if i+2 != len(line) || !s.terminated {
				return nil, nil, s.lineOnlyError(pgerror.New(pgcode.BadCopyFileFormat, "end-of-copy marker corrupt"))
			}
			s.finished = true
			line = line[:i]
			s.line = line
			if len(line) == 0 {
				return nil, nil, nil
			}
			break
		}
		i++
	}

	start := 0
	for {
		end := start
		for end < len(line) && line[end] != delim {
			if line[end] == '\\' {
				end++
			}
			end++
		}
		if end > len(line) {
			end = len(line)
		}
		raw := line[start:end]
		if string(raw) == s.opts.null {
			fields, nulls = append(fields, nil), append(nulls, true)
		} else {
			value, err := unescapeText(raw)
			if err != nil {
				return nil, nil, s.lineError(err)
			}
			fields, nulls = append(fields, value), append(nulls, false)
		}
		if end >= len(line) {
			return fields, nulls, nil
		}
		start = end + 1
	}
}

// unescapeText resolves the backslash escapes of one text-format field.
// They are \b \f \n \r \t \v, a backslash with 1 to 3 octal digits, \x with
// 1 or 2 hex digits, and a backslash before any other character, which
// stands for that character.
func unescapeText(raw []byte) ([]byte, *pgerror.Error) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw, nil
	}
	out := make([]byte, 0, len(raw))
	numeric := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(raw) {
			// PostgreSQL drops a backslash at the end of a line.
			break
		}
		c = raw[i]
		switch {
		case c >= '0' && c <= '7':
			v := int(c - '0')
			for n := 1; n < 3 && i+1 < len(raw) && raw[i+1] >= '0' && raw[i+1] <= '7'; n++ {
				i++
				v = v*8 + int(raw[i]-'0')
			}
			out = append(out, byte(v))
			numeric = true
		case c == 'x' && i+1 < len(raw) && isHexDigit(raw[i+1]):
			i++
			v := hexValue(raw[i])
			if i+1 < len(raw) && isHexDigit(raw[i+1]) {
				i++
				v = v*16 + hexValue(raw[i])
			}
			out = append(out, byte(v))
			numeric = true
		case c == 'b':
			out = append(out, '\b')
		case c == 'f':
			out = append(out, '\f')
		case c == 'n':
			out = append(out, '\n')
		case c == 'r':
			out = append(out, '\r')
		case c == 't':
			out = append(out, '\t')
		case c == 'v':
			out = append(out, '\v')
		default:
			out = append(out, c)
		}
	}
	if numeric && (!utf8.Valid(out) || bytes.IndexByte(out, 0) >= 0) {
		return nil, invalidUTF8(out)
	}
	return out, nil
}

func isHexDigit(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexValue(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}

func (s *copySource) scanCSV(header bool) ([][]byte, []bool, error) {
	o := s.opts
	line := s.line
	var fields [][]byte
	var nulls []bool
	start := 0
	for {
		var value []byte
		quoted, inQuote := false, false
		i := start
	scan:
		for ; i < len(line); i++ {
			c := line[i]
			switch {
			case inQuote:
				if c == o.escape && i+1 < len(line) && (line[i+1] == o.quote || line[i+1] == o.escape) {
					i++
					value = append(value, line[i])
				} else if c == o.quote {
					inQuote = false
				} else {
					value = append(value, c)
				}
			case c == o.delimiter:
				break scan
			case c == o.quote:
				inQuote, quoted = true, true
			case c == '\r':
				return nil, nil, s.lineError(pgerror.New(pgcode.BadCopyFileFormat, "unquoted carriage return found in data").
					WithHint("Use quoted CSV field to represent carriage return."))
			default:
				value = append(value, c)
			}
		}
		if inQuote {
			return nil, nil, s.lineError(pgerror.New(pgcode.BadCopyFileFormat, "unterminated CSV quoted field"))
		}
		raw := line[start:i]
		col := len(fields)
		isNull := false
		switch {
		case header:
		case !quoted && string(raw) == o.null:
			isNull = col >= len(o.forceNotNull) || !o.forceNotNull[col]
		case quoted && col < len(o.forceNull) && o.forceNull[col] && string(value) == o.null:
			isNull = true
		}
		if value == nil {
			value = []byte{}
		}
		fields, nulls = append(fields, value), append(nulls, isNull)
		if i >= len(line) {
			return fields, nulls, nil
		}
		start = i + 1
	}
}

// convertFields converts the text fields of a row to values of the copied
// columns.
func (s *copySource) convertFields() ([]any, error) {
	for i := range s.names {
		if i >= s.present {
			return nil, s.lineError(pgerror.Newf(pgcode.BadCopyFileFormat, "missing data for column \"%s\"", s.names[i]))
		}
		if s.isNull[i] {
			s.vals[i] = nil
			continue
		}
		v, err := parseDatum(string(s.fields[i]), s.types[i], s.loc)
		if err != nil {
			return nil, s.columnError(err, i, s.fields[i])
		}
		s.vals[i] = v
	}
	return s.vals, nil
}

// nextBinary reads one tuple of the binary format.
func (s *copySource) nextBinary() ([]any, error) {
	if !s.started {
		s.started = true
		if err := s.readBinaryHeader(); err != nil {
			return nil, err
		}
	}
	s.lineNo++
	var count int16
	if err := binary.Read(s.in, binary.BigEndian, &count); err != nil {
		if errors.Is(err, io.EOF) {
			// PostgreSQL accepts data that ends without the trailer.
			s.finished = true
			return nil, nil
		}
		return nil, s.binaryReadError(err)
	}
	if count == -1 {
		s.finished = true
		if _, err := s.in.ReadByte(); err == nil {
			return nil, s.lineError(pgerror.New(pgcode.BadCopyFileFormat, "received copy data after EOF marker"))
		} else if !errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, nil
	}
	if int(count) != len(s.names) {
		return nil, s.lineError(pgerror.Newf(pgcode.BadCopyFileFormat, "row field count is %d, expected %d", count, len(s.names)))
	}
	var field bytes.Buffer
	for i := range s.names {
		var size int32
		if err := binary.Read(s.in, binary.BigEndian, &size); err != nil {
			return nil, s.binaryReadError(err)
		}
		if size == -1 {
			s.vals[i] = nil
			continue
		}
		if size < -1 || size > maxCopyFieldSize {
			return nil, s.columnError(pgerror.New(pgcode.BadCopyFileFormat, "invalid field size"), i, nil)
		}
		// CopyN grows the buffer only as data arrives, so a bogus length
		// cannot make the server allocate it up front.
		field.Reset()
		if _, err := io.CopyN(&field, s.in, int64(size)); err != nil {
			return nil, s.binaryReadError(err)
		}
		v, err := s.decodeBinary(field.Bytes(), s.types[i])
		if err != nil {
			return nil, s.columnError(err, i, nil)
		}
		s.vals[i] = v
	}
	return s.vals, nil
}

func (s *copySource) readBinaryHeader() error {
	sig := make([]byte, len(binarySignature))
	if _, err := io.ReadFull(s.in, sig); err != nil || !bytes.Equal(sig, binarySignature) {
		return pgerror.New(pgcode.BadCopyFileFormat, "COPY file signature not recognized")
	}
	var flags, extension uint32
	if err := binary.Read(s.in, binary.BigEndian, &flags); err != nil {
		return pgerror.New(pgcode.BadCopyFileFormat, "invalid COPY file header (missing flags)")
	}
	if flags&(1<<16) != 0 {
		return pgerror.New(pgcode.BadCopyFileFormat, "invalid COPY file header (WITH OIDS)")
	}
	if flags&0xffff0000 != 0 {
		return pgerror.New(pgcode.BadCopyFileFormat, "unrecognized critical flags in COPY file header")
	}
	if err := binary.Read(s.in, binary.BigEndian, &extension); err != nil {
		return pgerror.New(pgcode.BadCopyFileFormat, "invalid COPY file header (missing length)")
	}
	if extension > maxCopyFieldSize {
		return pgerror.New(pgcode.BadCopyFileFormat, "invalid COPY file header (wrong length)")
	}
	if _, err := io.CopyN(io.Discard, s.in, int64(extension)); err != nil {
		return pgerror.New(pgcode.BadCopyFileFormat, "invalid COPY file header (wrong length)")
	}
	return nil
}

func (s *copySource) binaryReadError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return s.lineError(pgerror.New(pgcode.BadCopyFileFormat, "unexpected EOF in COPY data"))
	}
	return err
}

// decodeBinary converts the binary form of a value of typ to a datum, as
// a binary parameter of the extended protocol is converted.
func (s *copySource) decodeBinary(data []byte, typ catalog.ColumnType) (any, error) {
	if isArrayType(typ.OID) {
		return s.decodeBinaryArray(data, typ)
	}
	var v any
	switch typ.OID {
	case oidText, oidVarchar, oidBpchar, oidName, oidJSON:
		if !utf8.Valid(data) {
			return nil, invalidUTF8(data)
		}
		v = string(data)
		if typ.OID == oidJSON {
			return parseDatum(string(data), typ, s.loc)
		}
	case oidJSONB:
		if len(data) == 0 || data[0] != 1 {
			return nil, pgerror.New(pgcode.InvalidBinaryRepresentation, "unsupported jsonb version number")
		}
		if !utf8.Valid(data[1:]) {
			return nil, invalidUTF8(data[1:])
		}
		return parseDatum(string(data[1:]), typ, s.loc)
	case oidBytea:
		v = bytes.Clone(data)
	default:
		pt, ok := s.typeMap.TypeForOID(typ.OID)
		if !ok {
			return nil, pgerror.NotSupported("binary COPY of type " + typeName(typ.OID))
		}
		decoded, err := pt.Codec.DecodeValue(s.typeMap, typ.OID, pgtype.BinaryFormatCode, data)
		if err != nil {
			return nil, pgerror.Wrapf(err, pgcode.InvalidBinaryRepresentation, "incorrect binary data format")
		}
		if v, err = normalizeParam(decoded, typ.OID, s.loc); err != nil {
			return nil, err
		}
	}
	return castDatum(v, typ.OID, typ, true, s.loc)
}

// lineError adds the COPY context of the current line to err, as
// PostgreSQL's CONTEXT line: COPY t, line 3: "...".
func (s *copySource) lineError(err *pgerror.Error) *pgerror.Error {
	if s.opts.format == copyBinary || s.line == nil {
		return err.WithWhere(fmt.Sprintf("COPY %s, line %d", s.table, s.lineNo))
	}
	return err.WithWhere(fmt.Sprintf("COPY %s, line %d: \"%s\"", s.table, s.lineNo, clipContext(s.line)))
}

// lineOnlyError adds the number of the current line to err, for errors
// that PostgreSQL finds before it has the line's text.
func (s *copySource) lineOnlyError(err *pgerror.Error) *pgerror.Error {
	return err.WithWhere(fmt.Sprintf("COPY %s, line %d", s.table, s.lineNo))
}

// columnError adds the context of a column's value to err: COPY t, line
// 3, column n: "abc". Binary values are not shown.
func (s *copySource) columnError(err error, col int, value []byte) error {
	var pe *pgerror.Error
	if !errors.As(err, &pe) {
		return err
	}
	where := fmt.Sprintf("COPY %s, line %d, column %s", s.table, s.lineNo, s.names[col])
	if s.opts.format != copyBinary {
		where += fmt.Sprintf(": \"%s\"", clipContext(value))
	}
	pe.Where = where
	return err
}

// rowError adds the context of the current line to an error of writing
// the row. Like PostgreSQL, a key violation names only the line number.
func (s *copySource) rowError(err error) error {
	var pe *pgerror.Error
	if !errors.As(err, &pe) || pe.Where != "" {
		return err
	}
	if pe.Code == pgcode.UniqueViolation {
		s.lineOnlyError(pe)
		return err
	}
	s.lineError(pe)
	return err
}

// clipContext shortens a value shown in an error context to 100 bytes,
// without splitting a character, as PostgreSQL does.
func clipContext(b []byte) string {
	const limit = 100
	if len(b) <= limit {
		return string(b)
	}
	n := limit
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "..."
}

// copyEncoder formats the rows of COPY TO.
type copyEncoder struct {
	opts    *copyOptions
	cols    []protocol.Column
	loc     *time.Location
	typeMap *pgtype.Map
	buf     []byte
}

func newCopyEncoder(opts *copyOptions, cols []protocol.Column, loc *time.Location) *copyEncoder {
	return &copyEncoder{opts: opts, cols: cols, loc: loc, typeMap: pgtype.NewMap()}
}

// header returns the data that precedes the rows: the binary header, or
// the column names under HEADER.
func (e *copyEncoder) header(names []string) []byte {
	switch {
	case e.opts.format == copyBinary:
		buf := append([]byte(nil), binarySignature...)
		return append(buf, 0, 0, 0, 0, 0, 0, 0, 0)
	case !e.opts.header:
		return nil
	}
	e.buf = e.buf[:0]
	for i, name := range names {
		if i > 0 {
			e.buf = append(e.buf, e.opts.delimiter)
		}
		if e.opts.format == copyCSV {
			e.buf = e.appendCSV(e.buf, name, false, len(names) == 1)
		} else {
			e.buf = e.appendText(e.buf, name)
		}
	}
	return append(e.buf, '\n')
}

// trailer returns the data that follows the rows.
func (e *copyEncoder) trailer() []byte {
	if e.opts.format == copyBinary {
		return []byte{0xff, 0xff}
	}
	return nil
}

// row returns the encoding of one row. The slice is reused by the next
// call.
func (e *copyEncoder) row(row []any) ([]byte, error) {
	e.buf = e.buf[:0]
	if e.opts.format == copyBinary {
		return e.binaryRow(row)
	}
	for i, v := range row {
		if i > 0 {
			e.buf = append(e.buf, e.opts.delimiter)
		}
		if v == nil {
			e.buf = append(e.buf, e.opts.null...)
			continue
		}
		text := e.text(v, e.cols[i].TypeOID)
		if e.opts.format == copyCSV {
			e.buf = e.appendCSV(e.buf, text, e.opts.forceQuote[i], len(row) == 1)
		} else {
			e.buf = e.appendText(e.buf, text)
		}
	}
	return append(e.buf, '\n'), nil
}

// text renders a value in its type's text output format.
func (e *copyEncoder) text(v any, oid uint32) string {
	if t, ok := v.(time.Time); ok && oid == oidTimestamptz {
		v = t.In(e.loc)
	}
	if a, ok := v.([]any); ok {
		return formatArray(a, arrayElem(oid), e.loc)
	}
	return formatDatum(v, oid)
}

// appendText appends a text-format field, escaping backslashes, the
// delimiter and the control characters that have a letter escape.
func (e *copyEncoder) appendText(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\v':
			buf = append(buf, '\\', 'v')
		default:
			if c == e.opts.delimiter {
				buf = append(buf, '\\')
			}
			buf = append(buf, c)
		}
	}
	return buf
}

// appendCSV appends a CSV field. It is quoted when forced, when it equals
// the NULL string, when it contains the delimiter, the quote, the escape
// or a line break, and when it is \. alone in a one-column row, which
// would read back as the end-of-data marker.
func (e *copyEncoder) appendCSV(buf []byte, s string, force, single bool) []byte {
	o := e.opts
	quote := force || s == o.null || (single && s == `\.`)
	for i := 0; !quote && i < len(s); i++ {
		c := s[i]
		quote = c == o.delimiter || c == o.quote || c == '\n' || c == '\r'
	}
	if !quote {
		return append(buf, s...)
	}
	buf = append(buf, o.quote)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == o.quote || c == o.escape {
			buf = append(buf, o.escape)
		}
		buf = append(buf, c)
	}
	return append(buf, o.quote)
}

// binaryRow encodes a tuple of the binary format.
func (e *copyEncoder) binaryRow(row []any) ([]byte, error) {
	buf := binary.BigEndian.AppendUint16(e.buf, uint16(len(row)))
	for i, v := range row {
		if v == nil {
			buf = binary.BigEndian.AppendUint32(buf, 0xffffffff)
			continue
		}
		lenPos := len(buf)
		buf = append(buf, 0, 0, 0, 0)
		if d, ok := v.(*apd.Decimal); ok {
			buf = appendNumericBinary(buf, d)
			binary.BigEndian.PutUint32(buf[lenPos:], uint32(len(buf)-lenPos-4))
			continue
		}
		oid := e.cols[i].TypeOID
		if a, ok := v.([]any); ok {
			v = newWireArray(a, arrayElem(oid), e.loc)
		}
		out, err := e.typeMap.Encode(oid, pgtype.BinaryFormatCode, v, buf)
		if err != nil {
			return nil, pgerror.Internal("encoding column %q (type OID %d): %v", e.cols[i].Name, oid, err)
		}
		if out == nil {
			buf = binary.BigEndian.AppendUint32(buf[:lenPos], 0xffffffff)
			continue
		}
		buf = out
		binary.BigEndian.PutUint32(buf[lenPos:], uint32(len(buf)-lenPos-4))
	}
	e.buf = buf
	return buf, nil
}

// appendNumericBinary appends the binary form of a numeric as PostgreSQL
// sends it: digit count, weight, sign and display scale, then base-10000
// digits without leading or trailing zero digits. pgtype keeps trailing
// zero digits, which decode to the same value but differ byte for byte.
func appendNumericBinary(buf []byte, d *apd.Decimal) []byte {
	const (
		signPositive    = 0x0000
		signNegative    = 0x4000
		signNaN         = 0xC000
		signInfinity    = 0xD000
		signNegInfinity = 0xF000
	)
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return append(buf, 0, 0, 0, 0, byte(signNaN>>8), 0, 0, 0)
	case apd.Infinite:
		sign := signInfinity
		if d.Negative {
			sign = signNegInfinity
		}
		return append(buf, 0, 0, 0, 0, byte(sign>>8), 0, 0, 0)
	}

	scale := 0
	if d.Exponent < 0 {
		scale = int(-d.Exponent)
	}
	// Split the decimal digits at the point and pad both parts to whole
	// groups of four.
	coeff := d.Coeff.String()
	var intPart, fracPart string
	if d.Exponent >= 0 {
		intPart = coeff + strings.Repeat("0", int(d.Exponent))
	} else {
		if len(coeff) <= scale {
			coeff = strings.Repeat("0", scale-len(coeff)+1) + coeff
		}
		intPart, fracPart = coeff[:len(coeff)-scale], coeff[len(coeff)-scale:]
	}
	if r := len(intPart) % 4; r != 0 {
		intPart = strings.Repeat("0", 4-r) + intPart
	}
	if r := len(fracPart) % 4; r != 0 {
		fracPart += strings.Repeat("0", 4-r)
	}
	all := intPart + fracPart
	groups := make([]uint16, 0, len(all)/4)
	for i := 0; i < len(all); i += 4 {
		v, _ := strconv.Atoi(all[i : i+4])
		groups = append(groups, uint16(v))
	}
	weight := len(intPart)/4 - 1
	for len(groups) > 0 && groups[0] == 0 {
		groups = groups[1:]
		weight--
	}
	for len(groups) > 0 && groups[len(groups)-1] == 0 {
		groups = groups[:len(groups)-1]
	}
	sign := signPositive
	if len(groups) == 0 {
		weight = 0
	} else if d.Negative {
		sign = signNegative
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(groups)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(sign))
	buf = binary.BigEndian.AppendUint16(buf, uint16(scale))
	for _, g := range groups {
		buf = binary.BigEndian.AppendUint16(buf, g)
	}
	return buf
}
