package node_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgkeep/pgkeep/server"
)

// psqlSchema is the schema both servers get for the comparison. It keeps
// to features pgkeep has: serial keys, varchar, numeric with a default,
// unique, CHECK and foreign key constraints, a unique index, an index with
// sort options, a view and time columns.
var psqlSchema = []string{
	"CREATE TABLE authors (id serial PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) UNIQUE)",
	"CREATE TABLE books (id serial PRIMARY KEY, author_id integer NOT NULL REFERENCES authors (id), title text NOT NULL, price numeric(10,2) DEFAULT 0 CHECK (price >= 0 AND price < 1000.00), CHECK (length(title) > 0))",
	"CREATE UNIQUE INDEX books_title_idx ON books (title)",
	"CREATE INDEX books_author_price_idx ON books (author_id, price DESC NULLS LAST)",
	"CREATE VIEW cheap_books AS SELECT id, title FROM books WHERE price < 10",
	"CREATE TABLE opening_hours (id serial PRIMARY KEY, opens time NOT NULL, closes time(0) without time zone, lunch time(3))",
	"CREATE INDEX opening_hours_opens_idx ON opening_hours (opens)",
}

var (
	// Owners differ: the tables belong to root in pgkeep and to the
	// oracle's login user in PostgreSQL.
	ownerPattern = regexp.MustCompile(`\b(root|oracle)\b`)
	// Sizes differ: pgkeep reports 0 bytes for every table.
	sizePattern = regexp.MustCompile(`\b\d+ (bytes|kB|MB|GB)\b`)
)

func normalizePsql(out string) string {
	out = ownerPattern.ReplaceAllString(out, "OWNER")
	return sizePattern.ReplaceAllString(out, "SIZE")
}

// runPsqlCommand runs one psql meta-command in unaligned mode with the
// schema on the search_path.
func runPsqlCommand(t *testing.T, env []string, connString, command string) string {
	t.Helper()
	cmd := exec.Command("psql", "-X", "-A", "-v", "ON_ERROR_STOP=1", "-d", connString, "-c", command)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PGCONNECT_TIMEOUT=10", "PGTZ=UTC"}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql %s: %v\n%s", command, err, out)
	}
	return string(out)
}

// TestPsqlMetaCommandsMatchPostgres runs psql's describe commands against
// pgkeep and against PostgreSQL 15 for the same schema and compares the
// output, with owners and sizes normalized. It is skipped when no
// PostgreSQL accepts connections on 127.0.0.1:55432 (PGKEEP_COPY_ORACLE
// overrides the address).
func TestPsqlMetaCommandsMatchPostgres(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Fatalf("psql is not installed (install postgresql-client): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oracleConn := oracleConnString()
	oracle, err := pgx.Connect(ctx, oracleConn)
	if err != nil {
		t.Skipf("no PostgreSQL to compare with: %v", err)
	}
	defer oracle.Close(context.Background())
	schema := fmt.Sprintf("pgkeep_psql_%d", os.Getpid())
	if _, err := oracle.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = oracle.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") }()

	tn := startNode(t, server.TestingKnobs{})
	keep := tn.connect(ctx, tn.socketConnString("root"))
	if _, err := keep.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	for _, conn := range []*pgx.Conn{oracle, keep} {
		for _, stmt := range psqlSchema {
			if _, err := conn.Exec(ctx, "SET search_path = "+schema+"; "+stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}

	env := []string{"PGOPTIONS=-c search_path=" + schema}
	keepConn := tn.socketConnString("root")
	oracleEnv := append(env, "PGSSLMODE=disable")
	pgOut := func(command string) string { return runPsqlCommand(t, oracleEnv, oracleConn, command) }
	keepOut := func(command string) string { return runPsqlCommand(t, env, keepConn, command) }

	for _, command := range []string{`\dt`, `\dt+`, `\d authors`, `\d books`, `\d+ authors`, `\d+ books`, `\d opening_hours`, `\di`, `\dv`, `\df`, `\dT`, `\x`} {
		want, got := normalizePsql(pgOut(command)), normalizePsql(keepOut(command))
		if got != want {
			t.Errorf("%s differs\npgkeep:\n%s\nPostgreSQL:\n%s", command, got, want)
		}
	}

	// pgkeep has no range types, so the range and multirange overloads of
	// lower and upper are missing, and the other rows must match. \df+ also
	// shows the owner (the bootstrap superuser, postgres in PostgreSQL)
	// and the description, which pgkeep does not store, so both fields
	// are blanked.
	functionRows := func(out string, blankOwner bool) string {
		var rows []string
		for _, line := range strings.Split(normalizePsql(out), "\n") {
			if strings.Contains(line, "anyrange") || strings.Contains(line, "anymultirange") {
				continue
			}
			fields := strings.Split(line, "|")
			if blankOwner && len(fields) == 13 && fields[0] == "pg_catalog" {
				fields[7], fields[12] = "", ""
			}
			rows = append(rows, strings.Join(fields, "|"))
		}
		return strings.Join(rows, "\n")
	}
	for _, command := range []string{`\df lower`, `\dfS upper`, `\df+ lower`} {
		want := functionRows(pgOut(command), command == `\df+ lower`)
		got := functionRows(keepOut(command), command == `\df+ lower`)
		want = strings.Replace(want, "(3 rows)", "(1 row)", 1)
		if got != want {
			t.Errorf("%s differs\npgkeep:\n%s\nPostgreSQL:\n%s", command, got, want)
		}
	}

	// PostgreSQL lists its procedural language plpgsql as an extension.
	// pgkeep runs no procedural language, so it lists none, in the same
	// format.
	wantExtensions, gotExtensions := strings.Split(pgOut(`\dx`), "\n"), strings.Split(keepOut(`\dx`), "\n")
	if strings.Join(gotExtensions[:2], "\n") != strings.Join(wantExtensions[:2], "\n") {
		t.Errorf("\\dx header: pgkeep %q, PostgreSQL %q", gotExtensions[:2], wantExtensions[:2])
	}
	if gotExtensions[2] != "(0 rows)" {
		t.Errorf("\\dx lists extensions on pgkeep:\n%s", strings.Join(gotExtensions, "\n"))
	}

	// Both servers hold other schemas (pgkeep its schema system, the
	// oracle those of other tests), so \dn is compared on the header and
	// the schema of this test.
	schemaRows := func(out string) string {
		lines := strings.Split(normalizePsql(out), "\n")
		rows := lines[:2]
		for _, line := range lines[2:] {
			if strings.HasPrefix(line, schema+"|") {
				rows = append(rows, line)
			}
		}
		return strings.Join(rows, "\n")
	}
	if got, want := schemaRows(keepOut(`\dn`)), schemaRows(pgOut(`\dn`)); got != want {
		t.Errorf("\\dn differs\npgkeep:\n%s\nPostgreSQL:\n%s", got, want)
	}

	// The role lists differ (pgkeep has its users, PostgreSQL its roles),
	// so only the header and the superuser each server logs in as are
	// compared.
	wantRoles, gotRoles := strings.Split(pgOut(`\du`), "\n"), strings.Split(keepOut(`\du`), "\n")
	if wantRoles[1] != gotRoles[1] {
		t.Errorf(`\du header: pgkeep %q, PostgreSQL %q`, gotRoles[1], wantRoles[1])
	}
	if !strings.Contains(keepOut(`\du`), "root|Superuser") {
		t.Errorf("\\du does not show root as superuser:\n%s", keepOut(`\du`))
	}

	// The database lists differ too: compare the header and the row of the
	// database each connection uses, with its name normalized.
	databaseRow := func(out, name string) string {
		lines := strings.Split(out, "\n")
		for _, line := range lines {
			if strings.HasPrefix(line, name+"|") {
				return lines[1] + "\n" + normalizePsql(strings.TrimPrefix(line, name+"|"))
			}
		}
		return "no row for " + name + " in:\n" + out
	}
	for _, command := range []string{`\l`, `\l+`} {
		if got, want := databaseRow(keepOut(command), "postgres"), databaseRow(pgOut(command), "oracle"); got != want {
			t.Errorf("%s differs\npgkeep:\n%s\nPostgreSQL:\n%s", command, got, want)
		}
	}

	// psql prints \conninfo without sending a query.
	info := keepOut(`\conninfo`)
	wantInfo := fmt.Sprintf(`You are connected to database "postgres" as user "root" via socket in "%s" at port "%s".`, tn.sockDir, strconv.Itoa(tn.port))
	if strings.TrimSpace(info) != wantInfo {
		t.Errorf(`\conninfo: %q, want %q`, info, wantInfo)
	}
}
