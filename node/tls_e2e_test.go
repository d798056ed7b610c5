package node_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/pgkeep/pgkeep/server"
	"github.com/pgkeep/pgkeep/server/testcert"
)

// startTLSTestNode starts a node that serves a certificate of a new test CA,
// and creates alice.
func startTLSTestNode(t *testing.T) (*testNode, *testcert.Files) {
	t.Helper()
	certs := testcert.Generate(t, t.TempDir())
	tn := startTLSNode(t, server.TestingKnobs{}, certs.ServerConfig())
	createAlice(t, tn)
	return tn, certs
}

// authLogLine returns the "authentication succeeded" log line of user, or ""
// when there is none.
func authLogLine(tn *testNode, user string) string {
	for _, line := range strings.Split(tn.logs.String(), "\n") {
		if strings.Contains(line, `msg="authentication succeeded"`) && strings.Contains(line, "user="+user+" ") {
			return line
		}
	}
	return ""
}

func TestPsqlSSLModeRequire(t *testing.T) {
	tn, _ := startTLSTestNode(t)

	connString := fmt.Sprintf("host=127.0.0.1 port=%d user=alice dbname=postgres sslmode=require", tn.port)
	out, err := tn.psql([]string{"PGPASSWORD=" + alicePassword}, connString, "-c", `\conninfo`, "-c", "SELECT current_user")
	if err != nil {
		t.Fatalf("psql with sslmode=require: %v\n%s", err, out)
	}
	if !strings.Contains(out, "SSL connection (protocol: TLSv1.3") {
		t.Errorf("psql output does not report a TLS 1.3 connection:\n%s", out)
	}
	if !strings.HasSuffix(strings.TrimSpace(out), "alice") {
		t.Errorf("psql output does not end with the current user alice:\n%s", out)
	}

	// libpq's default channel_binding=prefer selects SCRAM-SHA-256-PLUS.
	line := authLogLine(tn, "alice")
	if !strings.Contains(line, "method=scram-sha-256-plus") {
		t.Errorf("authentication log line lacks method=scram-sha-256-plus: %q", line)
	}
	if !strings.Contains(line, `tls_version="TLS 1.3"`) {
		t.Errorf("authentication log line lacks the TLS version: %q", line)
	}
}

func TestPsqlSSLModeVerifyFull(t *testing.T) {
	tn, certs := startTLSTestNode(t)

	// hostaddr keeps libpq on the IPv4 listener while it checks the
	// certificate against the name localhost.
	connString := fmt.Sprintf("host=localhost hostaddr=127.0.0.1 port=%d user=alice dbname=postgres "+
		"sslmode=verify-full sslrootcert=%s channel_binding=require", tn.port, certs.CAFile)
	out, err := tn.psql([]string{"PGPASSWORD=" + alicePassword}, connString, "-c", "SELECT current_user")
	if err != nil {
		t.Fatalf("psql with sslmode=verify-full: %v\n%s", err, out)
	}
	if strings.TrimSpace(out) != "alice" {
		t.Errorf("psql printed %q, want alice", out)
	}

	// A CA that did not sign the server certificate fails verification.
	otherCA := testcert.Generate(t, t.TempDir())
	badConnString := fmt.Sprintf("host=localhost hostaddr=127.0.0.1 port=%d user=alice dbname=postgres "+
		"sslmode=verify-full sslrootcert=%s", tn.port, otherCA.CAFile)
	out, err = tn.psql([]string{"PGPASSWORD=" + alicePassword}, badConnString, "-c", "SELECT 1")
	if err == nil {
		t.Fatalf("psql trusted a certificate of an unknown CA:\n%s", out)
	}
	if !strings.Contains(out, "certificate verify failed") {
		t.Errorf("psql output lacks the verification failure:\n%s", out)
	}
}

func TestPgxTLSUsesSCRAMPlus(t *testing.T) {
	tn, certs := startTLSTestNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// channel_binding=require makes pgx fail unless the server runs
	// SCRAM-SHA-256-PLUS.
	connString := fmt.Sprintf("host=127.0.0.1 port=%d user=alice password=%s dbname=postgres "+
		"sslmode=verify-full sslrootcert=%s channel_binding=require", tn.port, alicePassword, certs.CAFile)
	conn := tn.connect(ctx, connString)
	var user string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil {
		t.Fatalf("query over TLS: %v", err)
	}
	if user != "alice" {
		t.Errorf("current_user = %q, want alice", user)
	}
	if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
		t.Errorf("pgx connection is %T, want *tls.Conn", conn.PgConn().Conn())
	}
	if line := authLogLine(tn, "alice"); !strings.Contains(line, "method=scram-sha-256-plus") {
		t.Errorf("authentication log line lacks method=scram-sha-256-plus: %q", line)
	}
}

func TestLibPQDefaultSSLMode(t *testing.T) {
	tn, _ := startTLSTestNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// lib/pq defaults to sslmode=require and runs SCRAM-SHA-256 without
	// channel binding.
	db, err := sql.Open("postgres", fmt.Sprintf("host=127.0.0.1 port=%d user=alice password=%s dbname=postgres",
		tn.port, alicePassword))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var user string
	if err := db.QueryRowContext(ctx, "SELECT current_user").Scan(&user); err != nil {
		t.Fatalf("lib/pq query: %v", err)
	}
	if user != "alice" {
		t.Errorf("current_user = %q, want alice", user)
	}
	line := authLogLine(tn, "alice")
	if !slices.Contains(strings.Fields(line), "method=scram-sha-256") || !strings.Contains(line, "tls_version=") {
		t.Errorf("authentication log line = %q, want scram-sha-256 over TLS", line)
	}
}

func TestLibPQDefaultSSLModeWithoutTLS(t *testing.T) {
	tn := startNode(t, server.TestingKnobs{})
	createAlice(t, tn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	db, err := sql.Open("postgres", fmt.Sprintf("host=127.0.0.1 port=%d user=alice password=%s dbname=postgres",
		tn.port, alicePassword))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.PingContext(ctx)
	if err == nil || !strings.Contains(err.Error(), "SSL is not enabled on the server") {
		t.Errorf("lib/pq against a server without TLS: error %v, want SSL is not enabled", err)
	}
}
