package executor

import (
	"strings"
	"testing"
)

// Tests of DISTINCT ON, WITH RECURSIVE, LATERAL, string_agg and FETCH
// FIRST ... WITH TIES. The expected rows were produced by PostgreSQL 15
// from the same statements and the emp table of newWindowTestSession.
func TestSelectClauses(t *testing.T) {
	s := newWindowTestSession(t)
	run(t, s, "CREATE TABLE edges (src int, dst int, PRIMARY KEY (src, dst))")
	run(t, s, "INSERT INTO edges VALUES (1, 2), (2, 3), (3, 1), (3, 4), (5, 6)")
	cases := []struct {
		name string
		sql  string
		want []string
	}{
		{"distinct on with nulls first", "SELECT DISTINCT ON (dept) dept, name FROM emp ORDER BY dept NULLS FIRST, name DESC",
			[]string{"NULL|Gus", "eng|Cy", "ops|Fay", "sales|Hal"}},
		{"distinct on without order by", "SELECT DISTINCT ON (salary) name, salary FROM emp WHERE salary <> 100 AND salary <> 90 ORDER BY salary",
			[]string{"Gus|50", "Fay|70", "Hal|80", "Ada|120"}},
		{"recursive union stops at cycle", "WITH RECURSIVE reach(node) AS (SELECT 1 UNION SELECT e.dst FROM reach r JOIN edges e ON e.src = r.node) SELECT node FROM reach ORDER BY node",
			[]string{"1", "2", "3", "4"}},
		{"recursive with limit", "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT n FROM t LIMIT 4",
			[]string{"1", "2", "3", "4"}},
		{"left join lateral", "SELECT e.name, m.name FROM emp e LEFT JOIN LATERAL (SELECT name FROM emp x WHERE x.dept = e.dept AND x.salary > e.salary ORDER BY x.salary LIMIT 1) m ON true ORDER BY e.id",
			[]string{"Ada|NULL", "Bob|Ada", "Cy|Ada", "Dee|NULL", "Eve|NULL", "Fay|Dee", "Gus|NULL", "Hal|NULL"}},
		{"lateral union all", "SELECT e.id, l.x FROM emp e, LATERAL (SELECT e.id * 2 AS x UNION ALL SELECT e.id * 3) l WHERE e.id < 3 ORDER BY 1, 2",
			[]string{"1|2", "1|3", "2|4", "2|6"}},
		{"lateral inside correlated subquery", "SELECT (SELECT sum(l.v) FROM LATERAL (SELECT e.salary AS v) l) FROM emp e WHERE e.id <= 2 ORDER BY e.id",
			[]string{"120", "100"}},
		{"string_agg ordered per group", "SELECT dept, string_agg(name, '|' ORDER BY salary, name) FROM emp GROUP BY dept ORDER BY dept",
			[]string{"eng|Bob|Cy|Ada", "ops|Fay|Dee|Eve", "sales|Hal", "NULL|Gus"}},
		{"string_agg skips nulls", "SELECT string_agg(x, ',' ORDER BY x DESC) FROM (VALUES ('b'), ('a'), (NULL), ('c')) v(x)",
			[]string{"c,b,a"}},
		{"string_agg with filter", "SELECT string_agg(name, ', ' ORDER BY salary DESC, name) FILTER (WHERE dept = 'ops') FROM emp",
			[]string{"Dee, Eve, Fay"}},
		{"string_agg distinct", "SELECT string_agg(DISTINCT dept, ',' ORDER BY dept) FROM emp",
			[]string{"eng,ops,sales"}},
		{"fetch with ties", "SELECT name FROM emp ORDER BY salary DESC, name FETCH FIRST 2 ROWS WITH TIES",
			[]string{"Ada", "Bob"}},
		{"fetch with ties on nulls", "SELECT name FROM emp ORDER BY dept NULLS FIRST FETCH FIRST 1 ROW WITH TIES",
			[]string{"Gus"}},
		{"fetch with ties extends", "SELECT salary FROM emp ORDER BY salary DESC OFFSET 1 ROWS FETCH NEXT 1 ROW WITH TIES",
			[]string{"100", "100"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectLines(t, resultRows(run(t, s, c.sql)), c.want...)
		})
	}
}

func TestSelectClauseErrors(t *testing.T) {
	s := newWindowTestSession(t)
	cases := []struct {
		sql, code, message string
	}{
		{"SELECT DISTINCT ON (dept) dept, name FROM emp ORDER BY name", "42P10", "SELECT DISTINCT ON expressions must match initial ORDER BY expressions"},
		{"SELECT DISTINCT ON (dept, salary) dept FROM emp ORDER BY dept, name", "42P10", "SELECT DISTINCT ON expressions must match initial ORDER BY expressions"},
		{"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT t.n FROM t, t AS u) SELECT * FROM t", "42P19", `recursive reference to query "t" must not appear more than once`},
		{"WITH RECURSIVE t(n) AS (SELECT n FROM t UNION ALL SELECT 1) SELECT * FROM t", "42P19", "must not appear within its non-recursive term"},
		{"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT 2 WHERE 1 < (SELECT max(n) FROM t)) SELECT * FROM t", "42P19", `recursive reference to query "t" must not appear within a subquery`},
		{"WITH RECURSIVE t(n) AS (SELECT 1 EXCEPT SELECT n FROM t) SELECT * FROM t", "42P19", "does not have the form non-recursive-term UNION [ALL] recursive-term"},
		{"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n::bigint FROM t) SELECT * FROM t", "42804", `recursive query "t" column 1 has type integer in non-recursive term but type bigint overall`},
		{"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n FROM t) SELECT count(*) FROM t", "54000", `recursive query "t" did not finish within 1000000 iterations`},
		{"SELECT string_agg(DISTINCT name, ',' ORDER BY salary) FROM emp", "42P10", "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list"},
		{"SELECT string_agg(salary, ',') FROM emp", "42883", "function string_agg(integer, unknown) does not exist"},
		{"SELECT name FROM emp FETCH FIRST 1 ROW WITH TIES", "42601", "WITH TIES cannot be specified without ORDER BY clause"},
	}
	for _, c := range cases {
		e := runErr(t, s, c.sql)
		if string(e.Code) != c.code || !strings.Contains(e.Message, c.message) {
			t.Errorf("%s: got %s %q, want %s %q", c.sql, e.Code, e.Message, c.code, c.message)
		}
	}
}
