package node_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/server"
)

// oracleConnString returns the connection string of the PostgreSQL server
// that the COPY format comparison runs against. PGKEEP_COPY_ORACLE
// overrides it, and the comparison is skipped when the connection fails.
func oracleConnString() string {
	if s := os.Getenv("PGKEEP_COPY_ORACLE"); s != "" {
		return s
	}
	return "host=127.0.0.1 port=55432 user=oracle password=oracle dbname=oracle sslmode=disable"
}

// rootPsql runs psql commands as root over the unix socket.
func (tn *testNode) rootPsql(t *testing.T, args ...string) string {
	t.Helper()
	out, err := tn.psql([]string{"PGTZ=UTC"}, append([]string{"-h", tn.sockDir, "-p", strconv.Itoa(tn.port), "-U", "root", "-d", "postgres"}, args...)...)
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", args, err, out)
	}
	return out
}

func TestCopyPsqlFileRoundTrip(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	dir := t.TempDir()
	tn.rootPsql(t, "-c", "CREATE TABLE words (id int PRIMARY KEY, word text, note text DEFAULT 'none')")

	in := filepath.Join(dir, "in.txt")
	text := "1\tplain\tn1\n2\ttab\\there\t\\N\n3\tback\\\\slash\tline\\nbreak\n"
	if err := os.WriteFile(in, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := tn.rootPsql(t, "-c", `\copy words from '`+in+`'`); !strings.Contains(out, "COPY 3") {
		t.Fatalf("\\copy from: %q", out)
	}

	csvIn := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(csvIn, []byte("id,word\n4,\"comma, inside\"\n5,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := tn.rootPsql(t, "-c", `\copy words (id, word) from '`+csvIn+`' with (format csv, header)`); !strings.Contains(out, "COPY 2") {
		t.Fatalf("\\copy csv from: %q", out)
	}

	outFile := filepath.Join(dir, "out.txt")
	tn.rootPsql(t, "-c", `\copy words to '`+outFile+`'`)
	got, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	want := text + "4\tcomma, inside\tnone\n5\t\\N\tnone\n"
	if string(got) != want {
		t.Fatalf("\\copy to wrote\n%q\nwant\n%q", got, want)
	}
}

func TestCopyPgxBinaryManyRows(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	if _, err := conn.Exec(ctx, "CREATE TABLE bulk (id bigint PRIMARY KEY, name text NOT NULL, score float8, at timestamptz)"); err != nil {
		t.Fatal(err)
	}

	const rows = 100000
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"bulk"}, []string{"id", "name", "score", "at"},
		pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == rows {
					return nil, nil
				}
				i++
				var score any
				if i%10 != 0 {
					score = float64(i) / 4
				}
				return []any{int64(i), "name-" + strconv.Itoa(i), score, base.Add(time.Duration(i) * time.Second)}, nil
			}
		}()))
	if err != nil {
		t.Fatalf("CopyFrom: %v", err)
	}
	if n != rows {
		t.Fatalf("CopyFrom copied %d rows, want %d", n, rows)
	}

	var count, nulls int64
	var sumID int64
	if err := conn.QueryRow(ctx, "SELECT count(*), sum(id), count(*) - count(score) FROM bulk").Scan(&count, &sumID, &nulls); err != nil {
		t.Fatal(err)
	}
	if count != rows || sumID != rows*(rows+1)/2 || nulls != rows/10 {
		t.Fatalf("count %d, sum %d, nulls %d", count, sumID, nulls)
	}
	var name string
	var score float64
	var at time.Time
	if err := conn.QueryRow(ctx, "SELECT name, score, at FROM bulk WHERE id = 54321").Scan(&name, &score, &at); err != nil {
		t.Fatal(err)
	}
	if name != "name-54321" || score != 54321.0/4 || !at.Equal(base.Add(54321*time.Second)) {
		t.Fatalf("row 54321 = %q, %v, %v", name, score, at)
	}

	// Read everything back with COPY TO STDOUT.
	var out bytes.Buffer
	tag, err := conn.PgConn().CopyTo(ctx, &out, "COPY bulk TO STDOUT")
	if err != nil {
		t.Fatalf("CopyTo: %v", err)
	}
	if tag.String() != "COPY 100000" {
		t.Fatalf("CopyTo tag %q", tag)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != rows {
		t.Fatalf("CopyTo wrote %d lines, want %d", len(lines), rows)
	}
	if lines[9] != "10\tname-10\t\\N\t2024-01-01 00:00:10+00" {
		t.Fatalf("line 10 = %q", lines[9])
	}
}

func TestCopyTextAndCSVThroughPgconn(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword)).PgConn()
	if _, err := conn.Exec(ctx, "CREATE TABLE items (id int PRIMARY KEY, name text, qty int DEFAULT 1)").ReadAll(); err != nil {
		t.Fatal(err)
	}

	csv := "id;name\n1;\"semi;colon\"\n2;NULL\n3;\"multi\nline\"\n"
	tag, err := conn.CopyFrom(ctx, strings.NewReader(csv), "COPY items (id, name) FROM STDIN (FORMAT csv, HEADER, DELIMITER ';', NULL 'NULL')")
	if err != nil {
		t.Fatalf("CopyFrom csv: %v", err)
	}
	if tag.String() != "COPY 3" {
		t.Fatalf("tag %q", tag)
	}
	tag, err = conn.CopyFrom(ctx, strings.NewReader("4\tfour\t4\n"), "COPY items FROM STDIN")
	if err != nil || tag.String() != "COPY 1" {
		t.Fatalf("CopyFrom text: %q, %v", tag, err)
	}

	var out bytes.Buffer
	if _, err := conn.CopyTo(ctx, &out, "COPY (SELECT id, name, qty FROM items ORDER BY id) TO STDOUT (FORMAT csv, HEADER, FORCE_QUOTE (name))"); err != nil {
		t.Fatalf("CopyTo: %v", err)
	}
	want := "id,name,qty\n1,\"semi;colon\",1\n2,,1\n3,\"multi\nline\",1\n4,\"four\",4\n"
	if out.String() != want {
		t.Fatalf("CopyTo wrote\n%q\nwant\n%q", out.String(), want)
	}
}

func TestCopyBadRowAbortsEverything(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	if _, err := conn.Exec(ctx, "CREATE TABLE nums (id int PRIMARY KEY, n int)"); err != nil {
		t.Fatal(err)
	}

	var data strings.Builder
	for i := 1; i <= 20000; i++ {
		if i == 12345 {
			data.WriteString("12345\tnot-a-number\n")
			continue
		}
		fmt.Fprintf(&data, "%d\t%d\n", i, i*2)
	}
	_, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(data.String()), "COPY nums FROM STDIN")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("CopyFrom returned %v, want a server error", err)
	}
	if pgErr.Code != "22P02" {
		t.Fatalf("code %s, want 22P02", pgErr.Code)
	}
	if pgErr.Where != `COPY nums, line 12345, column n: "not-a-number"` {
		t.Fatalf("where %q", pgErr.Where)
	}

	var count int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM nums").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 0 {
		t.Fatalf("%d rows committed, want 0", count)
	}

	// The connection is still usable for another COPY.
	tag, err := conn.PgConn().CopyFrom(ctx, strings.NewReader("1\t1\n"), "COPY nums FROM STDIN")
	if err != nil || tag.String() != "COPY 1" {
		t.Fatalf("second COPY: %q, %v", tag, err)
	}

	// psql shows the failing line as CONTEXT.
	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("2\t2\n3\tx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := tn.psql(nil, "-h", tn.sockDir, "-p", strconv.Itoa(tn.port), "-U", "root", "-d", "postgres",
		"-c", `\copy nums from '`+bad+`'`)
	if err == nil {
		t.Fatalf("psql \\copy of a bad file succeeded: %s", out)
	}
	if !strings.Contains(out, `CONTEXT:  COPY nums, line 2, column n: "x"`) {
		t.Fatalf("psql output lacks the CONTEXT line:\n%s", out)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM nums").Scan(&count); err != nil || count != 1 {
		t.Fatalf("after the failed \\copy: %d rows, %v; want 1", count, err)
	}
}

func TestCopyPerUserTableOverTheWire(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	conns := setupRBAC(t, tn)

	tag, err := conns["alice"].PgConn().CopyFrom(ctx, strings.NewReader("10\tcopied by alice\n11\talso alice\n"), "COPY notes FROM STDIN")
	if err != nil || tag.String() != "COPY 2" {
		t.Fatalf("alice COPY: %q, %v", tag, err)
	}
	got := queryStrings(t, conns["ops"], "SELECT _user || ':' || id FROM notes WHERE id >= 10 ORDER BY id")
	if strings.Join(got, ",") != "alice:10,alice:11" {
		t.Fatalf("copied rows belong to %v, want alice", got)
	}
	var out bytes.Buffer
	if _, err := conns["bob"].PgConn().CopyTo(ctx, &out, "COPY notes TO STDOUT"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "1\tbob one\n2\tbob two\n" {
		t.Fatalf("bob's COPY TO wrote %q", out.String())
	}
}

func TestCopyServerFilePermissionDenied(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{"COPY t FROM '/etc/passwd'", "COPY t TO '/tmp/pgkeep-copy-out'", "COPY t FROM PROGRAM 'id'"} {
		_, err := conn.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Fatalf("%s: got %v, want 42501", sql, err)
		}
	}
	if _, err := os.Stat("/tmp/pgkeep-copy-out"); err == nil {
		t.Fatal("COPY TO a file created it")
	}
}

// copyFormatFixture creates the same table with awkward values on a server.
var copyFormatFixture = []string{
	"CREATE TABLE copyfmt (id int PRIMARY KEY, t text, f float8, n numeric(12,3), b bool, d date, ts timestamptz, by bytea, j jsonb, u uuid, tm time)",
	`INSERT INTO copyfmt VALUES
		(1, 'tab	and ''quote'' "dq" , comma', 0.1, 12.5, true, '2020-02-29', '2024-05-06 07:08:09.123456+00', '\x00ff', '{"b": [1, 2], "a": null}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '04:05:06.789'),
		(2, NULL, 1e20, -0.001, false, NULL, NULL, NULL, NULL, NULL, NULL),
		(3, '', -2.5e-7, 0, NULL, '1999-12-31', '1999-12-31 23:59:59+00', '\x', '[]', NULL, '24:00'),
		(4, 'back\slash', 3, 1000000, true, NULL, NULL, NULL, '"s"', NULL, 'allballs')`,
}

func TestCopyFormatsMatchPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	oracle, err := pgx.Connect(ctx, oracleConnString())
	if err != nil {
		t.Skipf("no PostgreSQL to compare with: %v", err)
	}
	defer oracle.Close(context.Background())
	schema := fmt.Sprintf("pgkeep_copy_%d", os.Getpid())
	if _, err := oracle.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = oracle.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") }()
	oracleSQL := func(sql string) string { return "SET search_path = " + schema + "; " + sql }
	for _, sql := range copyFormatFixture {
		if _, err := oracle.Exec(ctx, oracleSQL(sql)); err != nil {
			t.Fatalf("oracle: %s: %v", sql, err)
		}
	}

	tn := startNode(t, server.TestingKnobs{})
	for _, sql := range copyFormatFixture {
		tn.rootPsql(t, "-c", sql)
	}

	for _, options := range []string{"", "csv header", "csv force quote *", "binary", "(format csv, delimiter '|', null 'NULL', quote '''')"} {
		copyCmd := `\copy (SELECT * FROM copyfmt ORDER BY id) to stdout ` + options
		want, err := tn.psql([]string{"PGTZ=UTC"}, oracleConnString(), "-c", "SET search_path = "+schema, "-c", copyCmd)
		if err != nil {
			t.Fatalf("oracle psql %s: %v\n%s", options, err, want)
		}
		want = strings.TrimPrefix(want, "SET\n")
		got := tn.rootPsql(t, "-c", copyCmd)
		if got != want {
			t.Errorf("%s: pgkeep wrote\n%q\nPostgreSQL wrote\n%q", copyCmd, got, want)
		}
	}
}

// rowsReader streams COPY text rows first..last of (id, id*2, filler),
// with the row at badLine, counted from 1, replaced by text that is not a
// number when badLine is not zero.
type rowsReader struct {
	next, last, first, badLine int
	buf                        bytes.Buffer
}

func (r *rowsReader) Read(p []byte) (int, error) {
	for r.buf.Len() < len(p) && r.next <= r.last {
		if r.badLine != 0 && r.next-r.first+1 == r.badLine {
			fmt.Fprintf(&r.buf, "%d\tbad\tx\n", r.next)
		} else {
			fmt.Fprintf(&r.buf, "%d\t%d\t%s\n", r.next, r.next*2, strings.Repeat("f", 40))
		}
		r.next++
	}
	if r.buf.Len() == 0 {
		return 0, io.EOF
	}
	return r.buf.Read(p)
}

func newRowsReader(first, last, badLine int) *rowsReader {
	return &rowsReader{next: first, first: first, last: last, badLine: badLine}
}

// TestCopySpillsToTemporaryStore runs COPYs far larger than the node's
// write buffer, so their writes move to the temporary store. It checks
// that every row and index entry arrives, that a bad row or a duplicate
// key late in a COPY commits nothing, and that the data survives a restart.
func TestCopySpillsToTemporaryStore(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t, server.TestingKnobs{})
	tn.writeBufferSize = 64 << 10
	tn.start()
	t.Cleanup(tn.stop)
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	for _, sql := range []string{
		"CREATE TABLE big (id int PRIMARY KEY, n int, filler text)",
		"CREATE UNIQUE INDEX big_n ON big (n)",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	const rows = 30000
	tag, err := conn.PgConn().CopyFrom(ctx, newRowsReader(1, rows, 0), "COPY big FROM STDIN")
	if err != nil || tag.String() != fmt.Sprintf("COPY %d", rows) {
		t.Fatalf("COPY: %q, %v", tag, err)
	}
	if _, err := os.Stat(filepath.Join(tn.dataDir, "store", "temp", "store")); err != nil {
		t.Fatalf("the COPY did not use the temporary store: %v", err)
	}

	expectBig := func(wantCount, wantSum int64) {
		t.Helper()
		var count, sum, viaIndex int64
		if err := conn.QueryRow(ctx, "SELECT count(*), sum(n) FROM big").Scan(&count, &sum); err != nil {
			t.Fatal(err)
		}
		// The index scan finds every row through its index entry.
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM big WHERE n >= 0").Scan(&viaIndex); err != nil {
			t.Fatal(err)
		}
		if count != wantCount || sum != wantSum || viaIndex != wantCount {
			t.Fatalf("count %d, sum %d, through the index %d; want %d, %d, %d", count, sum, viaIndex, wantCount, wantSum, wantCount)
		}
	}
	expectBig(rows, rows*(rows+1))

	// A bad row near the end aborts the whole COPY.
	_, err = conn.PgConn().CopyFrom(ctx, newRowsReader(rows+1, 2*rows, rows-10), "COPY big FROM STDIN")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22P02" {
		t.Fatalf("COPY with a bad row: %v, want SQLSTATE 22P02", err)
	}
	if want := fmt.Sprintf("COPY big, line %d, column n: \"bad\"", rows-10); pgErr.Where != want {
		t.Fatalf("where %q, want %q", pgErr.Where, want)
	}
	expectBig(rows, rows*(rows+1))

	// So does a row that repeats the primary key or the indexed value of
	// the COPY's first row, which the duplicate check finds in the
	// temporary store, or a committed key.
	for _, dup := range []string{
		fmt.Sprintf("%d\t-5\tdup\n", rows+1),
		fmt.Sprintf("-1\t%d\tdup\n", 2*(rows+1)),
		"5\t-5\tdup\n",
	} {
		_, err = conn.PgConn().CopyFrom(ctx, io.MultiReader(newRowsReader(rows+1, 2*rows, 0), strings.NewReader(dup)), "COPY big FROM STDIN")
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			t.Fatalf("COPY ending with %q: %v, want SQLSTATE 23505", dup, err)
		}
		expectBig(rows, rows*(rows+1))
	}

	// A large UPDATE inside a transaction with a savepoint, rolled back to
	// the savepoint, leaves the rows as they were. An UPDATE that moves
	// every key past the end of its own scan changes each row once.
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"SAVEPOINT s",
		"UPDATE big SET filler = repeat('g', 60)",
		"ROLLBACK TO SAVEPOINT s",
		"DELETE FROM big WHERE id > 20000",
		"UPDATE big SET id = id + 100000",
	} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	expectBig(20000, 20000*20001)
	var idSum int64
	if err := conn.QueryRow(ctx, "SELECT sum(id) FROM big").Scan(&idSum); err != nil || idSum != 20000*20001/2+20000*100000 {
		t.Fatalf("sum(id) %d, %v; want %d", idSum, err, 20000*20001/2+20000*100000)
	}
	var changed int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM big WHERE filler <> repeat('f', 40)").Scan(&changed); err != nil || changed != 0 {
		t.Fatalf("%d rows with a changed filler, %v; want 0", changed, err)
	}

	conn.Close(ctx)
	tn.restart()
	conn = tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	expectBig(20000, 20000*20001)
}

// TestCopyTimeColumns loads time columns with COPY in text, CSV and binary
// and reads them back, and copies them out in binary and in again.
func TestCopyTimeColumns(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	conn := tn.connect(ctx, tn.tcpConnString("alice", alicePassword))
	for _, sql := range []string{
		"CREATE TABLE times (id int PRIMARY KEY, t time, t0 time(0))",
		"CREATE TABLE times_copy (id int PRIMARY KEY, t time, t0 time(0))",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	pg := conn.PgConn()

	tag, err := pg.CopyFrom(ctx, strings.NewReader("1\t04:05:06.789\t04:05:06.789\n2\t\\N\t24:00\n"), "COPY times FROM STDIN")
	if err != nil || tag.String() != "COPY 2" {
		t.Fatalf("COPY text: %q, %v", tag, err)
	}
	tag, err = pg.CopyFrom(ctx, strings.NewReader("id,t,t0\n3,\"4:05 PM\",allballs\n4,,23:59:59.6\n"), "COPY times FROM STDIN (FORMAT csv, HEADER)")
	if err != nil || tag.String() != "COPY 2" {
		t.Fatalf("COPY csv: %q, %v", tag, err)
	}
	micros := func(h, m, s, us int64) pgtype.Time {
		return pgtype.Time{Microseconds: ((h*60+m)*60+s)*1_000_000 + us, Valid: true}
	}
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"times"}, []string{"id", "t", "t0"}, pgx.CopyFromRows([][]any{
		{int32(5), micros(23, 59, 59, 999999), micros(12, 0, 0, 500000)},
		{int32(6), micros(0, 0, 0, 1), nil},
	}))
	if err != nil || n != 2 {
		t.Fatalf("COPY binary: %d rows, %v", n, err)
	}

	var out bytes.Buffer
	if _, err := pg.CopyTo(ctx, &out, "COPY (SELECT * FROM times ORDER BY id) TO STDOUT"); err != nil {
		t.Fatalf("COPY TO: %v", err)
	}
	want := "1\t04:05:06.789\t04:05:07\n" +
		"2\t\\N\t24:00:00\n" +
		"3\t16:05:00\t00:00:00\n" +
		"4\t\\N\t24:00:00\n" +
		"5\t23:59:59.999999\t12:00:01\n" +
		"6\t00:00:00.000001\t\\N\n"
	if out.String() != want {
		t.Fatalf("COPY TO wrote\n%q\nwant\n%q", out.String(), want)
	}

	var binaryOut bytes.Buffer
	if _, err := pg.CopyTo(ctx, &binaryOut, "COPY times TO STDOUT (FORMAT binary)"); err != nil {
		t.Fatalf("COPY TO binary: %v", err)
	}
	tag, err = pg.CopyFrom(ctx, &binaryOut, "COPY times_copy FROM STDIN (FORMAT binary)")
	if err != nil || tag.String() != "COPY 6" {
		t.Fatalf("COPY FROM binary: %q, %v", tag, err)
	}
	var differ int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM times a FULL JOIN times_copy b ON a.id = b.id
		WHERE a.t IS DISTINCT FROM b.t OR a.t0 IS DISTINCT FROM b.t0`).Scan(&differ); err != nil {
		t.Fatal(err)
	}
	if differ != 0 {
		t.Fatalf("%d rows differ after the binary round trip", differ)
	}

	_, err = pg.CopyFrom(ctx, strings.NewReader("7\t25:00\t\\N\n"), "COPY times FROM STDIN")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22008" {
		t.Fatalf("COPY of 25:00 returned %v, want 22008", err)
	}
	if pgErr.Where != `COPY times, line 1, column t: "25:00"` {
		t.Fatalf("where %q", pgErr.Where)
	}
}
