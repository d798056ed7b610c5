package node_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgkeep/pgkeep/server"
)

// introspectionQuery is one query of testdata/clients/introspection.
type introspectionQuery struct {
	name string
	sql  string
	// gap is the reason of a known difference, or empty.
	gap string
}

func readIntrospectionQueries(t *testing.T) []introspectionQuery {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "clients", "introspection", "queries.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var out []introspectionQuery
	for _, part := range queryStart.Split(string(data), -1)[1:] {
		name, sql, _ := strings.Cut(part, "\n")
		q := introspectionQuery{name: strings.TrimSpace(name)}
		if rest, ok := strings.CutPrefix(sql, "-- gap: "); ok {
			q.gap, sql, _ = strings.Cut(rest, "\n")
		}
		q.sql = strings.TrimSpace(sql)
		out = append(out, q)
	}
	if len(out) == 0 {
		t.Fatal("no queries in introspection/queries.sql")
	}
	return out
}

// queryStart matches the line that starts each query of queries.sql.
var queryStart = regexp.MustCompile(`(?m)^-- query: `)

// oidValue matches the numbers that are OIDs of user objects, which
// differ between the servers.
var oidValue = regexp.MustCompile(`^\d{5,}$`)

// introspectionResult runs a query and renders its columns and rows, with
// OIDs replaced.
func introspectionResult(ctx context.Context, conn *pgx.Conn, sql string) (string, error) {
	rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for _, f := range rows.FieldDescriptions() {
		fmt.Fprintf(&b, "%s:%d ", f.Name, f.DataTypeOID)
	}
	b.WriteString("\n")
	for rows.Next() {
		for i, raw := range rows.RawValues() {
			if i > 0 {
				b.WriteString("|")
			}
			switch v := string(raw); {
			case raw == nil:
				b.WriteString("NULL")
			case oidValue.MatchString(v):
				b.WriteString("OID")
			default:
				b.WriteString(v)
			}
		}
		b.WriteString("\n")
	}
	return b.String(), rows.Err()
}

// TestIntrospectionMatchesPostgres runs the catalog queries of common
// clients on pgkeep and on PostgreSQL for the same schema and compares
// column names, column types and rows, with OIDs masked. It runs when a
// PostgreSQL accepts connections at oracleConnString and may create
// databases, and is skipped otherwise.
func TestIntrospectionMatchesPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, oracleConnString())
	if err != nil {
		t.Skipf("no PostgreSQL to compare with (set PGKEEP_COPY_ORACLE): %v", err)
	}
	defer admin.Close(context.Background())
	database := fmt.Sprintf("pgkeep_introspection_%d", os.Getpid())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+database); err != nil {
		t.Skipf("the PostgreSQL user cannot create a database: %v", err)
	}
	defer func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE "+database+" WITH (FORCE)") }()
	cfg, err := pgx.ParseConfig(oracleConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = database
	oracle, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer oracle.Close(context.Background())

	tn := startNode(t, server.TestingKnobs{})
	keep := tn.connect(ctx, tn.socketConnString("root"))
	schema, err := os.ReadFile(filepath.Join("testdata", "clients", "introspection", "schema.sql"))
	if err != nil {
		t.Fatal(err)
	}
	itemsOID := map[*pgx.Conn]string{}
	for _, conn := range []*pgx.Conn{oracle, keep} {
		for _, stmt := range strings.Split(string(schema), ";\n") {
			if stmt = strings.TrimSpace(stmt); stmt == "" {
				continue
			}
			if _, err := conn.Exec(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		var oid uint32
		if err := conn.QueryRow(ctx, "SELECT 'items'::regclass::oid").Scan(&oid); err != nil {
			t.Fatal(err)
		}
		itemsOID[conn] = fmt.Sprint(oid)
	}

	for _, q := range readIntrospectionQueries(t) {
		t.Run(q.name, func(t *testing.T) {
			want, err := introspectionResult(ctx, oracle, strings.ReplaceAll(q.sql, "{{items}}", itemsOID[oracle]))
			if err != nil {
				t.Fatalf("PostgreSQL: %v\n%s", err, q.sql)
			}
			got, err := introspectionResult(ctx, keep, strings.ReplaceAll(q.sql, "{{items}}", itemsOID[keep]))
			if err != nil {
				t.Fatalf("pgkeep: %v\n%s", err, q.sql)
			}
			if got != want && q.gap != "" {
				t.Skipf("known gap: %s\npgkeep:\n%s\nPostgreSQL:\n%s", q.gap, got, want)
			}
			if got != want {
				t.Errorf("results differ\npgkeep:\n%s\nPostgreSQL:\n%s\nquery:\n%s", got, want, q.sql)
			}
		})
	}
}
