package executor

import (
	"context"
	"strings"
	"testing"
)

func TestExplainPreparedDescribesOneColumn(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE t (id int PRIMARY KEY, v int)")
	run(t, s, "CREATE INDEX t_v ON t (v)")
	ctx := context.Background()

	ps, err := s.Prepare(ctx, "EXPLAIN SELECT * FROM t WHERE v > $1 ORDER BY v LIMIT 10", nil)
	if err != nil {
		t.Fatal(err)
	}
	cols := ps.Columns()
	if len(cols) != 1 || cols[0].Name != "QUERY PLAN" || cols[0].TypeOID != oidText {
		t.Fatalf("columns %+v, want one text column QUERY PLAN", cols)
	}
	if oids := ps.ParamOIDs(); len(oids) != 1 || oids[0] != oidInt4 {
		t.Fatalf("parameter types %v, want [int4]", oids)
	}
	portal, err := s.Bind(ctx, ps, []any{int64(5)})
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{cols: cols}
	if _, err := portal.Execute(ctx, sink, 0); err != nil {
		t.Fatal(err)
	}
	expectLines(t, sink.lines,
		"Limit",
		"  ->  Index Scan using t_v on t",
		"        Index Cond: (v > $1)",
		"tag: EXPLAIN")
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestExplainFailsLikeTheQuery(t *testing.T) {
	srv := newTestServer(t)
	root := newTestSession(t, srv, "root")
	run(t, root, "CREATE USER ann WITH PASSWORD 'Long-enough-pw-1' ROLE user")
	run(t, root, "CREATE TABLE secrets (id int PRIMARY KEY, body text)")
	run(t, root, "CREATE SHARED TABLE board (id int PRIMARY KEY, body text) ACCESS LEVEL public")
	ann := newTestSession(t, srv, "ann")

	// A user may not read a private SHARED table, so EXPLAIN fails with
	// the error of the query and reveals nothing about the table.
	for _, stmt := range []string{
		"SELECT * FROM secrets WHERE id = 1",
		"SELECT body FROM secrets ORDER BY id LIMIT 1",
		"SELECT * FROM board b JOIN secrets s ON s.id = b.id",
		"SELECT * FROM board WHERE id IN (SELECT id FROM secrets)",
		"UPDATE secrets SET body = 'x' WHERE id = 1",
		"DELETE FROM secrets",
		"INSERT INTO secrets VALUES (1, 'x')",
		"INSERT INTO board VALUES (1, 'x')",
		"SELECT * FROM secrets WHERE nonexistent = 1",
	} {
		want := runErr(t, ann, stmt)
		got := runErr(t, ann, "EXPLAIN "+stmt)
		if got.Code != want.Code || got.Message != want.Message || got.Detail != want.Detail {
			t.Errorf("EXPLAIN %s: got %s %q (%s), want %s %q (%s)", stmt, got.Code, got.Message, got.Detail, want.Code, want.Message, want.Detail)
		}
		if got.Code != "42501" {
			t.Errorf("EXPLAIN %s: got %s, want 42501", stmt, got.Code)
		}
	}
	// The user may read board, so EXPLAIN works.
	expectLines(t, run(t, ann, "EXPLAIN SELECT * FROM board WHERE id = 1"),
		"cols: QUERY PLAN", "Index Scan using board_pkey on board", "  Index Cond: (id = 1)", "tag: EXPLAIN")
}

func TestExplainUserTableReaders(t *testing.T) {
	srv := newTestServer(t)
	root := newTestSession(t, srv, "root")
	run(t, root, "CREATE USER ann WITH PASSWORD 'Long-enough-pw-1' ROLE user")
	run(t, root, "CREATE USER TABLE notes (id int PRIMARY KEY, v int)")
	run(t, root, "CREATE INDEX notes_v ON notes (v)")
	ann := newTestSession(t, srv, "ann")

	// A user reads its own rows, which the index contains in order.
	const q = "EXPLAIN SELECT * FROM notes WHERE v > 3 ORDER BY v LIMIT 5"
	expectLines(t, run(t, ann, q), "cols: QUERY PLAN",
		"Limit",
		"  ->  Index Scan using notes_v on notes",
		"        Index Cond: (v > 3)",
		"tag: EXPLAIN")
	// root reads every owner's rows, owner by owner, so the key condition
	// becomes a filter and the rows are sorted.
	expectLines(t, run(t, root, q), "cols: QUERY PLAN",
		"Limit",
		"  ->  Sort",
		"        Sort Key: v",
		"        ->  Seq Scan on notes",
		"              Filter: (v > 3)",
		"tag: EXPLAIN")
	// A write reads only the rows of the writer, through the index.
	expectLines(t, run(t, root, "EXPLAIN DELETE FROM notes WHERE v = 2"), "cols: QUERY PLAN",
		"Delete on notes",
		"  ->  Index Scan using notes_v on notes",
		"        Index Cond: (v = 2)",
		"tag: EXPLAIN")
}

func TestExplainDoesNotRun(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE t (id int PRIMARY KEY, v int)")
	run(t, s, "INSERT INTO t VALUES (1, 1)")
	run(t, s, "EXPLAIN UPDATE t SET v = 2")
	run(t, s, "EXPLAIN DELETE FROM t")
	run(t, s, "EXPLAIN INSERT INTO t VALUES (2, 2)")
	expectLines(t, run(t, s, "SELECT * FROM t"), "cols: id,v", "1|1", "tag: SELECT 1")

	// EXPLAIN of a write works in a read-only transaction, as in
	// PostgreSQL, because it writes nothing.
	run(t, s, "BEGIN READ ONLY")
	lines := run(t, s, "EXPLAIN UPDATE t SET v = 3 WHERE id = 1")
	run(t, s, "COMMIT")
	if !strings.HasPrefix(strings.Join(lines, "\n"), "cols: QUERY PLAN\nUpdate on t") {
		t.Fatalf("got %q", lines)
	}
}
