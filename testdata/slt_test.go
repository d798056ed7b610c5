package testdata

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgkeep/pgkeep/node"
	"github.com/pgkeep/pgkeep/security"
	"github.com/pgkeep/pgkeep/server"
)

// pgEnvVar names the environment variable that, like -pg, selects a
// PostgreSQL target.
const pgEnvVar = "PGKEEP_SLT_PG"

var (
	pgFlag = flag.String("pg", "",
		"libpq connection string of a PostgreSQL to run the files against instead of pgkeep (also "+pgEnvVar+"); "+
			"the user must be allowed to create databases")
	rewriteFlag = flag.Bool("rewrite", false,
		"replace the expected results of query records with the actual output; requires a PostgreSQL target")
)

// target is the server the files run against.
type target struct {
	engine string
	// open returns a connection to a fresh database state for one file,
	// closed by the test's cleanup.
	open func(t *testing.T) *pgx.Conn
}

func TestSQLLogic(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("sql", "*.slt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no .slt files found in testdata/sql")
	}

	tgt := selectTarget(t)
	if *rewriteFlag && tgt.engine != EnginePostgres {
		t.Fatalf("-rewrite needs a PostgreSQL target (-pg or %s), because expected results must come from PostgreSQL", pgEnvVar)
	}

	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".slt")
		t.Run(name, func(t *testing.T) {
			f, err := ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.PgkeepOnly && tgt.engine != EnginePgkeep {
				t.Skipf("%s uses pgkeep's own statements", path)
			}

			conn := tgt.open(t)
			start := time.Now()
			out := Run(context.Background(), conn.PgConn(), f, tgt.engine)
			for _, fail := range out.Failures {
				t.Errorf("%s:%d: %s", path, fail.Line, fail.Message)
			}
			t.Logf("%s: %d records run, %d skipped, %d failed in %v",
				path, out.Ran, out.Skipped, len(out.Failures), time.Since(start).Round(time.Millisecond))

			if *rewriteFlag {
				if err := Rewrite(f, out); err != nil {
					t.Fatalf("rewriting %s: %v", path, err)
				}
			}
		})
	}
}

// mismatchFile has records that pass and records that fail on any
// target, to check that the runner reports exactly the failing ones.
const mismatchFile = `statement ok
CREATE TABLE r (a int PRIMARY KEY)

statement ok
INSERT INTO r VALUES (1), (2)

query I rowsort
SELECT a FROM r
----
1
3

query I
SELECT a FROM r WHERE a = 1
----
1

statement error SQLSTATE 22012
SELECT 1

statement ok
SELECT 1/0

query II
SELECT a FROM r WHERE a = 1

statement error SQLSTATE 42P01
SELECT * FROM missing_table

statement error SQLSTATE 42P01 no such message
SELECT * FROM missing_table

query TTB
SELECT '', NULL, true
----
· NULL true

query I
SELECT a FROM r WHERE a = 99

halt

statement error never runs
SELECT 1
`

func TestRunnerReportsMismatches(t *testing.T) {
	f, err := Parse("mismatch.slt", mismatchFile)
	if err != nil {
		t.Fatal(err)
	}
	tgt := selectTarget(t)
	conn := tgt.open(t)
	out := Run(context.Background(), conn.PgConn(), f, tgt.engine)

	var lines []int
	for _, fail := range out.Failures {
		lines = append(lines, fail.Line)
	}
	wantLines := []int{7, 18, 21, 24, 30}
	if fmt.Sprint(lines) != fmt.Sprint(wantLines) {
		t.Errorf("failures at lines %v; want %v; failures:\n%+v", lines, wantLines, out.Failures)
	}
	if out.Ran != 11 {
		t.Errorf("ran %d records; want 11, because the halt stops the file", out.Ran)
	}
	if len(out.Failures) > 0 && !strings.Contains(out.Failures[0].Message, "expected:\n    1\n    3\nactual:\n    1\n    2") {
		t.Errorf("row mismatch message does not show both results:\n%s", out.Failures[0].Message)
	}
}

// selectTarget returns the PostgreSQL target when -pg or PGKEEP_SLT_PG is
// set, and a pgkeep target otherwise.
func selectTarget(t *testing.T) target {
	connString := *pgFlag
	if connString == "" {
		connString = os.Getenv(pgEnvVar)
	}
	if connString == "" {
		return target{engine: EnginePgkeep, open: openPgkeep}
	}
	return postgresTarget(t, connString)
}

// openPgkeep starts a pgkeep node of its own for one file and connects to
// it as root, which is trusted on loopback without a password.
func openPgkeep(t *testing.T) *pgx.Conn {
	t.Helper()
	n, err := node.Start(node.Config{
		DataDir: filepath.Join(t.TempDir(), "data"),
		Server:  server.Config{ListenAddr: "127.0.0.1:0"},
		// The lowest bcrypt cost keeps bootstrapping the root user fast.
		Auth: security.Config{BcryptCost: 4},
	})
	if err != nil {
		t.Fatalf("starting pgkeep node: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("stopping pgkeep node: %v", err)
		}
	})

	port := n.Server().Addr().(*net.TCPAddr).Port
	connString := fmt.Sprintf("host=127.0.0.1 port=%d user=root dbname=postgres sslmode=disable", port)
	return connect(t, connString, "")
}

// postgresTarget connects to the PostgreSQL at connString, which it uses
// to create a database for each file and drop it after the file.
func postgresTarget(t *testing.T, connString string) target {
	t.Helper()
	admin := connect(t, connString, "")
	count := 0
	open := func(t *testing.T) *pgx.Conn {
		t.Helper()
		count++
		database := fmt.Sprintf("slt_%d_%d", os.Getpid(), count)
		ctx := context.Background()
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+database); err != nil {
			t.Fatalf("creating database %s: %v", database, err)
		}
		// Cleanups run last-in first-out, so registering the drop before
		// connecting closes the file's connection before its database is
		// dropped.
		t.Cleanup(func() {
			if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+database+" WITH (FORCE)"); err != nil {
				t.Errorf("dropping database %s: %v", database, err)
			}
		})
		conn := connect(t, connString, database)
		return conn
	}
	return target{engine: EnginePostgres, open: open}
}

// connect opens a connection that uses the simple query protocol, so
// results arrive in the server's text format. A non-empty database
// replaces the connection string's.
func connect(t *testing.T, connString, database string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		t.Fatalf("invalid connection string: %v", err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	if database != "" {
		cfg.Database = database
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting to %s:%d database %s as %s: %v", cfg.Host, cfg.Port, cfg.Database, cfg.User, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
