package executor

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/protocol"
	"github.com/pgkeep/pgkeep/security"
)

// recordingSink keeps the results of statements as text lines.
type recordingSink struct {
	lines []string
	cols  []protocol.Column
}

func (s *recordingSink) Describe(cols []protocol.Column) error {
	s.cols = cols
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	s.lines = append(s.lines, "cols: "+strings.Join(names, ","))
	return nil
}

func (s *recordingSink) Row(values []any) error {
	parts := make([]string, len(values))
	for i, v := range values {
		switch x := v.(type) {
		case nil:
			parts[i] = "NULL"
		case pgtype.Numeric:
			text, _ := x.Value()
			parts[i] = fmt.Sprint(text)
		case pgtype.TextValuer:
			text, _ := x.TextValue()
			parts[i] = text.String
		default:
			parts[i] = formatDatum(v, s.cols[i].TypeOID)
		}
	}
	s.lines = append(s.lines, strings.Join(parts, "|"))
	return nil
}

func (s *recordingSink) Complete(tag string) error {
	s.lines = append(s.lines, "tag: "+tag)
	return nil
}
func (s *recordingSink) EmptyQuery() error                        { s.lines = append(s.lines, "empty"); return nil }
func (s *recordingSink) ParameterStatus(name, value string) error { return nil }
func (s *recordingSink) Notice(severity, code, message string) error {
	s.lines = append(s.lines, "notice: "+message)
	return nil
}

func newTestServer(t *testing.T) *Server {
	t.Helper()
	engine, err := kv.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.Close() })
	cat := catalog.New(engine)
	_, err = cat.Bootstrap(catalog.BootstrapOptions{
		DatabaseName:     "postgres",
		NewRootPassword:  func() (string, string, string, error) { return "pw", "", "", nil },
		SaveRootPassword: func(string) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return NewServer(Config{
		Database:        "postgres",
		HashPassword:    func(pw string) (string, string, error) { return "bcrypt:" + pw, "scram:" + pw, nil },
		IsSCRAMVerifier: func(s string) bool { return strings.HasPrefix(s, "SCRAM-SHA-256$") },
		PasswordPolicy:  security.DefaultPasswordPolicy().Check,
	}, cat, nil)
}

func newTestSession(t *testing.T, srv *Server, user string) *Session {
	t.Helper()
	sess, _, err := srv.NewSession(context.Background(), SessionOptions{User: user, Database: "postgres"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Close)
	return sess
}

// run executes a simple query and returns its result lines.
func run(t *testing.T, s *Session, sql string) []string {
	t.Helper()
	sink := &recordingSink{}
	if err := s.ExecSimple(context.Background(), sql, sink); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return sink.lines
}

func runErr(t *testing.T, s *Session, sql string) *pgerror.Error {
	t.Helper()
	err := s.ExecSimple(context.Background(), sql, &recordingSink{})
	if err == nil {
		t.Fatalf("%s: succeeded, want an error", sql)
	}
	pe, ok := pgerror.Flatten(err)
	if !ok {
		t.Fatalf("%s: error without SQLSTATE: %v", sql, err)
	}
	return pe
}

func expectLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	e := runErr(t, s, "SELECT 1 FROM WHERE")
	if e.Code != "42601" || e.Message != `syntax error at or near "WHERE"` || e.Position != 15 {
		t.Fatalf("got %s %q at %d", e.Code, e.Message, e.Position)
	}
}

func TestUnsupportedStatementNamesIt(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	e := runErr(t, s, "LISTEN events")
	if e.Code != "0A000" || !strings.Contains(e.Message, "LISTEN") {
		t.Fatalf("got %s %q", e.Code, e.Message)
	}
}

func TestMultiStatementImplicitTransaction(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE t (a int PRIMARY KEY)")
	// The failure of the third statement undoes the first two.
	e := runErr(t, s, "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); INSERT INTO t VALUES (1)")
	if e.Code != "23505" {
		t.Fatalf("got %s %q", e.Code, e.Message)
	}
	expectLines(t, run(t, s, "SELECT count(*) FROM t"), "cols: count", "0", "tag: SELECT 1")
	// Without an error, the text commits as a whole.
	run(t, s, "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)")
	expectLines(t, run(t, s, "SELECT a FROM t ORDER BY a DESC"), "cols: a", "2", "1", "tag: SELECT 2")
	if s.TxnStatus() != 'I' {
		t.Fatalf("status %c after simple query, want I", s.TxnStatus())
	}
}

func TestFailedTransactionBlock(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE t (a int PRIMARY KEY)")
	run(t, s, "BEGIN")
	run(t, s, "INSERT INTO t VALUES (1)")
	runErr(t, s, "SELECT * FROM missing")
	if s.TxnStatus() != 'E' {
		t.Fatalf("status %c, want E", s.TxnStatus())
	}
	if e := runErr(t, s, "SELECT 1"); e.Code != "25P02" {
		t.Fatalf("got %s, want 25P02", e.Code)
	}
	expectLines(t, run(t, s, "COMMIT"), "tag: ROLLBACK")
	expectLines(t, run(t, s, "SELECT count(*) FROM t"), "cols: count", "0", "tag: SELECT 1")
}

func TestTransactionStatementTags(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	expectLines(t, run(t, s, "START TRANSACTION"), "tag: START TRANSACTION")
	expectLines(t, run(t, s, "END"), "tag: COMMIT")
	expectLines(t, run(t, s, "BEGIN"), "tag: BEGIN")

	e := runErr(t, s, "PREPARE TRANSACTION 'x'")
	if e.Code != "0A000" || e.Message != "PREPARE TRANSACTION is not supported" {
		t.Fatalf("PREPARE TRANSACTION: got %s %q", e.Code, e.Message)
	}
	expectLines(t, run(t, s, "ROLLBACK"), "tag: ROLLBACK")
	for _, sql := range []string{"COMMIT PREPARED 'x'", "ROLLBACK PREPARED 'x'"} {
		e := runErr(t, s, sql)
		want := strings.TrimSuffix(sql, " 'x'") + " is not supported"
		if e.Code != "0A000" || e.Message != want {
			t.Fatalf("%s: got %s %q, want 0A000 %q", sql, e.Code, e.Message, want)
		}
	}
}

func TestCastErrorPosition(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	// Positions as PostgreSQL 15 reports them: invalid input of a literal
	// at the literal, a cast with no conversion at the cast, and an error
	// of a value computed at run time nowhere.
	cases := []struct {
		sql      string
		code     string
		position int32
	}{
		{"SELECT 'abc'::int", "22P02", 8},
		{"SELECT CAST('abc' AS int)", "22P02", 13},
		{"SELECT 1 + int '99999999999'", "22003", 16},
		{"SELECT date '2024-01-01' + time '25:00'", "22008", 33},
		{"SELECT   '5'::int2 + 'x'::int2", "22P02", 22},
		{"SELECT '{1,a}'::int[]", "22P02", 8},
		{"SELECT 1::jsonb", "42846", 9},
		{"SELECT ('ab' || 'c')::int", "22P02", 0},
		{"SELECT 99999::int2", "22003", 0},
	}
	for _, c := range cases {
		e := runErr(t, s, c.sql)
		if string(e.Code) != c.code || e.Position != c.position {
			t.Errorf("%s: got %s at %d, want %s at %d", c.sql, e.Code, e.Position, c.code, c.position)
		}
	}
}

func TestDistinctOrderByPosition(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	// PostgreSQL 15 points at the first token of the ORDER BY item.
	e := runErr(t, s, "SELECT DISTINCT a FROM (VALUES (1), (2)) v(a) ORDER BY 2 * a + 1")
	if e.Code != "42P10" || e.Position != 56 {
		t.Fatalf("got %s at %d, want 42P10 at 56", e.Code, e.Position)
	}
}

func TestPlanCacheAndInvalidation(t *testing.T) {
	srv := newTestServer(t)
	s := newTestSession(t, srv, "root")
	run(t, s, "CREATE TABLE t (a int PRIMARY KEY, b text)")
	run(t, s, "INSERT INTO t VALUES (1, 'x')")
	const q = "SELECT * FROM t"
	run(t, s, q)
	pq := s.cache[q]
	if pq == nil || pq.stmts[0].plan == nil {
		t.Fatal("the query text was not cached with its plan")
	}
	first := pq.stmts[0].plan
	run(t, s, q)
	if s.cache[q].stmts[0].plan != first {
		t.Fatal("the plan was rebuilt without a schema change")
	}
	// A schema change from another session invalidates the plan.
	other := newTestSession(t, srv, "root")
	run(t, other, "DROP TABLE t")
	run(t, other, "CREATE TABLE t (a int PRIMARY KEY, c int)")
	expectLines(t, run(t, s, q), "cols: a,c", "tag: SELECT 0")
}

func TestParameterTypesAreInferred(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE t (a bigint PRIMARY KEY, b varchar(5), c numeric(6,2))")
	ps, err := s.Prepare(context.Background(), "INSERT INTO t VALUES ($1, $2, $3) RETURNING c", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(ps.ParamOIDs())
	want := fmt.Sprint([]uint32{oidInt8, oidVarchar, oidNumeric})
	if got != want {
		t.Fatalf("parameter types %s, want %s", got, want)
	}
	ps, err = s.Prepare(context.Background(), "SELECT a FROM t WHERE a = $1 AND b LIKE $2 LIMIT $3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(ps.ParamOIDs()), fmt.Sprint([]uint32{oidInt8, oidText, oidInt8}); got != want {
		t.Fatalf("parameter types %s, want %s", got, want)
	}
}

func TestScanSpecUsesPrimaryKey(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE t (a int, b int, c text, PRIMARY KEY (a, b))")
	cases := []struct {
		where       string
		eq          int
		point       bool
		lo, hi      bool
		loIncl, hi2 bool
	}{
		{where: "a = 1 AND b = 2", eq: 2, point: true},
		{where: "b = 2 AND a = 1 AND c = 'x'", eq: 2, point: true},
		{where: "a = 1", eq: 1},
		{where: "a = 1 AND b > 5", eq: 1, lo: true},
		{where: "a >= 1 AND a < 9", lo: true, hi: true, loIncl: true},
		{where: "b = 2"},
		{where: "a + 0 = 1"},
		{where: "a = 1 OR a = 2"},
	}
	for _, c := range cases {
		t.Run(c.where, func(t *testing.T) {
			st, err := parseQuery("SELECT * FROM t WHERE " + c.where)
			if err != nil {
				t.Fatal(err)
			}
			var sp *selectPlan
			err = s.withReadTxn(func(txn kv.Txn) error {
				a := &analyser{sess: s, txn: txn, params: &paramTypes{}}
				var err error
				sp, err = a.analyseSelect(st.stmts[0].node.GetSelectStmt())
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			spec := sp.from.(*tableRelation).spec
			if len(spec.eq) != c.eq || spec.point != c.point || (spec.lo != nil) != c.lo || (spec.hi != nil) != c.hi || (c.lo && spec.loInclusive != c.loIncl) {
				t.Fatalf("spec = eq %d point %v lo %v hi %v loIncl %v", len(spec.eq), spec.point, spec.lo != nil, spec.hi != nil, spec.loInclusive)
			}
		})
	}
	// The derived ranges return the same rows as a full scan would.
	run(t, s, "INSERT INTO t VALUES (1, 1, 'a'), (1, 6, 'b'), (2, 2, 'c'), (9, 0, 'd'), (0, 9, 'e')")
	expectLines(t, run(t, s, "SELECT c FROM t WHERE a = 1 AND b > 5"), "cols: c", "b", "tag: SELECT 1")
	expectLines(t, run(t, s, "SELECT c FROM t WHERE a >= 1 AND a < 9 ORDER BY c"), "cols: c", "a", "b", "c", "tag: SELECT 3")
	expectLines(t, run(t, s, "SELECT c FROM t WHERE 2 = a AND b <= 2"), "cols: c", "c", "tag: SELECT 1")
	expectLines(t, run(t, s, "SELECT c FROM t WHERE a = NULL"), "cols: c", "tag: SELECT 0")
}

func TestExtensionParser(t *testing.T) {
	cases := []struct {
		sql      string
		ok       bool
		name     string
		role     string
		password string
		internal bool
	}{
		{sql: "CREATE USER alice WITH PASSWORD 'pw-1' ROLE dba", ok: true, name: "alice", role: "dba", password: "pw-1"},
		{sql: "create user \"Mixed\" with password 'it''s' role service;", ok: true, name: "Mixed", role: "service", password: "it's"},
		{sql: "CREATE USER 'quoted name' WITH INTERNAL ROLE system", ok: true, name: "quoted name", role: "system", internal: true},
		{sql: "CREATE USER /* comment */ bob WITH PASSWORD $$dollar$$ EMAIL 'b@x.org' ROLE user", ok: true, name: "bob", role: "user", password: "dollar"},
		{sql: "CREATE USER IF NOT EXISTS carol WITH PASSWORD 'x' ROLE user", ok: true, name: "carol", role: "user", password: "x"},
		{sql: "CREATE USER dave WITH LOGIN PASSWORD 'x'", ok: false},
		{sql: "SELECT 'CREATE USER x ROLE dba'", ok: false},
	}
	for _, c := range cases {
		pre, err := preparse(c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		ext, ok := pre.ext, pre.ext != nil
		if ok != c.ok {
			t.Fatalf("%s: recognised=%v, want %v", c.sql, ok, c.ok)
		}
		if !ok {
			continue
		}
		cu := ext.createUser
		pw := ""
		if cu.password != nil {
			pw = *cu.password
		}
		if cu.name != c.name || cu.role != c.role || pw != c.password || cu.internal != c.internal {
			t.Fatalf("%s: got %+v (password %q)", c.sql, cu, pw)
		}
	}
	if _, err := preparse("CREATE USER x WITH PASSWORD 'a' INTERNAL ROLE dba"); err == nil {
		t.Fatal("PASSWORD together with INTERNAL was accepted")
	}
}

func TestUserManagementPermissions(t *testing.T) {
	srv := newTestServer(t)
	root := newTestSession(t, srv, "root")
	run(t, root, "CREATE USER alice WITH PASSWORD 'Alice-pass-1' ROLE dba")
	run(t, root, "CREATE USER bob WITH LOGIN PASSWORD 'Bob-pass-123'")
	verifier := (&security.Verifier{
		Iterations: 4096,
		Salt:       []byte("sixteen byte salt"[:16]),
		StoredKey:  make([]byte, 32),
		ServerKey:  make([]byte, 32),
	}).String()
	run(t, root, "CREATE USER vera WITH PASSWORD '"+verifier+"' ROLE user")

	bob := newTestSession(t, srv, "bob")
	for _, sql := range []string{"CREATE USER eve WITH PASSWORD 'Eve-pass-1234'", "DROP USER alice", "CREATE TABLE t (a int)"} {
		if e := runErr(t, bob, sql); e.Code != "42501" {
			t.Errorf("%s as user: %s %q, want 42501", sql, e.Code, e.Message)
		}
	}
	alice := newTestSession(t, srv, "alice")
	if e := runErr(t, alice, "CREATE USER sys2 WITH PASSWORD 'Sys-pass-1234' ROLE system"); e.Code != "42501" {
		t.Errorf("dba creating a system user: %s", e.Code)
	}
	if e := runErr(t, alice, "DROP USER root"); e.Code != "42501" {
		t.Errorf("dba dropping root: %s", e.Code)
	}
	if e := runErr(t, alice, "CREATE USER bob WITH PASSWORD 'x' ROLE user"); e.Code != "42710" {
		t.Errorf("duplicate user: %s", e.Code)
	}
	run(t, alice, "DROP USER bob")
	if e := runErr(t, alice, "DROP USER bob"); e.Code != "42704" {
		t.Errorf("dropping a dropped user: %s", e.Code)
	}

	txn, _ := srv.cat.Engine().Begin()
	defer txn.Rollback()
	vera, _ := srv.cat.User(txn, "vera")
	if vera.SCRAMVerifier != verifier || vera.BcryptHash != "" {
		t.Fatalf("a SCRAM verifier given as password was not stored as is: %+v", vera)
	}
	bobDesc, _ := srv.cat.User(txn, "bob")
	if bobDesc.Active() || bobDesc.Role != "user" {
		t.Fatalf("bob after DROP USER: %+v", bobDesc)
	}
}

func TestNumericDivisionScale(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	// Expected values are PostgreSQL 15's output for the same expressions.
	cases := map[string]string{
		"1.0/3":                          "0.33333333333333333333",
		"7.0/2":                          "3.5000000000000000",
		"10::numeric/4":                  "2.5000000000000000",
		"2147483648::numeric/2":          "1073741824.00000000",
		"9223372036854775807::numeric/2": "4611686018427387904",
		"1/3::numeric":                   "0.33333333333333333333",
		"0.001::numeric/7":               "0.00014285714285714286",
		"123456789::numeric/0.001":       "123456789000.00000000",
		"2/3.00000000000000000001":       "0.66666666666666666666",
	}
	for expr, want := range cases {
		lines := run(t, s, "SELECT "+expr)
		if len(lines) != 3 || lines[1] != want {
			t.Errorf("%s = %v, want %s", expr, lines, want)
		}
	}
}

func TestNotNullViolationShowsRow(t *testing.T) {
	s := newTestSession(t, newTestServer(t), "root")
	run(t, s, "CREATE TABLE nn (id int PRIMARY KEY, a text NOT NULL, b numeric(5,2), c timestamptz DEFAULT '2024-01-02 03:04:05+00')")
	cases := []struct{ sql, detail string }{
		{"INSERT INTO nn (id, b) VALUES (1, 5)", "Failing row contains (1, null, 5.00, 2024-01-02 03:04:05+00)."},
		{"UPDATE nn SET a = NULL WHERE id = 2", "Failing row contains (2, null, 1.50, 2024-01-02 03:04:05+00)."},
	}
	run(t, s, "INSERT INTO nn VALUES (2, 'x', 1.5)")
	for _, c := range cases {
		pe := runErr(t, s, c.sql)
		if pe.Code != "23502" || pe.Message != `null value in column "a" of relation "nn" violates not-null constraint` {
			t.Errorf("%s: %s %s", c.sql, pe.Code, pe.Message)
		}
		if pe.Detail != c.detail {
			t.Errorf("%s: detail %q, want %q", c.sql, pe.Detail, c.detail)
		}
	}
}
