package node_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgkeep/pgkeep/node"
	"github.com/pgkeep/pgkeep/server"
)

// rbacPasswords are the passwords of the users the access tests create.
// TestSecretsNeverLeak looks for them in every log line and error.
var rbacPasswords = map[string]string{
	"alice": "Alice-wire-pass-41",
	"bob":   "Bob-wire-pass-42",
	"svc":   "Svc-wire-pass-43",
	"ops":   "Ops-wire-pass-44",
}

var rbacRoles = map[string]string{"alice": "user", "bob": "user", "svc": "service", "ops": "dba"}

// setupRBAC creates the users and a USER table, and returns a connection
// per user.
func setupRBAC(t *testing.T, tn *testNode) map[string]*pgx.Conn {
	t.Helper()
	ctx := context.Background()
	root := tn.connect(ctx, tn.socketConnString("root"))
	for _, name := range []string{"alice", "bob", "svc", "ops"} {
		sql := fmt.Sprintf("CREATE USER %s WITH PASSWORD '%s' ROLE %s", name, rbacPasswords[name], rbacRoles[name])
		if _, err := root.Exec(ctx, sql); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
	}
	conns := map[string]*pgx.Conn{"root": root}
	for name, pw := range rbacPasswords {
		conns[name] = tn.connect(ctx, tn.tcpConnString(name, pw))
	}
	if _, err := conns["ops"].Exec(ctx, "CREATE USER TABLE notes (id int PRIMARY KEY, body text)"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob", "svc", "ops"} {
		if _, err := conns[name].Exec(ctx, "INSERT INTO notes VALUES ($1, $2), ($3, $4)", 1, name+" one", 2, name+" two"); err != nil {
			t.Fatalf("insert as %s: %v", name, err)
		}
	}
	return conns
}

func queryStrings(t *testing.T, conn *pgx.Conn, sql string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func TestUserTableOverTheWire(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	conns := setupRBAC(t, tn)

	// Each user sees only its own rows, through the extended protocol with
	// pgx's prepared statements and through the simple protocol.
	for _, name := range []string{"alice", "bob"} {
		got := queryStrings(t, conns[name], "SELECT body FROM notes ORDER BY id")
		if strings.Join(got, ",") != name+" one,"+name+" two" {
			t.Errorf("%s sees %v", name, got)
		}
		got = queryStrings(t, conns[name], "SELECT body FROM notes WHERE id = $1", 2)
		if strings.Join(got, ",") != name+" two" {
			t.Errorf("%s with a parameter sees %v", name, got)
		}
		got = queryStrings(t, conns[name], "SELECT body FROM notes", pgx.QueryExecModeSimpleProtocol)
		if len(got) != 2 {
			t.Errorf("%s over the simple protocol sees %v", name, got)
		}
	}

	// Every query shape reads only the caller's rows: a join with a SHARED
	// table, a subquery, a CTE and a view.
	for _, sql := range []string{
		"CREATE TABLE labels (id int PRIMARY KEY, label text) WITH (access_level = 'public')",
		"INSERT INTO labels VALUES (1, 'first'), (2, 'second')",
		"CREATE VIEW my_notes AS SELECT id, body FROM notes",
	} {
		if _, err := conns["ops"].Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	shapes := []struct{ name, sql string }{
		{"join", "SELECT n.body || '/' || l.label FROM notes n JOIN labels l ON l.id = n.id ORDER BY n.id"},
		{"subquery", "SELECT body FROM notes WHERE id IN (SELECT id FROM labels) ORDER BY id"},
		{"scalar subquery", "SELECT (SELECT count(*) FROM notes)::text"},
		{"cte", "WITH mine AS (SELECT id, body FROM notes) SELECT body FROM mine ORDER BY id"},
		{"view", "SELECT body FROM my_notes ORDER BY id"},
		{"derived table", "SELECT d.body FROM (SELECT * FROM notes) d ORDER BY d.id"},
	}
	for _, name := range []string{"alice", "bob"} {
		for _, shape := range shapes {
			got := strings.Join(queryStrings(t, conns[name], shape.sql), ",")
			var want string
			switch shape.name {
			case "join":
				want = name + " one/first," + name + " two/second"
			case "scalar subquery":
				want = "2"
			default:
				want = name + " one," + name + " two"
			}
			if got != want {
				t.Errorf("%s through a %s sees %q, want %q", name, shape.name, got, want)
			}
		}
	}

	// UPDATE and DELETE without WHERE touch only bob's rows.
	if tag, err := conns["bob"].Exec(ctx, "UPDATE notes SET body = 'bob was here'"); err != nil || tag.RowsAffected() != 2 {
		t.Fatalf("bob's UPDATE: %v, %v", tag, err)
	}
	if tag, err := conns["alice"].Exec(ctx, "DELETE FROM notes WHERE id = 2"); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("alice's DELETE: %v, %v", tag, err)
	}

	// service reads every row and the owner.
	got := queryStrings(t, conns["svc"], "SELECT _user || ':' || body FROM notes ORDER BY _user, id")
	want := "alice:alice one,bob:bob was here,bob:bob was here,ops:ops one,ops:ops two,svc:svc one,svc:svc two"
	if strings.Join(got, ",") != want {
		t.Fatalf("svc sees %v, want %s", got, want)
	}

	// EXECUTE AS USER by service lands in alice's rows; bob may not.
	if _, err := conns["svc"].Exec(ctx, "EXECUTE AS USER 'alice' (INSERT INTO notes VALUES (9, 'from svc'))"); err != nil {
		t.Fatalf("svc EXECUTE AS alice: %v", err)
	}
	got = queryStrings(t, conns["alice"], "SELECT body FROM notes WHERE id = 9")
	if len(got) != 1 || got[0] != "from svc" {
		t.Fatalf("alice's row written by svc: %v", got)
	}
	_, err := conns["bob"].Exec(ctx, "EXECUTE AS USER 'alice' (INSERT INTO notes VALUES (10, 'from bob'))")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("bob EXECUTE AS alice: %v, want 42501", err)
	}
}

func TestRoleChangeAndRestoreOverTheWire(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	conns := setupRBAC(t, tn)

	// A dba lowered to user loses DDL at its next statement.
	if _, err := conns["ops"].Exec(ctx, "CREATE TABLE before_demotion (a int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conns["root"].Exec(ctx, "ALTER USER ops SET ROLE user"); err != nil {
		t.Fatal(err)
	}
	_, err := conns["ops"].Exec(ctx, "CREATE TABLE after_demotion (a int)")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("DDL after demotion: %v, want 42501", err)
	}
	// Its reads of the USER table shrink to its own rows too.
	if got := queryStrings(t, conns["ops"], "SELECT body FROM notes ORDER BY id"); strings.Join(got, ",") != "ops one,ops two" {
		t.Fatalf("demoted ops sees %v", got)
	}

	// A dropped user's session ends; restored, the user logs in again.
	if _, err := conns["root"].Exec(ctx, "DROP USER bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := conns["bob"].Exec(ctx, "SELECT 1"); !errors.As(err, &pgErr) || pgErr.Code != "28000" {
		t.Fatalf("dropped bob's next statement: %v, want 28000", err)
	}
	if _, err := pgx.Connect(ctx, tn.tcpConnString("bob", rbacPasswords["bob"])); !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("dropped bob logging in: %v, want 28P01", err)
	}
	if _, err := conns["root"].Exec(ctx, "UPDATE system.users SET deleted_at = NULL WHERE username = 'bob'"); err != nil {
		t.Fatal(err)
	}
	bob := tn.connect(ctx, tn.tcpConnString("bob", rbacPasswords["bob"]))
	if got := queryStrings(t, bob, "SELECT body FROM notes ORDER BY id"); strings.Join(got, ",") != "bob one,bob two" {
		t.Fatalf("restored bob sees %v", got)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	conns := setupRBAC(t, tn)

	// Provoke errors on every path that handles a password.
	var errs []string
	record := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	_, err := pgx.Connect(ctx, tn.tcpConnString("alice", rbacPasswords["bob"]))
	record(err)
	_, err = conns["ops"].Exec(ctx, "CREATE USER carl WITH PASSWORD 'Alice-wire-pass-41' ROLE wizard")
	record(err)
	_, err = conns["ops"].Exec(ctx, "CREATE USER alice WITH PASSWORD 'Ops-wire-pass-44'")
	record(err)
	_, err = conns["alice"].Exec(ctx, "ALTER USER bob SET PASSWORD 'Svc-wire-pass-43'")
	record(err)
	_, err = conns["ops"].Exec(ctx, "CREATE USER dora WITH PASSWORD 'Bob-wire-pass-42' EMAIL 'bad'")
	record(err)

	var everything strings.Builder
	everything.WriteString(tn.logs.String())
	for _, e := range errs {
		everything.WriteString(e)
	}
	for _, row := range queryStrings(t, conns["root"], "SELECT concat_ws(' ', username, role, auth_type, email, oauth_provider, oauth_subject) FROM system.users") {
		everything.WriteString(row)
	}
	text := everything.String()
	if len(errs) != 5 {
		t.Fatalf("expected 5 errors, got %d: %v", len(errs), errs)
	}
	for name, pw := range rbacPasswords {
		if strings.Contains(text, pw) {
			t.Errorf("the password of %s appears in a log line, an error or system.users", name)
		}
	}
	for _, marker := range []string{"SCRAM-SHA-256$", "$2a$", readRootPassword(t, tn)} {
		if strings.Contains(text, marker) {
			t.Errorf("%q appears in a log line, an error or system.users", marker)
		}
	}
}

func TestMaintenanceAndLastSeen(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(d)
	}
	tn := startNodeWith(t, server.TestingKnobs{}, node.TestingKnobs{Now: now})
	conns := setupRBAC(t, tn)

	// A login records last_seen off the login path.
	var seen int
	for i := 0; i < 50 && seen == 0; i++ {
		if err := conns["root"].QueryRow(ctx, "SELECT count(*) FROM system.users WHERE username = 'alice' AND last_seen IS NOT NULL").Scan(&seen); err != nil {
			t.Fatal(err)
		}
		if seen == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if seen != 1 {
		t.Fatal("alice's login did not set last_seen")
	}

	// Rows of a STREAM table expire after their TTL and the sweep removes them.
	if _, err := conns["ops"].Exec(ctx, "CREATE STREAM TABLE pings (id int PRIMARY KEY) TTL 60"); err != nil {
		t.Fatal(err)
	}
	if _, err := conns["alice"].Exec(ctx, "INSERT INTO pings VALUES (1), (2)"); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Minute)
	var n int
	if err := conns["alice"].QueryRow(ctx, "SELECT count(*) FROM pings").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows after the TTL: %d, %v", n, err)
	}

	// A user dropped longer than the grace period is purged with its rows.
	if _, err := conns["root"].Exec(ctx, "DROP USER bob"); err != nil {
		t.Fatal(err)
	}
	advance(31 * 24 * time.Hour)
	tn.node.RunMaintenance()
	logs := tn.logs.String()
	if !strings.Contains(logs, `msg="purged dropped user" user=bob`) || !strings.Contains(logs, "rows_removed=2") {
		t.Fatalf("the purge did not log bob's removal:\n%s", logs)
	}
	if !strings.Contains(logs, `msg="deleted expired stream rows" rows_removed=2`) {
		t.Fatalf("the sweep did not log the expired rows:\n%s", logs)
	}
	var bodies int
	if err := conns["svc"].QueryRow(ctx, "SELECT count(*) FROM notes WHERE _user = 'bob'").Scan(&bodies); err != nil || bodies != 0 {
		t.Fatalf("bob's rows after the purge: %d, %v", bodies, err)
	}
}

func TestLoginAudit(t *testing.T) {
	ctx := context.Background()
	tn := startNode(t, server.TestingKnobs{})
	conns := setupRBAC(t, tn)
	if _, err := pgx.Connect(ctx, tn.tcpConnString("alice", "Wrong-password-1")); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	// The writer is asynchronous: wait for the failed login's row.
	var rows []string
	for i := 0; i < 100; i++ {
		rows = queryStrings(t, conns["root"], "SELECT actor || ' ' || action || ' ' || success::text || ' ' || coalesce(auth_method, '') || ' ' || coalesce(detail, '') FROM system.audit_log WHERE action = 'login' ORDER BY id")
		if len(rows) > 0 && strings.Contains(rows[len(rows)-1], "false") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	joined := strings.Join(rows, "\n")
	for _, want := range []string{"alice login true scram-sha-256", "alice login false scram-sha-256 wrong password", "root login true trust"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit log lacks %q:\n%s", want, joined)
		}
	}
}
