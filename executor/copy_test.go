package executor

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// CopyIn and CopyOut let recordingSink serve statements that are not COPY;
// copySink takes COPY data.
func (s *recordingSink) CopyIn(int16, []int16) (io.Reader, error) {
	return nil, pgerror.Internal("this test sink takes no COPY data")
}

func (s *recordingSink) CopyOut(int16, []int16) (io.WriteCloser, error) {
	return nil, pgerror.Internal("this test sink takes no COPY data")
}

// copySink feeds input to COPY FROM STDIN and collects COPY TO STDOUT.
type copySink struct {
	recordingSink
	input     io.Reader
	inFormat  int16
	out       bytes.Buffer
	outFormat int16
	// messages counts the CopyData messages of COPY TO.
	messages int
	closed   bool
}

func (s *copySink) CopyIn(format int16, columnFormats []int16) (io.Reader, error) {
	s.inFormat = format
	return s.input, nil
}

func (s *copySink) CopyOut(format int16, columnFormats []int16) (io.WriteCloser, error) {
	s.outFormat = format
	return s, nil
}

func (s *copySink) Write(p []byte) (int, error) {
	s.messages++
	return s.out.Write(p)
}

func (s *copySink) Close() error {
	s.closed = true
	return nil
}

// copyIn runs a COPY FROM STDIN with data and returns the error, or nil.
func copyIn(s *Session, sql, data string) *pgerror.Error {
	sink := &copySink{input: strings.NewReader(data)}
	err := s.ExecSimple(context.Background(), sql, sink)
	if err == nil {
		return nil
	}
	pe, _ := pgerror.Flatten(err)
	return pe
}

// copyOut runs a COPY TO STDOUT and returns what it wrote.
func copyOut(t *testing.T, s *Session, sql string) string {
	t.Helper()
	sink := &copySink{}
	if err := s.ExecSimple(context.Background(), sql, sink); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if !sink.closed {
		t.Fatalf("%s: CopyDone was not sent", sql)
	}
	return sink.out.String()
}

func newCopyTestSession(t *testing.T) *Session {
	t.Helper()
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 7, s text, d date)")
	return s
}

func TestCopyFromTextEscapesAndDefaults(t *testing.T) {
	s := newCopyTestSession(t)
	data := "1\ta\\tb\\\\c\t2020-01-02\n" +
		"2\t\\N\t\\N\n" +
		"3\t\\x41\\101\\n\\q\t\\N\n" +
		"4\tcol\\\tsep\t\\N\n"
	if err := copyIn(s, "COPY t (id, s, d) FROM STDIN", data); err != nil {
		t.Fatalf("COPY: %v", err)
	}
	expectLines(t, run(t, s, "SELECT id, n, s, d FROM t ORDER BY id"),
		"cols: id,n,s,d",
		"1|7|a\tb\\c|2020-01-02",
		"2|7|NULL|NULL",
		"3|7|AA\nq|NULL",
		"4|7|col\tsep|NULL",
		"tag: SELECT 4")
}

func TestCopyFromTag(t *testing.T) {
	s := newCopyTestSession(t)
	sink := &copySink{input: strings.NewReader("1\t2\tx\t\\N\r\n2\t3\ty\t\\N\r\n")}
	if err := s.ExecSimple(context.Background(), "COPY t FROM STDIN", sink); err != nil {
		t.Fatal(err)
	}
	expectLines(t, sink.lines, "tag: COPY 2")
	if sink.inFormat != 0 {
		t.Fatalf("CopyInResponse format %d, want 0", sink.inFormat)
	}
}

func TestCopyFromEndMarker(t *testing.T) {
	s := newCopyTestSession(t)
	if err := copyIn(s, "COPY t (id) FROM STDIN", "1\n2\n\\.\n3\n"); err != nil {
		t.Fatalf("COPY: %v", err)
	}
	expectLines(t, run(t, s, "SELECT count(*) FROM t"), "cols: count", "2", "tag: SELECT 1")

	err := copyIn(s, "COPY t (id) FROM STDIN", "5\\.x\n")
	if err == nil || err.Code != pgcode.BadCopyFileFormat || err.Message != "end-of-copy marker corrupt" {
		t.Fatalf("got %v, want 22P04 end-of-copy marker corrupt", err)
	}
}

func TestCopyFromBadRowRollsBack(t *testing.T) {
	s := newCopyTestSession(t)
	err := copyIn(s, "COPY t FROM STDIN", "1\t1\ta\t\\N\n2\tabc\tb\t\\N\n3\t3\tc\t\\N\n")
	if err == nil {
		t.Fatal("COPY with a bad row succeeded")
	}
	if err.Code != pgcode.InvalidTextRepresentation {
		t.Fatalf("code %s, want 22P02", err.Code)
	}
	if err.Where != `COPY t, line 2, column n: "abc"` {
		t.Fatalf("where %q", err.Where)
	}
	expectLines(t, run(t, s, "SELECT count(*) FROM t"), "cols: count", "0", "tag: SELECT 1")

	// Inside a transaction block the failure aborts the block.
	run(t, s, "BEGIN")
	if err := copyIn(s, "COPY t FROM STDIN", "1\t1\ta\t\\N\n1\t2\tb\t\\N\n"); err == nil || err.Code != pgcode.UniqueViolation || err.Where != "COPY t, line 2" {
		t.Fatalf("got %+v, want 23505 at line 2", err)
	}
	if s.TxnStatus() != 'E' {
		t.Fatalf("transaction status %c, want E", s.TxnStatus())
	}
	run(t, s, "ROLLBACK")
	expectLines(t, run(t, s, "SELECT count(*) FROM t"), "cols: count", "0", "tag: SELECT 1")
}

func TestCopyFromFormatErrors(t *testing.T) {
	s := newCopyTestSession(t)
	cases := []struct {
		name, sql, data string
		code            pgcode.Code
		message, where  string
	}{
		{"extra column", "COPY t FROM STDIN", "1\t2\tx\t\\N\t5\n", pgcode.BadCopyFileFormat,
			"extra data after last expected column", "COPY t, line 1: \"1\t2\tx\t\\N\t5\""},
		{"missing column", "COPY t FROM STDIN", "1\t2\n", pgcode.BadCopyFileFormat,
			`missing data for column "s"`, "COPY t, line 1: \"1\t2\""},
		{"not null", "COPY t FROM STDIN", "1\t\\N\tx\t\\N\n", pgcode.NotNullViolation,
			`null value in column "n" of relation "t" violates not-null constraint`, "COPY t, line 1: \"1\t\\N\tx\t\\N\""},
		{"bad date", "COPY t (id, d) FROM STDIN", "1\t2020-01-01\n2\tnope\n", pgcode.InvalidDatetimeFormat,
			"", `COPY t, line 2, column d: "nope"`},
		{"invalid utf8 escape", "COPY t (id, s) FROM STDIN", "1\t\\xff\n", pgcode.CharacterNotInRepertoire,
			`invalid byte sequence for encoding "UTF8": 0xff`, `COPY t, line 1: "1	\xff"`},
		{"unterminated quote", "COPY t (id, s) FROM STDIN (FORMAT csv)", "1,\"abc\n", pgcode.BadCopyFileFormat,
			"unterminated CSV quoted field", ""},
		{"binary signature", "COPY t (id) FROM STDIN (FORMAT binary)", "PGCOPY\nxx", pgcode.BadCopyFileFormat,
			"COPY file signature not recognized", ""},
		{"csv null with crlf", "COPY t (id) FROM STDIN (FORMAT csv)", "1\r\n2\n", pgcode.BadCopyFileFormat,
			"literal newline found in data", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := copyIn(s, tc.sql, tc.data)
			if err == nil {
				t.Fatal("COPY succeeded")
			}
			if err.Code != tc.code {
				t.Fatalf("code %s (%s), want %s", err.Code, err.Message, tc.code)
			}
			if tc.message != "" && err.Message != tc.message {
				t.Fatalf("message %q, want %q", err.Message, tc.message)
			}
			if tc.where != "" && err.Where != tc.where {
				t.Fatalf("where %q, want %q", err.Where, tc.where)
			}
		})
	}
}

func TestCopyFromCSVOptions(t *testing.T) {
	s := newCopyTestSession(t)
	data := "id;s;d\n" +
		"1;\"semi;colon\";2021-03-04\n" +
		"2;\"multi\nline \"\"quoted\"\"\";NULL\n" +
		"3;;NULL\n" +
		"4;\"NULL\";NULL\n"
	err := copyIn(s, "COPY t (id, s, d) FROM STDIN WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'NULL', FORCE_NOT_NULL (s))", data)
	if err != nil {
		t.Fatalf("COPY: %v", err)
	}
	expectLines(t, run(t, s, "SELECT id, s IS NULL, s, d FROM t ORDER BY id"),
		"cols: id,?column?,s,d",
		"1|f|semi;colon|2021-03-04",
		"2|f|multi\nline \"quoted\"|NULL",
		"3|f||NULL",
		"4|f|NULL|NULL",
		"tag: SELECT 4")

	// FORCE_NULL turns a quoted NULL string into NULL too; ESCAPE sets
	// the character that escapes a quote inside quotes.
	run(t, s, "DELETE FROM t")
	err = copyIn(s, `COPY t (id, s) FROM STDIN (FORMAT csv, FORCE_NULL (s), ESCAPE '\')`, "1,\"\"\n2,\"a\\\"b\"\n3,\n")
	if err != nil {
		t.Fatalf("COPY: %v", err)
	}
	expectLines(t, run(t, s, "SELECT id, s IS NULL, s FROM t ORDER BY id"),
		"cols: id,?column?,s", "1|t|NULL", "2|f|a\"b", "3|t|NULL", "tag: SELECT 3")
}

func TestCopyHeaderMatch(t *testing.T) {
	s := newCopyTestSession(t)
	if err := copyIn(s, "COPY t (id, s) FROM STDIN (FORMAT csv, HEADER match)", "id,s\n1,x\n"); err != nil {
		t.Fatalf("COPY: %v", err)
	}
	err := copyIn(s, "COPY t (id, s) FROM STDIN (FORMAT csv, HEADER match)", "id,x\n2,y\n")
	if err == nil || err.Code != pgcode.BadCopyFileFormat || !strings.Contains(err.Message, `got "x", expected "s"`) {
		t.Fatalf("got %v, want a header mismatch", err)
	}
}

func TestCopyToFormats(t *testing.T) {
	s := newCopyTestSession(t)
	run(t, s, "INSERT INTO t VALUES (1, 2, 'tab\there, \"q\"', '2020-01-02'), (2, 3, NULL, NULL), (3, 4, '', NULL), (4, 5, 'back\\slash'||chr(10), NULL)")

	expectText := "1\t2\ttab\\there, \"q\"\t2020-01-02\n" +
		"2\t3\t\\N\t\\N\n" +
		"3\t4\t\t\\N\n" +
		"4\t5\tback\\\\slash\\n\t\\N\n"
	if got := copyOut(t, s, "COPY t TO STDOUT"); got != expectText {
		t.Fatalf("text:\n%q\nwant\n%q", got, expectText)
	}

	expectCSV := "id,n,s,d\n" +
		"1,2,\"tab\there, \"\"q\"\"\",2020-01-02\n" +
		"2,3,,\n" +
		"3,4,\"\",\n" +
		"4,5,\"back\\slash\n\",\n"
	if got := copyOut(t, s, "COPY t TO STDOUT WITH (FORMAT csv, HEADER)"); got != expectCSV {
		t.Fatalf("csv:\n%q\nwant\n%q", got, expectCSV)
	}

	expectQuoted := "\"1\",\"x\"\n"
	if got := copyOut(t, s, "COPY (SELECT 1 AS a, 'x' AS b) TO STDOUT (FORMAT csv, FORCE_QUOTE *)"); got != expectQuoted {
		t.Fatalf("force quote: %q, want %q", got, expectQuoted)
	}
	if got := copyOut(t, s, "COPY (SELECT id FROM t WHERE id > 2 ORDER BY id) TO STDOUT"); got != "3\n4\n" {
		t.Fatalf("query: %q", got)
	}
	if got := copyOut(t, s, "COPY t (s, id) TO STDOUT (DELIMITER '|', NULL 'none')"); !strings.HasPrefix(got, "tab\\there, \"q\"|1\nnone|2\n") {
		t.Fatalf("column list: %q", got)
	}
}

func TestCopyBinaryRoundTrip(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE src (id bigint PRIMARY KEY, i2 smallint, f float8, r real, num numeric(10,2), b bool, txt varchar(10), by bytea, ts timestamptz, j jsonb, u uuid)")
	run(t, s, "CREATE TABLE dst (id bigint PRIMARY KEY, i2 smallint, f float8, r real, num numeric(10,2), b bool, txt varchar(10), by bytea, ts timestamptz, j jsonb, u uuid)")
	run(t, s, `INSERT INTO src VALUES
		(1, -3, 1.5, 2.25, 12.34, true, 'héllo', '\xdead', '2024-05-06 07:08:09+00', '{"b": 1, "a": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
		(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)

	sink := &copySink{}
	if err := s.ExecSimple(context.Background(), "COPY src TO STDOUT (FORMAT binary)", sink); err != nil {
		t.Fatal(err)
	}
	if sink.outFormat != 1 {
		t.Fatalf("CopyOutResponse format %d, want 1", sink.outFormat)
	}
	data := sink.out.Bytes()
	if !bytes.HasPrefix(data, binarySignature) || !bytes.HasSuffix(data, []byte{0xff, 0xff}) {
		t.Fatalf("binary output lacks the header or trailer: %q", data)
	}
	if err := copyIn(s, "COPY dst FROM STDIN (FORMAT binary)", string(data)); err != nil {
		t.Fatalf("COPY FROM binary: %v", err)
	}
	want := run(t, s, "SELECT * FROM src ORDER BY id")
	expectLines(t, run(t, s, "SELECT * FROM dst ORDER BY id"), want...)

	// A tuple with the wrong field count is rejected.
	bad := append(append([]byte(nil), data[:19]...), 0, 1, 0, 0, 0, 1, '7', 0xff, 0xff)
	err := copyIn(s, "COPY dst FROM STDIN (FORMAT binary)", string(bad))
	if err == nil || err.Code != pgcode.BadCopyFileFormat || err.Message != "row field count is 1, expected 11" {
		t.Fatalf("got %v, want a field count error", err)
	}
}

func TestCopyOptionErrors(t *testing.T) {
	s := newCopyTestSession(t)
	cases := []struct {
		sql     string
		code    pgcode.Code
		message string
	}{
		{"COPY t TO STDOUT (FORMAT binary, HEADER)", pgcode.SyntaxError, "cannot specify HEADER in BINARY mode"},
		{"COPY t FROM STDIN (FORMAT csv, FORCE_QUOTE *)", pgcode.FeatureNotSupported, "COPY force quote only available using COPY TO"},
		{"COPY t TO STDOUT (FORMAT xml)", pgcode.InvalidParameterValue, `COPY format "xml" not recognized`},
		{"COPY t TO STDOUT (FORMAT csv, FORMAT text)", pgcode.SyntaxError, "conflicting or redundant options"},
		{"COPY t TO STDOUT (QUOTE '\"')", pgcode.FeatureNotSupported, "COPY quote available only in CSV mode"},
		{"COPY t TO STDOUT (DELIMITER 'ab')", pgcode.FeatureNotSupported, "COPY delimiter must be a single one-byte character"},
		{"COPY t TO STDOUT (BOGUS 1)", pgcode.SyntaxError, `option "bogus" not recognized`},
		{"COPY t (nope) TO STDOUT", pgcode.UndefinedColumn, `column "nope" of relation "t" does not exist`},
		{"COPY (INSERT INTO t VALUES (9)) TO STDOUT", pgcode.FeatureNotSupported, "COPY query must have a RETURNING clause"},
	}
	for _, tc := range cases {
		e := runErr(t, s, tc.sql)
		if e.Code != tc.code || e.Message != tc.message {
			t.Errorf("%s: got %s %q, want %s %q", tc.sql, e.Code, e.Message, tc.code, tc.message)
		}
	}
}

func TestCopyServerFileNeedsSystemRole(t *testing.T) {
	f := newAccessFixture(t)
	for _, user := range []string{"alice", "svc", "ops"} {
		for _, sql := range []string{"COPY shared_public FROM '/etc/passwd'", "COPY shared_public TO '/tmp/out'", "COPY shared_public TO PROGRAM 'cat'"} {
			if got := f.exec(user, sql); got != string(pgcode.InsufficientPrivilege) {
				t.Errorf("%s as %s: got %s, want 42501", sql, user, got)
			}
		}
	}
	e := runErr(t, f.sessions["ops"], "COPY shared_public FROM '/etc/passwd'")
	if e.Message != "permission denied to COPY to or from a file" || e.Hint == "" {
		t.Fatalf("got %q hint %q", e.Message, e.Hint)
	}
	if got := f.exec("root", "COPY shared_public FROM '/etc/passwd'"); got != string(pgcode.FeatureNotSupported) {
		t.Fatalf("root: got %s, want 0A000", got)
	}
}

func TestCopyPerUserTableAndAccess(t *testing.T) {
	f := newAccessFixture(t)
	if err := copyIn(f.sessions["alice"], "COPY notes FROM STDIN", "1\tfrom alice\n2\talso alice\n"); err != nil {
		t.Fatalf("alice: %v", err)
	}
	if err := copyIn(f.sessions["bob"], "COPY notes FROM STDIN", "1\tfrom bob\n"); err != nil {
		t.Fatalf("bob: %v", err)
	}
	expectLines(t, f.query(t, "ops", "SELECT _user, id, body FROM notes ORDER BY _user, id"),
		"alice|1|from alice", "alice|2|also alice", "bob|1|from bob")
	if got := copyOut(t, f.sessions["bob"], "COPY notes TO STDOUT"); got != "1\tfrom bob\n" {
		t.Fatalf("bob reads %q", got)
	}

	// A user may not write a restricted shared table, with COPY either.
	if err := copyIn(f.sessions["alice"], "COPY shared_restricted FROM STDIN", "2\tx\n"); err == nil || err.Code != pgcode.InsufficientPrivilege {
		t.Fatalf("alice into shared_restricted: got %v, want 42501", err)
	}
	if got := f.exec("alice", "COPY shared_restricted TO STDOUT"); got != string(pgcode.InsufficientPrivilege) {
		t.Fatalf("alice from shared_restricted: got %s, want 42501", got)
	}
}

func TestCopyExtendedProtocol(t *testing.T) {
	s := newCopyTestSession(t)
	ctx := context.Background()
	ps, err := s.Prepare(ctx, "COPY t (id, s) FROM STDIN (FORMAT csv)", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Columns() != nil {
		t.Fatalf("COPY describes columns %v", ps.Columns())
	}
	portal, err := s.Bind(ctx, ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := &copySink{input: strings.NewReader("1,a\n2,b\n")}
	if _, err := portal.Execute(ctx, sink, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	expectLines(t, sink.lines, "tag: COPY 2")
	expectLines(t, run(t, s, "SELECT id, s FROM t ORDER BY id"), "cols: id,s", "1|a", "2|b", "tag: SELECT 2")
}

func TestCopyFromWhere(t *testing.T) {
	s := newCopyTestSession(t)
	if err := copyIn(s, "COPY t (id) FROM STDIN WHERE id % 2 = 0", "1\n2\n3\n4\n"); err != nil {
		t.Fatal(err)
	}
	expectLines(t, run(t, s, "SELECT id, n FROM t ORDER BY id"), "cols: id,n", "2|7", "4|7", "tag: SELECT 2")
}

func TestNumericBinaryMatchesPostgres(t *testing.T) {
	// The expected bytes are what PostgreSQL 15 sends for numeric(12,3)
	// values in binary COPY.
	cases := []struct {
		in   string
		want []byte
	}{
		{"0.000", []byte{0, 0, 0, 0, 0, 0, 0, 3}},
		{"12.500", []byte{0, 2, 0, 0, 0, 0, 0, 3, 0, 12, 0x13, 0x88}},
		{"-0.001", []byte{0, 1, 0xff, 0xff, 0x40, 0, 0, 3, 0, 10}},
		{"1000000.000", []byte{0, 1, 0, 1, 0, 0, 0, 3, 0, 100}},
		{"NaN", []byte{0, 0, 0, 0, 0xc0, 0, 0, 0}},
	}
	for _, tc := range cases {
		d, _, err := apd.NewFromString(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendNumericBinary(nil, d); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: got % x, want % x", tc.in, got, tc.want)
		}
	}
}

func TestCopyFromChecksConstraints(t *testing.T) {
	s := newCopyTestSession(t)
	run(t, s, "CREATE TABLE child (id int PRIMARY KEY, parent int REFERENCES t, qty int CHECK (qty > 0))")
	run(t, s, "INSERT INTO t (id) VALUES (1)")

	if err := copyIn(s, "COPY child FROM STDIN", "1\t1\t5\n2\t1\t-1\n"); err == nil || err.Code != "23514" {
		t.Errorf("row failing a CHECK: got %v, want 23514", err)
	}
	if err := copyIn(s, "COPY child FROM STDIN", "1\t1\t5\n2\t9\t5\n"); err == nil || err.Code != "23503" {
		t.Errorf("row with a missing parent: got %v, want 23503", err)
	}
	expectLines(t, run(t, s, "SELECT count(*) FROM child")[1:2], "0")

	if err := copyIn(s, "COPY child FROM STDIN", "1\t1\t5\n2\t\\N\t3\n"); err != nil {
		t.Fatalf("valid rows: %v", err)
	}
	expectLines(t, run(t, s, "SELECT count(*) FROM child")[1:2], "2")
}

// COPY FREEZE loads a table created or truncated in the same transaction,
// as pgbench -i does, and fails on any other table as in PostgreSQL.
func TestCopyFreeze(t *testing.T) {
	s := newCopyTestSession(t)
	err := copyIn(s, "COPY t (id) FROM STDIN (FREEZE)", "1\n")
	if err == nil || err.Code != pgcode.ObjectNotInPrerequisiteState {
		t.Fatalf("COPY FREEZE outside a transaction: got %v, want 55000", err)
	}

	run(t, s, "BEGIN")
	run(t, s, "TRUNCATE t")
	if err := copyIn(s, "COPY t (id) FROM STDIN WITH (FREEZE ON)", "1\n2\n"); err != nil {
		t.Fatalf("COPY FREEZE after TRUNCATE: %v", err)
	}
	run(t, s, "COMMIT")
	expectLines(t, run(t, s, "SELECT count(*) FROM t"), "cols: count", "2", "tag: SELECT 1")

	run(t, s, "BEGIN")
	run(t, s, "CREATE TABLE fresh (id int)")
	if err := copyIn(s, "COPY fresh FROM STDIN (FREEZE)", "3\n"); err != nil {
		t.Fatalf("COPY FREEZE into a new table: %v", err)
	}
	run(t, s, "COMMIT")

	// The next transaction starts without the marks.
	run(t, s, "BEGIN")
	if err := copyIn(s, "COPY fresh FROM STDIN (FREEZE)", "4\n"); err == nil || err.Code != pgcode.ObjectNotInPrerequisiteState {
		t.Fatalf("COPY FREEZE in a later transaction: got %v, want 55000", err)
	}
	run(t, s, "ROLLBACK")
}
