package executor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pgkeep/pgkeep/pgerror"
)

// accessFixture is a server with one user of each role and tables of
// every kind and access level, created by the dba ops.
type accessFixture struct {
	srv      *Server
	sessions map[string]*Session
}

var fixtureUsers = []struct{ name, role string }{
	{"alice", "user"}, {"bob", "user"}, {"svc", "service"}, {"ops", "dba"}, {"root", "system"},
}

func newAccessFixture(t *testing.T) *accessFixture {
	t.Helper()
	srv := newTestServer(t)
	root := newTestSession(t, srv, "root")
	for _, u := range fixtureUsers[:4] {
		run(t, root, fmt.Sprintf("CREATE USER %s WITH PASSWORD 'Long-enough-pw-1' ROLE %s", u.name, u.role))
	}
	f := &accessFixture{srv: srv, sessions: map[string]*Session{}}
	for _, u := range fixtureUsers {
		f.sessions[u.name] = newTestSession(t, srv, u.name)
	}
	ops := f.sessions["ops"]
	for _, level := range []string{"public", "private", "restricted"} {
		run(t, ops, fmt.Sprintf("CREATE TABLE shared_%s (id int PRIMARY KEY, v text) WITH (access_level = '%s')", level, level))
		run(t, ops, fmt.Sprintf("INSERT INTO shared_%s VALUES (1, 'one')", level))
	}
	run(t, ops, "CREATE USER TABLE notes (id int PRIMARY KEY, body text)")
	run(t, ops, "CREATE STREAM TABLE events (id int PRIMARY KEY, body text) TTL 60")
	return f
}

// exec runs sql as user and returns "ok" or the SQLSTATE.
func (f *accessFixture) exec(user, sql string) string {
	err := f.sessions[user].ExecSimple(context.Background(), sql, &recordingSink{})
	if err == nil {
		return "ok"
	}
	return string(pgerror.GetCode(err))
}

func (f *accessFixture) query(t *testing.T, user, sql string) []string {
	t.Helper()
	lines := run(t, f.sessions[user], sql)
	// Drop the column header and the command tag.
	return lines[1 : len(lines)-1]
}

func TestSharedTableAccessMatrix(t *testing.T) {
	f := newAccessFixture(t)
	// allowed[level][role] is "r", "rw" or "" as the access rule table
	// defines for users who do not own the table.
	allowed := map[string]map[string]string{
		"public":     {"user": "r", "service": "rw", "dba": "rw", "system": "rw"},
		"private":    {"user": "", "service": "rw", "dba": "rw", "system": "rw"},
		"restricted": {"user": "", "service": "", "dba": "rw", "system": "rw"},
	}
	ops := []struct{ name, sql string }{
		{"select", "SELECT count(*) FROM shared_%s"},
		{"insert", "INSERT INTO shared_%s VALUES (%d, 'x')"},
		{"update", "UPDATE shared_%s SET v = 'y' WHERE id = 1"},
		{"delete", "DELETE FROM shared_%s WHERE id = %d"},
	}
	id := 100
	for _, level := range []string{"public", "private", "restricted"} {
		for _, u := range []string{"alice", "svc", "ops", "root"} {
			role := roleOf(u)
			for _, op := range ops {
				t.Run(level+"/"+role+"/"+op.name, func(t *testing.T) {
					id++
					sql := fmt.Sprintf(op.sql, level)
					if strings.Count(op.sql, "%") == 2 {
						sql = fmt.Sprintf(op.sql, level, id)
					}
					want := "42501"
					rights := allowed[level][role]
					if (op.name == "select" && rights != "") || rights == "rw" {
						want = "ok"
					}
					if got := f.exec(u, sql); got != want {
						t.Fatalf("%s as %s: %s, want %s", sql, u, got, want)
					}
				})
			}
		}
	}
}

func roleOf(user string) string {
	for _, u := range fixtureUsers {
		if u.name == user {
			return u.role
		}
	}
	return ""
}

func TestTableOwnerKeepsAccess(t *testing.T) {
	f := newAccessFixture(t)
	// ops created the tables; demoted to service it still owns them, so
	// the restricted table stays writable for it but not for svc.
	run(t, f.sessions["root"], "ALTER USER ops SET ROLE service")
	for _, sql := range []string{"SELECT * FROM shared_restricted", "INSERT INTO shared_restricted VALUES (7, 'owner')"} {
		if got := f.exec("ops", sql); got != "ok" {
			t.Errorf("%s as the demoted owner: %s, want ok", sql, got)
		}
		if got := f.exec("svc", sql); got != "42501" {
			t.Errorf("%s as service: %s, want 42501", sql, got)
		}
	}
	// Its DDL rights are gone at the next statement.
	if got := f.exec("ops", "CREATE TABLE later (a int)"); got != "42501" {
		t.Errorf("CREATE TABLE after demotion: %s, want 42501", got)
	}
}

func TestUserTableRowsPerUser(t *testing.T) {
	f := newAccessFixture(t)
	for _, u := range []string{"alice", "bob", "svc", "ops"} {
		run(t, f.sessions[u], fmt.Sprintf("INSERT INTO notes VALUES (1, 'first of %s'), (2, 'second of %s')", u, u))
	}
	// Primary keys are unique per user, so every user could use id 1.
	expectLines(t, f.query(t, "alice", "SELECT body FROM notes ORDER BY id"), "first of alice", "second of alice")
	expectLines(t, f.query(t, "bob", "SELECT body FROM notes WHERE id = 2"), "second of bob")
	expectLines(t, f.query(t, "alice", "SELECT count(*) FROM notes WHERE body LIKE '%bob%'"), "0")

	// service, dba and system read everyone's rows and see the owner.
	expectLines(t, f.query(t, "svc", "SELECT _user, count(*) FROM notes GROUP BY _user ORDER BY _user"),
		"alice|2", "bob|2", "ops|2", "svc|2")
	expectLines(t, f.query(t, "root", "SELECT count(*) FROM notes"), "8")
	// SELECT * leaves _user out.
	expectLines(t, run(t, f.sessions["svc"], "SELECT * FROM notes WHERE id = 1 AND _user = 'bob'")[:1], "cols: id,body")

	// UPDATE and DELETE without WHERE touch only the caller's rows, for
	// every role.
	expectLines(t, run(t, f.sessions["bob"], "UPDATE notes SET body = 'changed'"), "tag: UPDATE 2")
	expectLines(t, run(t, f.sessions["svc"], "DELETE FROM notes"), "tag: DELETE 2")
	expectLines(t, f.query(t, "alice", "SELECT body FROM notes ORDER BY id"), "first of alice", "second of alice")
	expectLines(t, f.query(t, "ops", "SELECT _user, body FROM notes ORDER BY _user, id"),
		"alice|first of alice", "alice|second of alice", "bob|changed", "bob|changed", "ops|first of ops", "ops|second of ops")

	// Prepared statements follow the same rule.
	ps, err := f.sessions["alice"].Prepare(context.Background(), "SELECT body FROM notes WHERE id = $1", nil)
	if err != nil {
		t.Fatal(err)
	}
	portal, err := f.sessions["alice"].Bind(context.Background(), ps, []any{"2"})
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{cols: ps.Columns()}
	if _, err := portal.Execute(context.Background(), sink, 0); err != nil {
		t.Fatal(err)
	}
	expectLines(t, sink.lines, "second of alice", "tag: SELECT 1")
}

func TestExecuteAsUser(t *testing.T) {
	f := newAccessFixture(t)
	run(t, f.sessions["svc"], "EXECUTE AS USER 'alice' (INSERT INTO notes VALUES (5, 'written by svc for alice'))")
	expectLines(t, f.query(t, "alice", "SELECT body FROM notes"), "written by svc for alice")
	expectLines(t, f.query(t, "svc", "SELECT _user FROM notes"), "alice")

	cases := []struct{ actor, target, want string }{
		{"bob", "alice", "42501"},
		{"bob", "bob", "ok"},
		{"svc", "ops", "42501"},
		{"svc", "svc", "ok"},
		{"ops", "svc", "ok"},
		{"ops", "root", "42501"},
		{"root", "ops", "ok"},
		{"root", "nobody", "42704"},
	}
	for i, c := range cases {
		sql := fmt.Sprintf("EXECUTE AS USER '%s' (INSERT INTO notes VALUES (%d, 'x'))", c.target, 100+i)
		if got := f.exec(c.actor, sql); got != c.want {
			t.Errorf("%s as %s: %s, want %s", sql, c.actor, got, c.want)
		}
	}
}

func TestExecuteAsUserReturnsRows(t *testing.T) {
	f := newAccessFixture(t)
	run(t, f.sessions["alice"], "INSERT INTO notes VALUES (1, 'mine'), (2, 'also mine')")
	run(t, f.sessions["bob"], "INSERT INTO notes VALUES (1, 'bob''s')")

	// A SELECT as alice reads alice's rows only, and sends them.
	expectLines(t, run(t, f.sessions["svc"], "EXECUTE AS USER 'alice' (SELECT id, body FROM notes ORDER BY id)"),
		"cols: id,body", "1|mine", "2|also mine", "tag: SELECT 2")
	// RETURNING rows of a write come back too.
	expectLines(t, run(t, f.sessions["svc"], "EXECUTE AS USER 'bob' (UPDATE notes SET body = 'edited' WHERE id = 1 RETURNING id, body)"),
		"cols: id,body", "1|edited", "tag: UPDATE 1")
	// Statements without rows keep their tag only.
	expectLines(t, run(t, f.sessions["svc"], "EXECUTE AS USER 'bob' (DELETE FROM notes WHERE id = 1)"), "tag: DELETE 1")
	// A user naming another target learns nothing from the columns: the
	// statement fails before any row.
	if got := f.exec("bob", "EXECUTE AS USER 'alice' (SELECT id FROM notes)"); got != "42501" {
		t.Errorf("bob as alice: %s, want 42501", got)
	}
}

func TestCreateDenialNamesSchema(t *testing.T) {
	f := newAccessFixture(t)
	bob := f.sessions["bob"]
	for _, sql := range []string{"CREATE TABLE bobtab (a int)", "CREATE VIEW bobview AS SELECT 1", "CREATE SEQUENCE bobseq"} {
		if pe := runErr(t, bob, sql); pe.Code != "42501" || pe.Message != `permission denied for schema public` {
			t.Errorf("%s: %s %q, want 42501 permission denied for schema public", sql, pe.Code, pe.Message)
		}
	}
	if pe := runErr(t, bob, "CREATE TABLE system.bobtab (a int)"); pe.Message != `permission denied for schema system` {
		t.Errorf("CREATE TABLE system.bobtab: %q", pe.Message)
	}
	want := "permission denied for database " + bob.database
	if pe := runErr(t, bob, "CREATE SCHEMA bobs"); pe.Code != "42501" || pe.Message != want {
		t.Errorf("CREATE SCHEMA: %s %q, want 42501 %q", pe.Code, pe.Message, want)
	}
}

func TestDDLNeedsDBA(t *testing.T) {
	f := newAccessFixture(t)
	statements := []string{
		"CREATE TABLE t_%s (a int)", "DROP TABLE IF EXISTS nothing_%s", "CREATE SCHEMA s_%s", "DROP SCHEMA IF EXISTS none_%s",
	}
	for _, u := range []string{"alice", "svc", "ops", "root"} {
		for _, tmpl := range statements {
			sql := fmt.Sprintf(tmpl, u)
			want := "42501"
			if u == "ops" || u == "root" {
				want = "ok"
			}
			if got := f.exec(u, sql); got != want {
				t.Errorf("%s as %s: %s, want %s", sql, u, got, want)
			}
		}
	}
}

func TestAccessLevelChanges(t *testing.T) {
	f := newAccessFixture(t)
	cases := []struct{ user, sql, want string }{
		{"svc", "ALTER TABLE shared_public SET ACCESS LEVEL private", "ok"},
		{"svc", "ALTER TABLE shared_private SET ACCESS LEVEL public", "ok"},
		{"svc", "ALTER TABLE shared_private SET ACCESS LEVEL restricted", "42501"},
		{"svc", "ALTER TABLE shared_restricted SET ACCESS LEVEL public", "42501"},
		{"alice", "ALTER TABLE shared_private SET ACCESS LEVEL public", "42501"},
		{"ops", "ALTER TABLE shared_restricted SET ACCESS LEVEL public", "ok"},
		{"ops", "ALTER TABLE notes SET ACCESS LEVEL public", "22023"},
		{"svc", "ALTER TABLE shared_public SET (access_level = 'private')", "ok"},
		{"svc", "ALTER TABLE shared_public SET (access_level = 'restricted')", "42501"},
		{"ops", "ALTER TABLE shared_public SET (fillfactor = 50)", "0A000"},
	}
	for _, c := range cases {
		if got := f.exec(c.user, c.sql); got != c.want {
			t.Errorf("%s as %s: %s, want %s", c.sql, c.user, got, c.want)
		}
	}
	// The new level applies at once.
	if got := f.exec("alice", "SELECT * FROM shared_restricted"); got != "ok" {
		t.Errorf("alice reading the table made public: %s", got)
	}
}

func TestTableKindOptions(t *testing.T) {
	f := newAccessFixture(t)
	cases := []struct{ sql, want string }{
		{"CREATE TABLE k1 (a int) WITH (type = 'user')", "ok"},
		{"CREATE SHARED TABLE k2 (a int) ACCESS LEVEL public", "ok"},
		{"CREATE TABLE k3 (a int) WITH (type = 'stream', ttl_seconds = 30)", "ok"},
		{"CREATE STREAM TABLE k4 (a int)", "22023"},
		{"CREATE USER TABLE k5 (a int) ACCESS LEVEL public", "22023"},
		{"CREATE TABLE k6 (a int) WITH (type = 'other')", "22023"},
		{"CREATE TABLE k7 (a int) WITH (access_level = 'secret')", "22023"},
		{"CREATE TABLE k8 (a int) WITH (bogus_option = 70)", "22023"},
	}
	for _, c := range cases {
		if got := f.exec("ops", c.sql); got != c.want {
			t.Errorf("%s: %s, want %s", c.sql, got, c.want)
		}
	}
	expectLines(t, f.query(t, "alice", "SELECT name, type, access_level, ttl_seconds FROM system.tables WHERE name LIKE 'k%' ORDER BY name"),
		"k1|user|NULL|NULL", "k2|shared|public|NULL", "k3|stream|NULL|30")
}

func TestSystemTablesAreReadOnly(t *testing.T) {
	f := newAccessFixture(t)
	for _, u := range []string{"alice", "svc", "ops", "root"} {
		if got := f.exec(u, "SELECT * FROM system.namespaces"); got != "ok" {
			t.Errorf("%s reading system.namespaces: %s", u, got)
		}
		if got := f.exec(u, "INSERT INTO system.users (username) VALUES ('x')"); got != "42501" {
			t.Errorf("%s inserting into system.users: %s, want 42501", u, got)
		}
		if got := f.exec(u, "DELETE FROM system.tables"); got != "42501" {
			t.Errorf("%s deleting from system.tables: %s, want 42501", u, got)
		}
	}
	// user and service see only their own row of system.users.
	expectLines(t, f.query(t, "alice", "SELECT username, role FROM system.users"), "alice|user")
	expectLines(t, f.query(t, "svc", "SELECT username FROM system.users"), "svc")
	expectLines(t, f.query(t, "ops", "SELECT count(*) FROM system.users"), "5")
	// No column exposes a hash or verifier.
	cols := run(t, f.sessions["root"], "SELECT * FROM system.users WHERE username = 'alice'")[0]
	if strings.Contains(cols, "hash") || strings.Contains(cols, "verifier") || strings.Contains(cols, "password") {
		t.Fatalf("system.users columns %q expose a secret", cols)
	}
}

func TestDropAndRestoreUser(t *testing.T) {
	f := newAccessFixture(t)
	run(t, f.sessions["ops"], "DROP USER bob")
	expectLines(t, f.query(t, "ops", "SELECT count(*) FROM system.users WHERE username = 'bob'"), "0")
	expectLines(t, f.query(t, "ops", "SELECT username FROM system.users WHERE deleted_at IS NOT NULL"), "bob")
	if got := f.exec("svc", "UPDATE system.users SET deleted_at = NULL WHERE username = 'bob'"); got != "42501" {
		t.Fatalf("restore by service: %s, want 42501", got)
	}
	if got := f.exec("ops", "UPDATE system.users SET role = 'dba' WHERE username = 'bob'"); got != "42501" {
		t.Fatalf("other change of system.users: %s, want 42501", got)
	}
	expectLines(t, run(t, f.sessions["ops"], "UPDATE system.users SET deleted_at = NULL WHERE username = 'bob'"), "tag: UPDATE 1")
	expectLines(t, f.query(t, "ops", "SELECT username, deleted_at FROM system.users WHERE username = 'bob'"), "bob|NULL")
}

func TestUserManagementRules(t *testing.T) {
	f := newAccessFixture(t)
	cases := []struct{ user, sql, want string }{
		{"alice", "ALTER USER alice SET PASSWORD 'Another-long-pw-2'", "ok"},
		{"alice", "ALTER USER alice SET EMAIL 'alice@example.org'", "ok"},
		{"alice", "ALTER USER alice SET ROLE dba", "42501"},
		{"alice", "ALTER USER bob SET EMAIL 'x@example.org'", "42501"},
		{"ops", "ALTER USER alice SET ROLE service", "ok"},
		{"ops", "ALTER USER alice SET ROLE system", "42501"},
		{"ops", "ALTER USER root SET PASSWORD 'Long-enough-pw-9'", "42501"},
		{"ops", "CREATE USER eve WITH PASSWORD 'short'", "22023"},
		{"ops", "CREATE USER eve WITH PASSWORD 'password123'", "22023"},
		{"ops", "CREATE USER eve WITH PASSWORD 'Long-enough-pw-3' ROLE wizard", "22023"},
		{"ops", "CREATE USER eve WITH PASSWORD 'Long-enough-pw-3' EMAIL 'not an address'", "22023"},
		{"ops", "CREATE USER gina WITH OAUTH '{\"provider\": \"https://id.example\", \"subject\": \"42\"}'", "ok"},
		{"ops", "CREATE USER hugo WITH OAUTH '{\"provider\": \"\"}'", "22023"},
		{"ops", "ALTER USER gina SET PASSWORD 'Long-enough-pw-4'", "22023"},
		{"root", "DROP USER root", "55006"},
		{"root", "ALTER USER root SET ROLE dba", "42501"},
	}
	for _, c := range cases {
		if got := f.exec(c.user, c.sql); got != c.want {
			t.Errorf("%s as %s: %s, want %s", c.sql, c.user, got, c.want)
		}
	}
	// A policy error never echoes the password.
	err := f.sessions["ops"].ExecSimple(context.Background(), "CREATE USER eve WITH PASSWORD 'qwerty-secret'", &recordingSink{})
	if err != nil && strings.Contains(err.Error(), "qwerty-secret") {
		t.Fatalf("error %q contains the password", err)
	}
}

func TestStreamTTLAndSweep(t *testing.T) {
	clock := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	srv := newTestServer(t)
	srv.cfg.Now = func() time.Time { return clock }
	root := newTestSession(t, srv, "root")
	run(t, root, "CREATE STREAM TABLE events (id int PRIMARY KEY, body text) TTL 60")
	run(t, root, "INSERT INTO events VALUES (1, 'old')")
	clock = clock.Add(45 * time.Second)
	run(t, root, "INSERT INTO events VALUES (2, 'new')")
	expectLines(t, run(t, root, "SELECT body FROM events ORDER BY id")[1:3], "old", "new")

	// Past the TTL the first row is invisible at once, before any sweep.
	clock = clock.Add(30 * time.Second)
	expectLines(t, run(t, root, "SELECT body FROM events ORDER BY id")[1:2], "new")
	n, err := srv.SweepExpiredStreamRows(clock)
	if err != nil || n != 1 {
		t.Fatalf("sweep removed %d rows, %v; want 1", n, err)
	}
	clock = clock.Add(time.Hour)
	n, err = srv.SweepExpiredStreamRows(clock)
	if err != nil || n != 1 {
		t.Fatalf("second sweep removed %d rows, %v; want 1", n, err)
	}
}

func TestPurgeDeletedUsers(t *testing.T) {
	f := newAccessFixture(t)
	run(t, f.sessions["bob"], "INSERT INTO notes VALUES (1, 'bob'), (2, 'bob')")
	run(t, f.sessions["alice"], "INSERT INTO notes VALUES (1, 'alice')")
	run(t, f.sessions["ops"], "DROP USER bob")

	now := time.Now()
	purged, err := f.srv.PurgeDeletedUsers(now, 30*24*time.Hour)
	if err != nil || len(purged) != 0 {
		t.Fatalf("purge inside the grace period: %v, %v", purged, err)
	}
	purged, err = f.srv.PurgeDeletedUsers(now.Add(31*24*time.Hour), 30*24*time.Hour)
	if err != nil || len(purged) != 1 || purged[0].Name != "bob" || purged[0].RowsRemoved != 2 {
		t.Fatalf("purge after the grace period: %+v, %v", purged, err)
	}
	expectLines(t, f.query(t, "ops", "SELECT _user, body FROM notes"), "alice|alice")
	expectLines(t, f.query(t, "ops", "SELECT count(*) FROM system.users WHERE deleted_at IS NOT NULL"), "0")
}

func TestPerUserTableAccessMatrix(t *testing.T) {
	f := newAccessFixture(t)
	ops := []struct{ name, sql string }{
		{"insert", "INSERT INTO %s VALUES (1, 'mine')"},
		{"select", "SELECT count(*) FROM %s"},
		{"update", "UPDATE %s SET body = 'changed' WHERE id = 1"},
		{"delete", "DELETE FROM %s WHERE id = 1"},
	}
	// Every role may use USER and STREAM tables; the rows decide the rest.
	for _, table := range []string{"notes", "events"} {
		for _, u := range []string{"alice", "svc", "ops", "root"} {
			for _, op := range ops {
				t.Run(table+"/"+roleOf(u)+"/"+op.name, func(t *testing.T) {
					sql := fmt.Sprintf(op.sql, table)
					if got := f.exec(u, sql); got != "ok" {
						t.Fatalf("%s as %s: %s, want ok", sql, u, got)
					}
				})
			}
		}
	}
}

func TestAccessReviewFindings(t *testing.T) {
	f := newAccessFixture(t)

	// EXECUTE AS USER runs only row statements, so a service cannot act
	// as a user to change that user's password.
	for _, sql := range []string{
		"EXECUTE AS USER 'bob' (ALTER USER bob SET PASSWORD 'Hijacked-pass-2')",
		"EXECUTE AS USER 'svc' (CREATE TABLE sneaky (a int))",
		"EXECUTE AS USER 'bob' (EXECUTE AS USER 'bob' (SELECT 1))",
	} {
		if got := f.exec("svc", sql); got != "42501" {
			t.Errorf("%s: %s, want 42501", sql, got)
		}
	}
	// Inside EXECUTE AS, current_user is the target, session_user the caller.
	run(t, f.sessions["svc"], "EXECUTE AS USER 'alice' (INSERT INTO notes SELECT 77, current_user || '/' || session_user)")
	expectLines(t, f.query(t, "alice", "SELECT body FROM notes WHERE id = 77"), "alice/svc")

	// A user gets the same answer whether or not the target exists.
	for _, target := range []string{"root", "ops", "nobody"} {
		for _, sql := range []string{
			"EXECUTE AS USER '" + target + "' (SELECT 1)",
			"DROP USER " + target,
			"ALTER USER " + target + " SET EMAIL 'x@example.org'",
		} {
			err := f.sessions["alice"].ExecSimple(context.Background(), sql, &recordingSink{})
			pe, _ := pgerror.Flatten(err)
			if pe.Code != "42501" || strings.Contains(pe.Detail, "Required role: system") {
				t.Errorf("%s as alice: %s %q %q", sql, pe.Code, pe.Message, pe.Detail)
			}
		}
	}

	// A pre-hashed verifier must be well formed and use enough iterations.
	weak := "SCRAM-SHA-256$1:MDEyMzQ1Njc4OWFiY2RlZg==$LGN1j/Gl12Hju1vc4FA0GO4UdaQbu+VkOqPeB+j9j+0=:r9y2O3Kq2aDA7XOnYvBFirLW8nnHrnkbi5ILb6ZJE60="
	if got := f.exec("alice", "ALTER USER alice SET PASSWORD '"+weak+"'"); got != "22023" {
		t.Errorf("weak SCRAM verifier: %s, want 22023", got)
	}

	// Role names are stored in their canonical form.
	run(t, f.sessions["root"], `CREATE USER dana WITH PASSWORD 'Long-enough-pw-5' ROLE "DBA"`)
	expectLines(t, f.query(t, "root", "SELECT role FROM system.users WHERE username = 'dana'"), "dba")

	// A dropped user whose name is taken again stays restorable later.
	run(t, f.sessions["ops"], "DROP USER bob")
	run(t, f.sessions["ops"], "CREATE USER bob WITH PASSWORD 'Long-enough-pw-6'")
	expectLines(t, f.query(t, "ops", "SELECT count(*) FROM system.users WHERE username = 'bob' AND deleted_at IS NOT NULL"), "1")
	if got := f.exec("ops", "UPDATE system.users SET deleted_at = NULL WHERE username = 'bob' AND deleted_at IS NOT NULL"); got != "42710" {
		t.Errorf("restoring bob while the name is taken: %s, want 42710", got)
	}
}

func TestLastSystemUserRace(t *testing.T) {
	f := newAccessFixture(t)
	run(t, f.sessions["root"], "CREATE USER sysa WITH PASSWORD 'Long-enough-pw-7' ROLE system")
	sysa := newTestSession(t, f.srv, "sysa")
	root := f.sessions["root"]
	run(t, root, "BEGIN")
	run(t, sysa, "BEGIN")
	run(t, root, "ALTER USER sysa SET ROLE dba")
	run(t, sysa, "ALTER USER root SET ROLE dba")
	run(t, root, "COMMIT")
	if e := runErr(t, sysa, "COMMIT"); e.Code != "40001" {
		t.Fatalf("second demotion: %s, want 40001", e.Code)
	}
	expectLines(t, f.query(t, "ops", "SELECT count(*) FROM system.users WHERE role = 'system'"), "1")
}

func TestExpiredStreamKeyReuse(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := newTestServer(t)
	srv.cfg.Now = func() time.Time { return clock }
	root := newTestSession(t, srv, "root")
	run(t, root, "CREATE STREAM TABLE ev (id int PRIMARY KEY, v text) TTL 5")
	run(t, root, "INSERT INTO ev VALUES (1, 'old')")
	if e := runErr(t, root, "INSERT INTO ev VALUES (1, 'again')"); e.Code != "23505" {
		t.Fatalf("live key: %s, want 23505", e.Code)
	}
	clock = clock.Add(7 * time.Second)
	run(t, root, "INSERT INTO ev VALUES (1, 'new')")
	expectLines(t, run(t, root, "SELECT v FROM ev"), "cols: v", "new", "tag: SELECT 1")
}

func TestAuditLog(t *testing.T) {
	f := newAccessFixture(t)
	run(t, f.sessions["ops"], "CREATE USER erin WITH PASSWORD 'Erin-secret-pass-9' ROLE user")
	run(t, f.sessions["ops"], "ALTER USER erin SET ROLE service")
	run(t, f.sessions["ops"], "ALTER USER erin SET PASSWORD 'Erin-other-pass-8'")
	run(t, f.sessions["ops"], "ALTER TABLE shared_private SET ACCESS LEVEL public")
	run(t, f.sessions["svc"], "EXECUTE AS USER 'alice' (INSERT INTO notes VALUES (3, 'x'))")
	run(t, f.sessions["ops"], "DROP USER erin")
	run(t, f.sessions["ops"], "UPDATE system.users SET deleted_at = NULL WHERE username = 'erin'")

	got := f.query(t, "root", "SELECT actor, action, target, coalesce(detail, '') FROM system.audit_log ORDER BY id")
	want := []string{
		"root|create user|alice|role=user auth_type=password password=[REDACTED]",
		"root|create user|bob|role=user auth_type=password password=[REDACTED]",
		"root|create user|svc|role=service auth_type=password password=[REDACTED]",
		"root|create user|ops|role=dba auth_type=password password=[REDACTED]",
		"ops|create user|erin|role=user auth_type=password password=[REDACTED]",
		"ops|change role|erin|user -> service",
		"ops|alter user|erin|password=[REDACTED]",
		"ops|change access level|shared_private|private -> public",
		"svc|execute as user|alice|INSERT 0 1",
		"ops|drop user|erin|",
		"ops|restore user|erin|",
	}
	expectLines(t, got, want...)
	all := strings.Join(got, "\n")
	if strings.Contains(all, "Erin-secret-pass-9") || strings.Contains(all, "Erin-other-pass-8") {
		t.Fatal("a password appears in the audit log")
	}
	for _, u := range []string{"alice", "svc"} {
		if got := f.exec(u, "SELECT * FROM system.audit_log"); got != "42501" {
			t.Errorf("%s reading the audit log: %s, want 42501", u, got)
		}
	}
	// Entries older than the retention are pruned.
	n, err := f.srv.PruneAuditLog(time.Now().Add(91*24*time.Hour), 90*24*time.Hour)
	if err != nil || n != len(want) {
		t.Fatalf("pruned %d entries, %v; want %d", n, err, len(want))
	}
}

func TestSchemaOwnerIsCreator(t *testing.T) {
	f := newAccessFixture(t)
	run(t, f.sessions["ops"], "CREATE SCHEMA ops_area")
	expectLines(t, f.query(t, "root", "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname IN ('ops_area', 'public') ORDER BY nspname"), "ops", "root")
	expectLines(t, f.query(t, "root", "SELECT schema_owner FROM information_schema.schemata WHERE schema_name = 'ops_area'"), "ops")
}
