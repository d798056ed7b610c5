package executor

import (
	"fmt"
	"strings"
	"testing"
)

// orderTestRows is the row count of the ordered-read tests: enough that a
// full scan reads far more keys than an ordered read with a small LIMIT.
const orderTestRows = 3000

// loadOrderTable creates table name with columns id, v (indexed), w (the
// same values without an index) and g (a small group number), where every
// tenth v and w is NULL and the other values repeat.
func loadOrderTable(t *testing.T, s *Session, create, name string) {
	t.Helper()
	run(t, s, create)
	run(t, s, fmt.Sprintf("CREATE INDEX %s_v ON %s (v)", name, name))
	run(t, s, fmt.Sprintf("CREATE INDEX %s_g_v ON %s (g, v)", name, name))
	for start := 0; start < orderTestRows; start += 500 {
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s (id, v, w, g) VALUES ", name)
		for i := start; i < start+500; i++ {
			if i > start {
				b.WriteString(", ")
			}
			v := "NULL"
			if i%10 != 0 {
				v = fmt.Sprint(i * 7919 % 1000)
			}
			fmt.Fprintf(&b, "(%d, %s, %s, %d)", i, v, v, i%4)
		}
		run(t, s, b.String())
	}
}

// readKeys runs a query and returns its result lines and the number of
// index entries and rows its scans read.
func readKeys(t *testing.T, s *Session, sql string) ([]string, int64) {
	t.Helper()
	before := s.keysRead
	lines := run(t, s, sql)
	return lines, s.keysRead - before
}

func TestOrderedReadMatchesSort(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	loadOrderTable(t, s, "CREATE TABLE t (id int PRIMARY KEY, v int, w int, g int)", "t")
	run(t, s, "CREATE VIEW tv AS SELECT id, v, w FROM t WHERE g <> 1")

	// Each query reads the indexed column v, and the same query over the
	// unindexed column w gives the order of a sort.
	cases := []struct {
		name string
		// query has %s where the column goes.
		query string
		// maxKeys bounds the keys the indexed query reads. 0 means no
		// bound, and also that the unindexed query need not read a quarter
		// of the table.
		maxKeys int64
	}{
		{"limit", "SELECT id, %s AS k FROM t ORDER BY %[1]s LIMIT 10", 20},
		{"limit with tie-breaker", "SELECT id, %s AS k FROM t ORDER BY %[1]s, id LIMIT 10", 20},
		{"range", "SELECT id, %s AS k FROM t WHERE %[1]s > 500 ORDER BY %[1]s LIMIT 10", 20},
		{"range with parameter-free bounds", "SELECT id, %s AS k FROM t WHERE %[1]s >= 10 AND %[1]s < 20 ORDER BY %[1]s LIMIT 10 OFFSET 3", 26},
		{"nulls first", "SELECT id, %s AS k FROM t ORDER BY %[1]s NULLS FIRST LIMIT 10", 20},
		{"nulls last into the NULLs", "SELECT id, %s AS k FROM t ORDER BY %[1]s LIMIT 10 OFFSET 2695", 0},
		{"fetch first with ties", "SELECT id, %s AS k FROM t ORDER BY %[1]s FETCH FIRST 4 ROWS WITH TIES", 20},
		{"filter on another column", "SELECT id, %s AS k FROM t WHERE id %% 2 = 0 ORDER BY %[1]s LIMIT 10", 50},
		{"equality prefix", "SELECT id, %s AS k FROM t WHERE g = 2 ORDER BY %[1]s LIMIT 10", 20},
		{"equality prefix with the constant sort key", "SELECT id, %s AS k FROM t WHERE g = 3 ORDER BY g, %[1]s LIMIT 5", 10},
		{"no limit", "SELECT id, %s AS k FROM t WHERE %[1]s < 3 ORDER BY %[1]s", 0},
		{"subquery", "SELECT id, k FROM (SELECT id, %s AS k FROM t WHERE %[1]s > 500) s ORDER BY k LIMIT 10", 20},
		{"view", "SELECT id, %s AS k FROM tv ORDER BY %[1]s LIMIT 10", 30},
		{"subquery joined", "SELECT s.id, s.k, x.name FROM (SELECT id, %s AS k, g FROM t) s JOIN (VALUES (0, 'a'), (2, 'c')) x (g, name) ON x.g = s.g ORDER BY s.k, s.id LIMIT 10", 50},
		{"subquery that limits", "SELECT id, k FROM (SELECT id, %s AS k FROM t ORDER BY id LIMIT 100) s ORDER BY k LIMIT 5", 0},
		{"desc nulls first", "SELECT id, %s AS k FROM t ORDER BY %[1]s DESC, id DESC LIMIT 10", 20},
		{"desc past the NULLs", "SELECT id, %s AS k FROM t ORDER BY %[1]s DESC, id DESC LIMIT 10 OFFSET 298", 640},
		{"desc nulls last", "SELECT id, %s AS k FROM t ORDER BY %[1]s DESC NULLS LAST, id DESC LIMIT 10", 20},
		{"desc range", "SELECT id, %s AS k FROM t WHERE %[1]s < 500 ORDER BY %[1]s DESC, id DESC LIMIT 10", 20},
		{"desc equality prefix", "SELECT id, %s AS k FROM t WHERE g = 2 ORDER BY %[1]s DESC, id DESC LIMIT 10", 20},
		{"desc equality prefix nulls last", "SELECT id, %s AS k FROM t WHERE g = 1 ORDER BY g DESC, %[1]s DESC NULLS LAST, id DESC LIMIT 10", 20},
		{"mixed directions", "SELECT id, %s AS k FROM t ORDER BY %[1]s DESC, id LIMIT 10", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			indexed, keys := readKeys(t, s, fmt.Sprintf(c.query, "v"))
			sorted, fullKeys := readKeys(t, s, fmt.Sprintf(c.query, "w"))
			expectLines(t, indexed, sorted...)
			if len(indexed) < 3 {
				t.Fatalf("the query returned no rows: %v", indexed)
			}
			if c.maxKeys > 0 && keys > c.maxKeys {
				t.Errorf("the indexed query read %d keys, want at most %d", keys, c.maxKeys)
			}
			// The unindexed query reads every row it could return, which
			// shows that the count works.
			if c.maxKeys > 0 && fullKeys < orderTestRows/4 {
				t.Errorf("the sorted query read %d keys, want a full scan of at least %d", fullKeys, orderTestRows/4)
			}
		})
	}
}

func TestOrderedReadLimitReadsFewKeys(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	loadOrderTable(t, s, "CREATE TABLE t (id int PRIMARY KEY, v int, w int, g int)", "t")

	indexed, keys := readKeys(t, s, "SELECT * FROM t WHERE v > 100 ORDER BY v LIMIT 10")
	if keys > 50 {
		t.Errorf("ORDER BY v LIMIT 10 read %d keys, want at most 50", keys)
	}
	sorted, fullKeys := readKeys(t, s, "SELECT * FROM t WHERE w > 100 ORDER BY w LIMIT 10")
	if fullKeys < orderTestRows {
		t.Errorf("ORDER BY w LIMIT 10 read %d keys, want the whole table of %d", fullKeys, orderTestRows)
	}
	// The rows are the same, and only the column names v and w differ.
	if len(indexed) != 12 || strings.Join(indexed[1:], "\n") != strings.Join(sorted[1:], "\n") {
		t.Fatalf("indexed:\n%s\nsorted:\n%s", strings.Join(indexed, "\n"), strings.Join(sorted, "\n"))
	}
}

func TestOrderedReadPrimaryKey(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	loadOrderTable(t, s, "CREATE TABLE t (id int PRIMARY KEY, v int, w int, g int)", "t")

	lines, keys := readKeys(t, s, "SELECT id FROM t WHERE id > 100 ORDER BY id LIMIT 3")
	expectLines(t, lines, "cols: id", "101", "102", "103", "tag: SELECT 3")
	if keys > 3 {
		t.Errorf("read %d keys, want 3", keys)
	}
	// DESC reads the primary index backwards.
	lines, keys = readKeys(t, s, "SELECT id FROM t ORDER BY id DESC LIMIT 2")
	expectLines(t, lines, "cols: id", "2999", "2998", "tag: SELECT 2")
	if keys > 2 {
		t.Errorf("DESC read %d keys, want 2", keys)
	}
	lines, keys = readKeys(t, s, "SELECT id FROM t WHERE id < 100 ORDER BY id DESC LIMIT 2")
	expectLines(t, lines, "cols: id", "99", "98", "tag: SELECT 2")
	if keys > 2 {
		t.Errorf("DESC with a range read %d keys, want 2", keys)
	}
}

func TestOrderedReadUniqueAndMultiColumnIndex(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE m (id int PRIMARY KEY, a int, b text, u int)")
	run(t, s, "CREATE INDEX m_a_b ON m (a, b)")
	run(t, s, "CREATE UNIQUE INDEX m_u ON m (u)")
	run(t, s, "INSERT INTO m VALUES (1, 1, 'b', 30), (2, 1, NULL, NULL), (3, 2, 'a', 10), (4, 1, 'a', NULL), (5, NULL, 'c', 20), (6, 2, NULL, 40)")

	expectLines(t, run(t, s, "SELECT id FROM m ORDER BY a, b LIMIT 6"),
		"cols: id", "4", "1", "2", "3", "6", "5", "tag: SELECT 6")
	expectLines(t, run(t, s, "SELECT id FROM m ORDER BY a NULLS FIRST, b NULLS FIRST LIMIT 6"),
		"cols: id", "5", "2", "4", "1", "6", "3", "tag: SELECT 6")
	expectLines(t, run(t, s, "SELECT id FROM m WHERE a = 1 ORDER BY b LIMIT 3"),
		"cols: id", "4", "1", "2", "tag: SELECT 3")
	expectLines(t, run(t, s, "SELECT id FROM m WHERE a = 2 ORDER BY a, b NULLS FIRST LIMIT 3"),
		"cols: id", "6", "3", "tag: SELECT 2")
	expectLines(t, run(t, s, "SELECT id, u FROM m ORDER BY u LIMIT 6"),
		"cols: id,u", "3|10", "5|20", "1|30", "6|40", "2|NULL", "4|NULL", "tag: SELECT 6")
	expectLines(t, run(t, s, "SELECT id FROM m ORDER BY u NULLS FIRST, id LIMIT 3"),
		"cols: id", "2", "4", "3", "tag: SELECT 3")

	// Rows written in the open transaction are read in order too.
	run(t, s, "BEGIN")
	run(t, s, "INSERT INTO m VALUES (7, 0, 'z', NULL), (8, NULL, NULL, 5)")
	run(t, s, "UPDATE m SET a = 3 WHERE id = 4")
	expectLines(t, run(t, s, "SELECT id FROM m ORDER BY a, b LIMIT 8"),
		"cols: id", "7", "1", "2", "3", "6", "4", "5", "8", "tag: SELECT 8")
	expectLines(t, run(t, s, "SELECT id FROM m ORDER BY u LIMIT 3"),
		"cols: id", "8", "3", "5", "tag: SELECT 3")
	run(t, s, "ROLLBACK")
}

func TestOrderedReadJoinOuterSide(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	loadOrderTable(t, s, "CREATE TABLE t (id int PRIMARY KEY, v int, w int, g int)", "t")
	run(t, s, "CREATE TABLE groups (g int PRIMARY KEY, name text)")
	run(t, s, "INSERT INTO groups VALUES (0, 'zero'), (1, 'one'), (2, 'two'), (5, 'five')")

	for _, join := range []string{"JOIN", "LEFT JOIN"} {
		q := "SELECT t.id, t.%s, groups.name FROM t " + join + " groups ON groups.g = t.g WHERE t.%[1]s > 990 ORDER BY t.%[1]s, t.id LIMIT 7"
		indexed, keys := readKeys(t, s, fmt.Sprintf(q, "v"))
		sorted, _ := readKeys(t, s, fmt.Sprintf(q, "w"))
		if strings.Join(indexed[1:], "\n") != strings.Join(sorted[1:], "\n") {
			t.Fatalf("%s: indexed:\n%s\nsorted:\n%s", join, strings.Join(indexed, "\n"), strings.Join(sorted, "\n"))
		}
		// The join reads at most lookupThreshold+1 left rows ahead (an index
		// entry and a row each) to choose between key lookups and a hash
		// table, then the right side by key or whole: far fewer keys than t
		// has.
		if keys > 2*(lookupThreshold+1)+4+10 {
			t.Errorf("%s read %d keys, want the 4 groups and a few entries of t", join, keys)
		}
	}
	// A RIGHT join returns unmatched right rows last, so it sorts.
	q := "SELECT groups.g, t.id FROM t RIGHT JOIN groups ON groups.g = t.g AND t.id < 3 ORDER BY t.v, groups.g LIMIT 4"
	expectLines(t, run(t, s, q), "cols: g,id", "2|2", "1|1", "0|0", "5|NULL", "tag: SELECT 4")
}

func TestOrderedReadUserTable(t *testing.T) {
	srv := newTestServer(t)
	root := newTestSession(t, srv, "root")
	run(t, root, "CREATE USER alice WITH PASSWORD 'Long-enough-pw-1' ROLE user")
	run(t, root, "CREATE USER bob WITH PASSWORD 'Long-enough-pw-2' ROLE user")
	run(t, root, "CREATE USER TABLE notes (id int PRIMARY KEY, v int)")
	run(t, root, "CREATE INDEX notes_v ON notes (v)")
	alice := newTestSession(t, srv, "alice")
	bob := newTestSession(t, srv, "bob")
	run(t, alice, "INSERT INTO notes VALUES (1, 30), (2, 10), (3, NULL), (4, 20)")
	run(t, bob, "INSERT INTO notes VALUES (1, 5), (2, 25), (3, 15)")

	// A user reads only its own rows, in index order.
	lines, keys := readKeys(t, alice, "SELECT id, v FROM notes ORDER BY v LIMIT 4")
	expectLines(t, lines, "cols: id,v", "2|10", "4|20", "1|30", "3|NULL", "tag: SELECT 4")
	if keys > 8 {
		t.Errorf("alice read %d keys, want at most 8", keys)
	}
	expectLines(t, run(t, bob, "SELECT id, v FROM notes ORDER BY v LIMIT 2"), "cols: id,v", "1|5", "3|15", "tag: SELECT 2")
	// root reads every owner's rows, which the index contains owner by owner,
	// so the rows are sorted.
	expectLines(t, run(t, root, "SELECT _user, v FROM notes ORDER BY v LIMIT 4"),
		"cols: _user,v", "bob|5", "alice|10", "bob|15", "alice|20", "tag: SELECT 4")
}
