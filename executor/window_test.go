package executor

import (
	"context"
	"strings"
	"testing"
)

// newWindowTestSession returns a session with the emp table the window
// tests read.
func newWindowTestSession(t *testing.T) *Session {
	t.Helper()
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE emp (id int PRIMARY KEY, name text NOT NULL, dept text, salary int, bonus numeric(6,2))")
	run(t, s, `INSERT INTO emp VALUES
		(1, 'Ada', 'eng', 120, 10.50), (2, 'Bob', 'eng', 100, NULL), (3, 'Cy', 'eng', 100, 5.25),
		(4, 'Dee', 'ops', 90, 3.00), (5, 'Eve', 'ops', 90, NULL), (6, 'Fay', 'ops', 70, 1.00),
		(7, 'Gus', NULL, 50, 2.00), (8, 'Hal', 'sales', 80, 4.75)`)
	return s
}

// resultRows drops the column and command tag lines of run's output.
func resultRows(lines []string) []string {
	var rows []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "cols: ") && !strings.HasPrefix(l, "tag: ") {
			rows = append(rows, l)
		}
	}
	return rows
}

// The expected rows were produced by PostgreSQL 15 from the same
// statements.
func TestWindowQueries(t *testing.T) {
	s := newWindowTestSession(t)
	cases := []struct {
		name string
		sql  string
		want []string
	}{
		{"ranking with peers", "SELECT name, rank() OVER w, dense_rank() OVER w, row_number() OVER (ORDER BY salary DESC, id) FROM emp WINDOW w AS (ORDER BY salary DESC) ORDER BY id",
			[]string{"Ada|1|1|1", "Bob|2|2|2", "Cy|2|2|3", "Dee|4|3|4", "Eve|4|3|5", "Fay|7|5|7", "Gus|8|6|8", "Hal|6|4|6"}},
		{"window over aggregate", "SELECT count(*), sum(count(*)) OVER () FROM emp",
			[]string{"8|8"}},
		{"frame ending before current row", "SELECT id, sum(salary) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) FROM emp WHERE id < 4 ORDER BY id",
			[]string{"1|NULL", "2|120", "3|220"}},
		{"null ntile and lag offset", "SELECT id, ntile(NULL) OVER (), lag(id, NULL) OVER (ORDER BY id) FROM emp WHERE id < 3 ORDER BY id",
			[]string{"1|NULL|NULL", "2|NULL|NULL"}},
		{"distinct on after window", "SELECT DISTINCT ON (dept) dept, name, rank() OVER (ORDER BY salary DESC) FROM emp ORDER BY dept, salary DESC, id",
			[]string{"eng|Ada|1", "ops|Dee|4", "sales|Hal|6", "NULL|Gus|8"}},
		{"partition by subquery", "SELECT id, row_number() OVER (PARTITION BY (SELECT count(*) FROM emp x WHERE x.salary = e.salary) ORDER BY id) FROM emp e ORDER BY id",
			[]string{"1|1", "2|1", "3|2", "4|3", "5|4", "6|2", "7|3", "8|4"}},
		{"lag and lead defaults", "SELECT name, lag(name, 2) OVER (ORDER BY id), lead(name, 1, 'end') OVER (ORDER BY id) FROM emp WHERE dept = 'ops' ORDER BY id",
			[]string{"Dee|NULL|Eve", "Eve|NULL|Fay", "Fay|Dee|end"}},
		{"named window with limit", "SELECT row_number() OVER w, name FROM emp WINDOW w AS (ORDER BY name DESC) ORDER BY 1 LIMIT 2",
			[]string{"1|Hal", "2|Gus"}},
		{"rows current to following", "SELECT sum(salary) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) FROM emp ORDER BY id",
			[]string{"220", "200", "190", "180", "160", "120", "130", "80"}},
		{"window over recursive query", "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT n, sum(n) OVER (ORDER BY n) FROM t",
			[]string{"1|1", "2|3", "3|6"}},
		{"percent rank and cume dist", "SELECT name, percent_rank() OVER (ORDER BY salary), cume_dist() OVER (ORDER BY salary) FROM emp WHERE dept = 'eng' ORDER BY id",
			[]string{"Ada|1|1", "Bob|0|0.6666666666666666", "Cy|0|0.6666666666666666"}},
		{"ntile buckets", "SELECT id, ntile(3) OVER (ORDER BY id) FROM emp ORDER BY id",
			[]string{"1|1", "2|1", "3|1", "4|2", "5|2", "6|2", "7|3", "8|3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectLines(t, resultRows(run(t, s, c.sql)), c.want...)
		})
	}
}

func TestWindowResultTypes(t *testing.T) {
	s := newWindowTestSession(t)
	sink := &recordingSink{}
	sql := "SELECT sum(salary) OVER (), avg(salary) OVER (), row_number() OVER (), ntile(2) OVER (), percent_rank() OVER () FROM emp LIMIT 1"
	if err := s.ExecSimple(context.Background(), sql, sink); err != nil {
		t.Fatal(err)
	}
	// bigint, numeric, bigint, integer and double precision, as
	// PostgreSQL's pg_typeof reports for these calls.
	want := []uint32{oidInt8, oidNumeric, oidInt8, oidInt4, oidFloat8}
	for i, c := range sink.cols {
		if c.TypeOID != want[i] {
			t.Errorf("column %s: type OID %d, want %d", c.Name, c.TypeOID, want[i])
		}
	}
	expectLines(t, resultRows(sink.lines), "700|87.5000000000000000|1|1|0")
}

func TestWindowErrors(t *testing.T) {
	s := newWindowTestSession(t)
	cases := []struct {
		sql, code, message string
	}{
		{"SELECT id FROM emp WHERE row_number() OVER () > 1", "42P20", "window functions are not allowed in WHERE"},
		{"SELECT id FROM emp GROUP BY row_number() OVER ()", "42P20", "window functions are not allowed in GROUP BY"},
		{"SELECT dept FROM emp GROUP BY dept HAVING rank() OVER () > 1", "42P20", "window functions are not allowed in HAVING"},
		{"SELECT sum(row_number() OVER ()) FROM emp", "42803", "aggregate function calls cannot contain window function calls"},
		{"SELECT lag(row_number() OVER ()) OVER () FROM emp", "42P20", "window function calls cannot be nested"},
		{"SELECT row_number() OVER (ORDER BY rank() OVER ()) FROM emp", "42P20", "window functions are not allowed in window definitions"},
		{"SELECT rank() FROM emp", "42809", "window function rank requires an OVER clause"},
		{"SELECT dept, sum(salary) OVER (PARTITION BY name) FROM emp GROUP BY dept", "42803", `column "emp.salary" must appear in the GROUP BY clause or be used in an aggregate function`},
		{"SELECT sum(id) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) FROM emp ORDER BY id LIMIT 0", "", ""},
		{"SELECT sum(id) OVER (ROWS BETWEEN NULL PRECEDING AND CURRENT ROW) FROM emp", "22004", "frame starting offset must not be null"},
		{"SELECT sum(id) OVER (ROWS BETWEEN CURRENT ROW AND -2 FOLLOWING) FROM emp", "22013", "frame ending offset must not be negative"},
		{"SELECT sum(id) OVER (ORDER BY id GROUPS CURRENT ROW) FROM emp", "0A000", "GROUPS window frames"},
		{"SELECT sum(id) OVER (w PARTITION BY dept) FROM emp WINDOW w AS (ORDER BY id)", "42P20", `cannot override PARTITION BY clause of window "w"`},
		{"SELECT upper(name) OVER () FROM emp", "42809", "OVER specified, but upper is not a window function nor an aggregate function"},
	}
	for _, c := range cases {
		if c.code == "" {
			run(t, s, c.sql)
			continue
		}
		e := runErr(t, s, c.sql)
		if string(e.Code) != c.code || !strings.Contains(e.Message, c.message) {
			t.Errorf("%s: got %s %q, want %s %q", c.sql, e.Code, e.Message, c.code, c.message)
		}
	}
}
