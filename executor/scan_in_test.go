package executor

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestValueListScanReadsFewKeys checks that IN lists and = ANY (array) on
// a key column read the entries of their values only, and return the rows
// a full scan of the unindexed copy of the column returns.
func TestValueListScanReadsFewKeys(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	loadOrderTable(t, s, "CREATE TABLE t (id int PRIMARY KEY, v int, w int, g int)", "t")

	cases := []struct {
		name string
		// query has %s where the column goes, and orders its rows.
		query   string
		maxKeys int64
		// fullScan is set when the unindexed query reads the whole table,
		// which shows that the key count works.
		fullScan bool
	}{
		{"in list", "SELECT id, %s FROM t WHERE %[1]s IN (17, 500, 999, 4000) ORDER BY id", 40, true},
		{"in list with NULL and duplicates", "SELECT id, %s FROM t WHERE %[1]s IN (17, NULL, 17, 999) ORDER BY id", 30, true},
		{"any array", "SELECT id, %s FROM t WHERE %[1]s = ANY ('{999, 17, 500}'::int[]) ORDER BY id", 40, true},
		{"any empty array", "SELECT id, %s FROM t WHERE %[1]s = ANY ('{}'::int[]) ORDER BY id", 0, true},
		{"any array with NULL", "SELECT id, %s FROM t WHERE %[1]s = ANY ('{17, NULL}'::int[]) ORDER BY id", 10, true},
		{"equality prefix", "SELECT id, %s FROM t WHERE g = 1 AND %[1]s IN (17, 999) ORDER BY id", 20, false},
		{"with a filter", "SELECT id, %s FROM t WHERE %[1]s IN (17, 999) AND id > 1500 ORDER BY id", 20, false},
		{"order by limit", "SELECT id, %s FROM t WHERE %[1]s IN (17, 999) ORDER BY %[1]s DESC, id LIMIT 4", 20, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			indexed, keys := readKeys(t, s, fmt.Sprintf(c.query, "v"))
			sorted, fullKeys := readKeys(t, s, fmt.Sprintf(c.query, "w"))
			if got, want := strings.Join(indexed[1:], "\n"), strings.Join(sorted[1:], "\n"); got != want {
				t.Fatalf("indexed rows:\n%s\nunindexed rows:\n%s", got, want)
			}
			if keys > c.maxKeys {
				t.Errorf("the indexed query read %d keys, want at most %d", keys, c.maxKeys)
			}
			if c.fullScan && fullKeys < orderTestRows {
				t.Errorf("the unindexed query read %d keys, want the whole table of %d", fullKeys, orderTestRows)
			}
		})
	}

	// Primary key values read one row each, when it exists.
	lines, keys := readKeys(t, s, "SELECT id, g FROM t WHERE id IN (2999, 5, 5, 7000, 12) ORDER BY id")
	expectLines(t, lines, "cols: id,g", "5|1", "12|0", "2999|3", "tag: SELECT 3")
	if keys != 3 {
		t.Errorf("the primary key lookups read %d keys, want 3", keys)
	}

	// UPDATE and DELETE find their rows the same way.
	lines, keys = readKeys(t, s, "UPDATE t SET w = -1 WHERE id = ANY ('{3, 4, 9999}'::int[])")
	expectLines(t, lines, "tag: UPDATE 2")
	if keys > 3 {
		t.Errorf("the UPDATE read %d keys, want at most 3", keys)
	}
	expectLines(t, run(t, s, "DELETE FROM t WHERE id IN (3, 4) RETURNING id, w"), "cols: id,w", "3|-1", "4|-1", "tag: DELETE 2")
}

// TestValueListScanWithParameter checks = ANY ($1) with an array
// parameter, bound anew at each execution of the cached plan.
func TestValueListScanWithParameter(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	loadOrderTable(t, s, "CREATE TABLE t (id int PRIMARY KEY, v int, w int, g int)", "t")
	ctx := context.Background()
	ps, err := s.Prepare(ctx, "SELECT id FROM t WHERE id = ANY ($1) ORDER BY id", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ids  []any
		want []string
	}{
		{[]any{int64(7), int64(1)}, []string{"cols: id", "1", "7", "tag: SELECT 2"}},
		{[]any{int64(2000), nil, int64(9000)}, []string{"cols: id", "2000", "tag: SELECT 1"}},
		{[]any{}, []string{"cols: id", "tag: SELECT 0"}},
	} {
		portal, err := s.Bind(ctx, ps, []any{c.ids})
		if err != nil {
			t.Fatal(err)
		}
		sink := &recordingSink{}
		if err := sink.Describe(portal.Columns()); err != nil {
			t.Fatal(err)
		}
		before := s.keysRead
		if _, err := portal.Execute(ctx, sink, 0); err != nil {
			t.Fatal(err)
		}
		portal.Close()
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		expectLines(t, sink.lines, c.want...)
		if keys := s.keysRead - before; keys > int64(len(c.ids)) {
			t.Errorf("ids %v: read %d keys, want at most %d", c.ids, keys, len(c.ids))
		}
	}
}
