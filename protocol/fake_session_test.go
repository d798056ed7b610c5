package protocol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// fakeSession is a Session that understands a tiny command language instead
// of SQL. Statements are separated by ';':
//
//	rows N      one int4 column "n" with the rows 1..N
//	insert      no rows, tag "INSERT 0 1"
//	conflict    no rows, tag "UPDATE 1"; the next Sync fails with 40001
//	begin, commit, rollback
//	fail        error 22012; inside a transaction block the status becomes 'E'
//	fatal       error 57P01 with severity FATAL
//	nocode      an error without a SQLSTATE
//	sleep       waits until the statement is canceled, then error 57014
//	panic       panics
//	notice      a NoticeResponse, tag "DO"
//	set NAME V  a ParameterStatus, tag "SET"
//	types       one row with a value of several types
//	echo T...   (extended only) one parameter per type name T, returned as
//	            one row whose columns have the parameter types
//	copyin      COPY FROM STDIN in text format: reads the client's data,
//	            keeps it for copied, tag "COPY n" for n lines
//	copyout N   COPY TO STDOUT of the lines 1..N, tag "COPY N"
//
// Anything else is a syntax error. An empty statement reports EmptyQuery.
type fakeSession struct {
	// harmless turns sleep and panic into syntax errors, for the fuzz
	// target.
	harmless bool

	mu struct {
		sync.Mutex
		status        byte
		closed        bool
		executed      []string
		portalsClosed int
		syncs         int
		conflict      bool
		copied        []byte
	}
}

func newFakeSession() *fakeSession {
	s := &fakeSession{}
	s.mu.status = 'I'
	return s
}

var _ Session = (*fakeSession)(nil)

func (s *fakeSession) TxnStatus() byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.status
}

// Sync fails with 40001 once after a "conflict" statement ran, like a commit
// conflict of an implicit transaction.
func (s *fakeSession) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.syncs++
	if s.mu.conflict {
		s.mu.conflict = false
		return pgerror.New(pgcode.SerializationFailure, "could not serialize access due to concurrent update")
	}
	return nil
}

func (s *fakeSession) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.closed = true
	s.mu.status = 'I'
}

func (s *fakeSession) closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.closed
}

func (s *fakeSession) executed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.mu.executed...)
}

func (s *fakeSession) portalsClosed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.portalsClosed
}

func (s *fakeSession) ExecSimple(ctx context.Context, query string, sink ResultSink) error {
	for _, stmt := range strings.Split(query, ";") {
		stmt = strings.TrimSpace(stmt)
		if handled, err := s.runCopy(stmt, sink); handled {
			if err != nil {
				return err
			}
			continue
		}
		cols, rows, tag, err := s.run(ctx, stmt, nil)
		if err != nil {
			return err
		}
		if tag == "" {
			if err := sink.EmptyQuery(); err != nil {
				return err
			}
			continue
		}
		if err := s.sendSideEffects(stmt, sink); err != nil {
			return err
		}
		if cols != nil {
			if err := sink.Describe(cols); err != nil {
				return err
			}
			for _, row := range rows {
				if err := sink.Row(row); err != nil {
					return err
				}
			}
		}
		if err := sink.Complete(tag); err != nil {
			return err
		}
	}
	return nil
}

// runCopy runs the statements copyin and copyout, which need the sink
// while they run. It reports whether stmt was one of them.
func (s *fakeSession) runCopy(stmt string, sink ResultSink) (bool, error) {
	fields := strings.Fields(stmt)
	if len(fields) == 0 || (fields[0] != "copyin" && fields[0] != "copyout") {
		return false, nil
	}
	s.mu.Lock()
	s.mu.executed = append(s.mu.executed, stmt)
	s.mu.Unlock()

	if fields[0] == "copyin" {
		r, err := sink.CopyIn(0, []int16{0})
		if err != nil {
			return true, err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return true, err
		}
		s.mu.Lock()
		s.mu.copied = append(s.mu.copied, data...)
		s.mu.Unlock()
		return true, sink.Complete(fmt.Sprintf("COPY %d", bytes.Count(data, []byte("\n"))))
	}

	n := 0
	if len(fields) > 1 {
		var err error
		if n, err = strconv.Atoi(fields[1]); err != nil {
			return true, pgerror.New(pgcode.SyntaxError, "copyout needs a number")
		}
	}
	w, err := sink.CopyOut(0, []int16{0})
	if err != nil {
		return true, err
	}
	for i := 1; i <= n; i++ {
		if _, err := fmt.Fprintf(w, "%d\n", i); err != nil {
			return true, err
		}
	}
	if err := w.Close(); err != nil {
		return true, err
	}
	return true, sink.Complete(fmt.Sprintf("COPY %d", n))
}

func (s *fakeSession) copied() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.mu.copied)
}

func (s *fakeSession) sendSideEffects(stmt string, sink ResultSink) error {
	fields := strings.Fields(stmt)
	switch {
	case stmt == "notice":
		return sink.Notice("NOTICE", "00000", "fake notice")
	case len(fields) == 3 && fields[0] == "set":
		return sink.ParameterStatus(fields[1], fields[2])
	}
	return nil
}

// run executes one statement and returns its columns (nil when it returns
// no rows), rows and command tag ("" for an empty statement).
func (s *fakeSession) run(ctx context.Context, stmt string, params []any) ([]Column, [][]any, string, error) {
	s.mu.Lock()
	s.mu.executed = append(s.mu.executed, stmt)
	s.mu.Unlock()

	fields := strings.Fields(stmt)
	if len(fields) == 0 {
		return nil, nil, "", nil
	}
	if s.harmless && (fields[0] == "sleep" || fields[0] == "panic") {
		fields[0] = "harmless-" + fields[0]
	}
	switch fields[0] {
	case "rows":
		n, err := -1, error(nil)
		if len(fields) > 1 {
			n, err = strconv.Atoi(fields[1])
		}
		if err != nil || n < 0 || n > 1_000_000 {
			return nil, nil, "", pgerror.New(pgcode.SyntaxError, "rows needs a number from 0 to 1000000")
		}
		rows := make([][]any, n)
		for i := range rows {
			rows[i] = []any{int32(i + 1)}
		}
		return []Column{{Name: "n", TypeOID: pgtype.Int4OID, TypeSize: 4, TypeModifier: -1}}, rows, fmt.Sprintf("SELECT %d", n), nil
	case "insert":
		return nil, nil, "INSERT 0 1", nil
	case "conflict":
		s.mu.Lock()
		s.mu.conflict = true
		s.mu.Unlock()
		return nil, nil, "UPDATE 1", nil
	case "begin":
		s.setStatus('T')
		return nil, nil, "BEGIN", nil
	case "commit":
		tag := "COMMIT"
		if s.TxnStatus() == 'E' {
			tag = "ROLLBACK"
		}
		s.setStatus('I')
		return nil, nil, tag, nil
	case "rollback":
		s.setStatus('I')
		return nil, nil, "ROLLBACK", nil
	case "fail":
		if s.TxnStatus() == 'T' {
			s.setStatus('E')
		}
		return nil, nil, "", pgerror.New(pgcode.DivisionByZero, "division by zero")
	case "fatal":
		return nil, nil, "", pgerror.New(pgcode.AdminShutdown, "fake fatal error").WithSeverity(pgerror.SeverityFatal)
	case "nocode":
		return nil, nil, "", errors.New("plain error")
	case "sleep":
		<-ctx.Done()
		return nil, nil, "", pgerror.New(pgcode.QueryCanceled, "canceling statement due to user request")
	case "panic":
		panic("fake panic")
	case "notice":
		return nil, nil, "DO", nil
	case "set":
		return nil, nil, "SET", nil
	case "types":
		return typesColumns, [][]any{typesRow()}, "SELECT 1", nil
	case "echo":
		cols, err := echoColumns(fields[1:])
		if err != nil {
			return nil, nil, "", err
		}
		return cols, [][]any{params}, "SELECT 1", nil
	}
	return nil, nil, "", pgerror.Newf(pgcode.SyntaxError, "syntax error at or near \"%s\"", fields[0]).WithPosition(1)
}

func (s *fakeSession) setStatus(status byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.status = status
}

var typesColumns = []Column{
	{Name: "i8", TypeOID: pgtype.Int8OID, TypeSize: 8, TypeModifier: -1},
	{Name: "b", TypeOID: pgtype.BoolOID, TypeSize: 1, TypeModifier: -1},
	{Name: "f", TypeOID: pgtype.Float8OID, TypeSize: 8, TypeModifier: -1},
	{Name: "t", TypeOID: pgtype.TextOID, TypeSize: -1, TypeModifier: -1},
	{Name: "ts", TypeOID: pgtype.TimestamptzOID, TypeSize: 8, TypeModifier: -1},
	{Name: "bytes", TypeOID: pgtype.ByteaOID, TypeSize: -1, TypeModifier: -1},
	{Name: "null", TypeOID: pgtype.TextOID, TypeSize: -1, TypeModifier: -1},
}

func typesRow() []any {
	return []any{
		int64(1) << 40,
		true,
		1.5,
		"héllo",
		time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		[]byte{0xde, 0xad},
		nil,
	}
}

func echoColumns(typeNames []string) ([]Column, error) {
	m := pgtype.NewMap()
	cols := make([]Column, len(typeNames))
	for i, name := range typeNames {
		typ, ok := m.TypeForName(name)
		if !ok {
			return nil, pgerror.Newf(pgcode.UndefinedObject, "type \"%s\" does not exist", name)
		}
		cols[i] = Column{Name: fmt.Sprintf("p%d", i+1), TypeOID: typ.OID, TypeSize: -1, TypeModifier: -1}
	}
	return cols, nil
}

func (s *fakeSession) Prepare(ctx context.Context, query string, paramOIDs []uint32) (PreparedStatement, error) {
	query = strings.TrimSpace(query)
	fields := strings.Fields(query)
	stmt := &fakeStatement{query: query}
	if len(fields) == 0 {
		return stmt, nil
	}

	switch fields[0] {
	case "echo":
		cols, err := echoColumns(fields[1:])
		if err != nil {
			return nil, err
		}
		stmt.cols = cols
		stmt.params = make([]uint32, len(cols))
		for i, col := range cols {
			stmt.params[i] = col.TypeOID
		}
	case "rows":
		stmt.cols = []Column{{Name: "n", TypeOID: pgtype.Int4OID, TypeSize: 4, TypeModifier: -1}}
	case "types":
		stmt.cols = typesColumns
	case "copyin", "copyout", "insert", "conflict", "begin", "commit", "rollback", "fail", "fatal", "nocode", "sleep", "panic", "notice", "set":
	default:
		return nil, pgerror.Newf(pgcode.SyntaxError, "syntax error at or near \"%s\"", fields[0]).WithPosition(1)
	}
	return stmt, nil
}

// Bind parses text parameters as a real session does, since the protocol
// hands them over as strings.
func (s *fakeSession) Bind(ctx context.Context, stmt PreparedStatement, params []any) (Portal, error) {
	fs := stmt.(*fakeStatement)
	m := pgtype.NewMap()
	for i, p := range params {
		text, ok := p.(string)
		if !ok || i >= len(fs.params) || fs.params[i] == pgtype.TextOID || fs.params[i] == 0 {
			continue
		}
		typ, known := m.TypeForOID(fs.params[i])
		if !known {
			continue
		}
		v, err := typ.Codec.DecodeValue(m, fs.params[i], pgtype.TextFormatCode, []byte(text))
		if err != nil {
			return nil, pgerror.Newf(pgcode.InvalidTextRepresentation, "invalid input syntax for type %s: %q", sqlTypeName(typ.Name), text)
		}
		params[i] = v
	}
	return &fakePortal{sess: s, stmt: fs, params: params}, nil
}

type fakeStatement struct {
	query  string
	params []uint32
	cols   []Column
}

func (s *fakeStatement) ParamOIDs() []uint32 { return s.params }
func (s *fakeStatement) Columns() []Column   { return s.cols }

type fakePortal struct {
	sess   *fakeSession
	stmt   *fakeStatement
	params []any

	// rows and next keep the position of a suspended execution.
	started bool
	rows    [][]any
	tag     string
	next    int
}

func (p *fakePortal) Columns() []Column { return p.stmt.cols }

func (p *fakePortal) Close() {
	p.sess.mu.Lock()
	defer p.sess.mu.Unlock()
	p.sess.mu.portalsClosed++
}

func (p *fakePortal) Execute(ctx context.Context, sink ResultSink, maxRows int) (bool, error) {
	if !p.started {
		p.started = true
		if handled, err := p.sess.runCopy(p.stmt.query, sink); handled {
			return false, err
		}
		_, rows, tag, err := p.sess.run(ctx, p.stmt.query, p.params)
		if err != nil {
			return false, err
		}
		if tag == "" {
			return false, sink.EmptyQuery()
		}
		if err := p.sess.sendSideEffects(p.stmt.query, sink); err != nil {
			return false, err
		}
		p.rows, p.tag = rows, tag
	}

	sent := 0
	for p.next < len(p.rows) {
		if maxRows > 0 && sent == maxRows {
			return true, nil
		}
		if err := sink.Row(p.rows[p.next]); err != nil {
			return false, err
		}
		p.next++
		sent++
	}
	return false, sink.Complete(p.tag)
}
