package node_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lib/pq"

	"github.com/pgkeep/pgkeep/server"
)

// The client suite runs real PostgreSQL clients against one pgkeep node:
// lib/pq, node-postgres, psycopg2, SQLAlchemy, pgjdbc, pgbench and psql.
// The client programs live in testdata/clients. .ci/install-clients
// installs what they need on Debian 12. A client that is missing fails its
// subtest, unless PGKEEP_CLIENTS=skip-missing is set, which turns that
// failure into a skip for machines without the clients.

const (
	clientDBA         = "client_dba"
	clientDBAPassword = "Dba-client-pass-1"
	clientApp         = "client_app"
	clientAppPassword = "App-client-pass-1"
	// clientTimeout bounds one client program.
	clientTimeout = 3 * time.Minute
)

// clientsNode is a pgkeep node with a dba and an unprivileged user, both
// with SCRAM passwords.
type clientsNode struct {
	*testNode
	// dba is a pgx connection of the dba for schema setup.
	dba *pgx.Conn
}

func startClientsNode(t *testing.T) *clientsNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tn := startNode(t, server.TestingKnobs{})
	root := tn.connect(ctx, tn.socketConnString("root"))
	for _, stmt := range []string{
		fmt.Sprintf("CREATE USER %s WITH PASSWORD '%s' ROLE dba", clientDBA, clientDBAPassword),
		fmt.Sprintf("CREATE USER %s WITH PASSWORD '%s' ROLE user", clientApp, clientAppPassword),
	} {
		if _, err := root.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	return &clientsNode{testNode: tn, dba: tn.connect(ctx, tn.tcpConnString(clientDBA, clientDBAPassword))}
}

// exec runs schema statements as the dba.
func (cn *clientsNode) exec(t *testing.T, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, stmt := range stmts {
		if _, err := cn.dba.Exec(ctx, stmt); err != nil {
			t.Fatalf("setup as %s: %s: %v", clientDBA, stmt, err)
		}
	}
}

// pgEnv returns the libpq environment variables of a TCP login.
func (cn *clientsNode) pgEnv(user, password string) []string {
	return []string{
		"PGHOST=127.0.0.1", "PGPORT=" + strconv.Itoa(cn.port), "PGDATABASE=postgres",
		"PGUSER=" + user, "PGPASSWORD=" + password, "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=10",
	}
}

// requireClient returns the path of a client program, or fails the test
// with how to install it. PGKEEP_CLIENTS=skip-missing skips instead.
func requireClient(t *testing.T, path, what string) string {
	t.Helper()
	found, err := exec.LookPath(path)
	if err == nil {
		return found
	}
	missingClient(t, fmt.Sprintf("%s not found (%v)", what, err))
	return ""
}

func missingClient(t *testing.T, problem string) {
	t.Helper()
	msg := problem + "; install the clients with `bash .ci/install-clients` (Debian 12, as root)"
	if os.Getenv("PGKEEP_CLIENTS") == "skip-missing" {
		t.Skip(msg)
	}
	t.Fatal(msg + ", or set PGKEEP_CLIENTS=skip-missing to skip the clients that are missing")
}

// clientCommand prepares a client program with a clean environment plus
// env.
func clientCommand(ctx context.Context, t *testing.T, dir string, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8", "PGTZ=UTC"}, env...)
	return cmd
}

// runClient runs a client program and fails the test with its output when
// it exits non-zero.
func runClient(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	out, err := clientCommand(ctx, t, dir, env, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s failed: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func clientsDir(t *testing.T, sub string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "clients", sub))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestClients runs each client as a subtest against one node. The
// subtests use tables of their own, so they do not depend on each other.
func TestClients(t *testing.T) {
	cn := startClientsNode(t)
	t.Run("lib/pq", func(t *testing.T) { testLibPQ(t, cn) })
	t.Run("node-postgres", func(t *testing.T) { testNodePostgres(t, cn) })
	t.Run("psycopg2", func(t *testing.T) { testPsycopg2(t, cn) })
	t.Run("SQLAlchemy", func(t *testing.T) { testSQLAlchemy(t, cn) })
	t.Run("pgjdbc", func(t *testing.T) { testJDBC(t, cn) })
	t.Run("pgbench", func(t *testing.T) { testPgbench(t, cn) })
	t.Run("psql", func(t *testing.T) { testPsqlClient(t, cn) })
}

func testLibPQ(t *testing.T, cn *clientsNode) {
	cn.exec(t, "CREATE USER TABLE pq_items (id int PRIMARY KEY, name text NOT NULL, qty int NOT NULL DEFAULT 0)")
	db, err := sql.Open("postgres", cn.tcpConnString(clientApp, clientAppPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Ping sends an empty query.
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	var n int64
	var s string
	if err := db.QueryRowContext(ctx, "SELECT $1::int8 + 1, $2::text", 41, "hello").Scan(&n, &s); err != nil {
		t.Fatalf("parameterized SELECT: %v", err)
	}
	if n != 42 || s != "hello" {
		t.Errorf("parameterized SELECT = %d, %q; want 42, hello", n, s)
	}

	// A prepared statement is parsed once under its own name.
	ins, err := db.PrepareContext(ctx, "INSERT INTO pq_items (id, name, qty) VALUES ($1, $2, $3)")
	if err != nil {
		t.Fatalf("Prepare INSERT: %v", err)
	}
	for i := 1; i <= 5; i++ {
		res, err := ins.ExecContext(ctx, i, fmt.Sprintf("item %d", i), i*10)
		if err != nil {
			t.Fatalf("prepared INSERT %d: %v", i, err)
		}
		if rows, _ := res.RowsAffected(); rows != 1 {
			t.Errorf("prepared INSERT %d affected %d rows, want 1", i, rows)
		}
	}
	if err := ins.Close(); err != nil {
		t.Errorf("closing the prepared INSERT: %v", err)
	}
	sel, err := db.PrepareContext(ctx, "SELECT name, qty FROM pq_items WHERE id = $1")
	if err != nil {
		t.Fatalf("Prepare SELECT: %v", err)
	}
	defer sel.Close()
	for i := 1; i <= 5; i++ {
		var name string
		var qty int
		if err := sel.QueryRowContext(ctx, i).Scan(&name, &qty); err != nil {
			t.Fatalf("prepared SELECT %d: %v", i, err)
		}
		if name != fmt.Sprintf("item %d", i) || qty != i*10 {
			t.Errorf("prepared SELECT %d = %q, %d", i, name, qty)
		}
	}

	// A committed and a rolled back transaction.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE pq_items SET qty = qty + $1 WHERE id <= $2", 1, 2); err != nil {
		t.Fatalf("UPDATE in transaction: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM pq_items WHERE id > $1", 0)
	if err != nil {
		t.Fatalf("DELETE in transaction: %v", err)
	}
	if rows, _ := res.RowsAffected(); rows != 5 {
		t.Errorf("DELETE affected %d rows, want 5", rows)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	var total, count int
	if err := db.QueryRowContext(ctx, "SELECT sum(qty), count(*) FROM pq_items").Scan(&total, &count); err != nil {
		t.Fatal(err)
	}
	if total != 152 || count != 5 {
		t.Errorf("after commit and rollback: sum(qty) %d, count %d; want 152 and 5", total, count)
	}

	// Errors arrive as *pq.Error with PostgreSQL's fields.
	_, err = db.ExecContext(ctx, "INSERT INTO pq_items (id, name) VALUES ($1, $2)", 1, "dup")
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		t.Fatalf("duplicate INSERT: error %v, want a *pq.Error", err)
	}
	if pqErr.Code != "23505" || pqErr.Constraint != "pq_items_pkey" || pqErr.Table != "pq_items" {
		t.Errorf("duplicate INSERT: code %s, constraint %q, table %q; want 23505, pq_items_pkey, pq_items", pqErr.Code, pqErr.Constraint, pqErr.Table)
	}
}

func testNodePostgres(t *testing.T, cn *clientsNode) {
	node := requireClient(t, "node", "Node.js")
	dir := clientsDir(t, "node-pg")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "pg", "package.json")); err != nil {
		missingClient(t, "the npm package pg is not installed in "+dir)
	}
	cn.exec(t, "CREATE USER TABLE node_items (id int PRIMARY KEY, name text NOT NULL, qty int NOT NULL)")
	runClient(t, dir, cn.pgEnv(clientApp, clientAppPassword), node, "client.js")
}

// debianPython is Debian's interpreter, which python3-psycopg2 and
// python3-sqlalchemy install into; a python3 earlier in PATH may be
// another installation without them.
const debianPython = "/usr/bin/python3"

func requirePythonModule(t *testing.T, module, pkg string) string {
	t.Helper()
	python := requireClient(t, debianPython, "Debian's python3")
	if out, err := exec.Command(python, "-c", "import "+module).CombinedOutput(); err != nil {
		missingClient(t, fmt.Sprintf("python module %s (Debian package %s) is missing: %s", module, pkg, strings.TrimSpace(string(out))))
	}
	return python
}

func testPsycopg2(t *testing.T, cn *clientsNode) {
	python := requirePythonModule(t, "psycopg2", "python3-psycopg2")
	cn.exec(t, "CREATE USER TABLE py_items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), created timestamptz)")
	runClient(t, clientsDir(t, "python"), cn.pgEnv(clientApp, clientAppPassword), python, "psycopg2_client.py")
}

func testSQLAlchemy(t *testing.T, cn *clientsNode) {
	python := requirePythonModule(t, "sqlalchemy", "python3-sqlalchemy")
	requirePythonModule(t, "psycopg2", "python3-psycopg2")
	runClient(t, clientsDir(t, "python"), cn.pgEnv(clientDBA, clientDBAPassword), python, "sqlalchemy_client.py")
}

// pgjdbcJar is where Debian's libpostgresql-jdbc-java installs the driver.
const pgjdbcJar = "/usr/share/java/postgresql.jar"

func testJDBC(t *testing.T, cn *clientsNode) {
	javac := requireClient(t, "javac", "the Java compiler javac (a JDK)")
	java := requireClient(t, "java", "the Java runtime")
	if _, err := os.Stat(pgjdbcJar); err != nil {
		missingClient(t, "pgjdbc (Debian package libpostgresql-jdbc-java) is missing: "+err.Error())
	}
	cn.exec(t,
		"CREATE USER TABLE jdbc_parent (id int PRIMARY KEY, name text UNIQUE)",
		"CREATE USER TABLE jdbc_items (id bigint PRIMARY KEY, parent_id int REFERENCES jdbc_parent, name varchar(100) NOT NULL, price numeric(10,2) NOT NULL DEFAULT 0)",
		"CREATE INDEX jdbc_items_name_idx ON jdbc_items (name)",
		"CREATE USER TABLE jdbc_pair (a int, b text, c int, PRIMARY KEY (b, a))",
		"CREATE USER TABLE jdbc_types (id int PRIMARY KEY, big bigint, label text, amount numeric(12,3), at timestamp, flag bool, data bytea)",
	)
	classes := t.TempDir()
	src := filepath.Join(clientsDir(t, "jdbc"), "JdbcClient.java")
	runClient(t, classes, nil, javac, "-d", classes, "-cp", pgjdbcJar, src)
	out := runClient(t, classes, cn.pgEnv(clientApp, clientAppPassword), java, "-cp", classes+string(os.PathListSeparator)+pgjdbcJar, "JdbcClient")
	if !strings.Contains(out, "pgjdbc: ok") {
		t.Fatalf("JdbcClient exited without reaching its last check:\n%s", out)
	}
}

// pgbenchDuration is the length of each pgbench run, in seconds (-T).
const pgbenchDuration = 10

var (
	pgbenchProcessed = regexp.MustCompile(`number of transactions actually processed: (\d+)\n`)
	pgbenchFailed    = regexp.MustCompile(`number of failed transactions: (\d+)`)
)

func testPgbench(t *testing.T, cn *clientsNode) {
	pgbench := requireClient(t, "pgbench", "pgbench (Debian package postgresql-contrib)")
	env := cn.pgEnv(clientDBA, clientDBAPassword)
	dir := t.TempDir()

	// The default initialization (steps dtgvp): drop, create the tables
	// without keys, load them with COPY, vacuum, then add the primary
	// keys with ALTER TABLE ... ADD PRIMARY KEY.
	runClient(t, dir, env, pgbench, "-i", "-s", "1", "-q")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var accounts int
	if err := cn.dba.QueryRow(ctx, "SELECT count(*) FROM pgbench_accounts").Scan(&accounts); err != nil {
		t.Fatalf("counting pgbench_accounts: %v", err)
	}
	if accounts != 100000 {
		t.Fatalf("pgbench -i -s 1 loaded %d accounts, want 100000", accounts)
	}
	rows, err := cn.dba.Query(ctx, `SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint
		WHERE contype = 'p' AND conrelid::regclass::text LIKE 'pgbench%' ORDER BY 1`)
	if err != nil {
		t.Fatalf("reading the primary keys: %v", err)
	}
	var keys []string
	for rows.Next() {
		var table, def string
		if err := rows.Scan(&table, &def); err != nil {
			t.Fatalf("reading the primary keys: %v", err)
		}
		keys = append(keys, table+" "+def)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading the primary keys: %v", err)
	}
	wantKeys := []string{"pgbench_accounts PRIMARY KEY (aid)", "pgbench_branches PRIMARY KEY (bid)", "pgbench_tellers PRIMARY KEY (tid)"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("primary keys after pgbench -i: got %q, want %q", keys, wantKeys)
	}

	const clients = 2
	// tpcbProcessed counts the tpcb-like transactions of all modes, each
	// of which adds one history row.
	tpcbProcessed := 0
	for _, script := range []string{"select-only", "tpcb-like"} {
		for _, mode := range []string{"simple", "extended", "prepared"} {
			t.Run(script+"/"+mode, func(t *testing.T) {
				args := []string{"-n", "-c", strconv.Itoa(clients), "-T", strconv.Itoa(pgbenchDuration), "-M", mode, "-b", script}
				if script == "tpcb-like" {
					// Both clients update the one branch row. pgkeep
					// detects write conflicts at commit and fails one
					// transaction with SQLSTATE 40001 where PostgreSQL's
					// READ COMMITTED would wait for the row lock, so
					// pgbench retries as it does for REPEATABLE READ.
					args = append(args, "--max-tries", "1000")
				}
				out := runClient(t, dir, env, pgbench, args...)
				m := pgbenchProcessed.FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("pgbench %s: no count of processed transactions in the output:\n%s", strings.Join(args, " "), out)
				}
				processed, err := strconv.Atoi(m[1])
				if err != nil || processed == 0 {
					t.Errorf("pgbench %s: processed %q transactions, want more than 0:\n%s", strings.Join(args, " "), m[1], out)
				}
				if script == "tpcb-like" {
					tpcbProcessed += processed
				}
				t.Logf("pgbench %s: %d transactions processed", strings.Join(args, " "), processed)
				if f := pgbenchFailed.FindStringSubmatch(out); f == nil || f[1] != "0" {
					t.Errorf("pgbench %s: want 0 failed transactions reported, output:\n%s", strings.Join(args, " "), out)
				}
			})
		}
	}

	// Every TPC-B transaction adds its delta to one account, teller and
	// branch and logs it in the history, so the four sums agree.
	// The runs take longer than the first context allows.
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var accountSum, tellerSum, branchSum, historySum, history int64
	err = cn.dba.QueryRow(ctx, `SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers),
		(SELECT sum(bbalance) FROM pgbench_branches), (SELECT coalesce(sum(delta), 0) FROM pgbench_history), (SELECT count(*) FROM pgbench_history)`).
		Scan(&accountSum, &tellerSum, &branchSum, &historySum, &history)
	if err != nil {
		t.Fatalf("reading the balances: %v", err)
	}
	if history != int64(tpcbProcessed) {
		t.Errorf("pgbench_history has %d rows, want one per processed tpcb-like transaction: %d", history, tpcbProcessed)
	}
	if accountSum != historySum || tellerSum != historySum || branchSum != historySum {
		t.Errorf("balances disagree: accounts %d, tellers %d, branches %d, history %d", accountSum, tellerSum, branchSum, historySum)
	}
}

func testPsqlClient(t *testing.T, cn *clientsNode) {
	psql := requireClient(t, "psql", "psql (Debian package postgresql-client)")
	dir := t.TempDir()
	env := cn.pgEnv(clientApp, clientAppPassword)
	run := func(t *testing.T, env []string, args ...string) string {
		t.Helper()
		return runClient(t, dir, env, psql, append([]string{"-X", "-v", "ON_ERROR_STOP=1"}, args...)...)
	}

	for _, command := range []string{`\l`, `\dn`, `\du`, `\dt`, `\conninfo`} {
		t.Run(command, func(t *testing.T) {
			out := run(t, env, "-c", command)
			if strings.Contains(out, "ERROR") {
				t.Errorf("%s printed an error:\n%s", command, out)
			}
		})
	}
	t.Run(`\x`, func(t *testing.T) {
		out := run(t, env, "-c", `\x`, "-c", "SELECT 1 AS a, 'two' AS b")
		want := "Expanded display is on.\n-[ RECORD 1 ]\na | 1\nb | two\n\n"
		if out != want {
			t.Errorf(`\x output %q, want %q`, out, want)
		}
	})
	t.Run(`\password`, func(t *testing.T) {
		const user, oldPassword, newPassword = "client_pw", "Old-client-pass-1", "New-client-pass-2"
		cn.exec(t, fmt.Sprintf("CREATE USER %s WITH PASSWORD '%s' ROLE user", user, oldPassword))
		// psql reads the new password twice from the terminal, or from
		// standard input when it has none; setsid detaches the terminal.
		setsid := requireClient(t, "setsid", "setsid (util-linux)")
		ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
		defer cancel()
		cmd := clientCommand(ctx, t, dir, cn.pgEnv(user, oldPassword), setsid, "--wait", psql, "-X", "-v", "ON_ERROR_STOP=1", "-c", `\password`)
		cmd.Stdin = strings.NewReader(newPassword + "\n" + newPassword + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf(`psql \password: %v`+"\n%s", err, out)
		}
		if got := strings.TrimSpace(run(t, cn.pgEnv(user, newPassword), "-A", "-t", "-c", "SELECT current_user")); got != user {
			t.Errorf("login with the new password: current_user %q, want %q", got, user)
		}
		ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel2()
		conn, err := pgx.Connect(ctx2, cn.tcpConnString(user, oldPassword))
		if err == nil {
			conn.Close(ctx2)
			t.Errorf("the old password still logs in after \\password")
		}
	})
}
