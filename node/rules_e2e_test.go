package node_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgkeep/pgkeep/node"
	"github.com/pgkeep/pgkeep/security"
	"github.com/pgkeep/pgkeep/server"
)

// startNodeWithAuth starts a node like startNode, but with the given
// authentication settings. BcryptCost 4 is used unless auth sets another.
// The node cannot be restarted.
func startNodeWithAuth(t testing.TB, knobs server.TestingKnobs, auth security.Config) *testNode {
	t.Helper()
	sockDir, err := os.MkdirTemp("", "pgk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	if auth.BcryptCost == 0 {
		auth.BcryptCost = 4
	}

	tn := &testNode{t: t, dataDir: filepath.Join(t.TempDir(), "data"), sockDir: sockDir, knobs: knobs, logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(tn.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, err := node.Start(node.Config{
		DataDir: tn.dataDir,
		Server: server.Config{
			ListenAddr:   "127.0.0.1:0",
			SocketDir:    sockDir,
			TestingKnobs: knobs,
		},
		Auth:   auth,
		Logger: logger,
	})
	if err != nil {
		t.Fatalf("starting node: %v", err)
	}
	tn.node = n
	tn.port = n.Server().Addr().(*net.TCPAddr).Port
	t.Cleanup(tn.stop)
	return tn
}

// e2eClock is a clock that tests move by hand and server goroutines read.
type e2eClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *e2eClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *e2eClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// loginError connects and returns the server's error, failing the test when
// the login succeeds or fails without an ErrorResponse.
func loginError(t *testing.T, connString string) *pgconn.PgError {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), connString)
	if err == nil {
		_ = conn.Close(context.Background())
		t.Fatalf("login with %q succeeded, want an error", redactPassword(connString))
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("login with %q: %v, want a server error", redactPassword(connString), err)
	}
	return pgErr
}

func loginOK(t *testing.T, connString string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), connString)
	if err != nil {
		t.Fatalf("login with %q: %v", redactPassword(connString), err)
	}
	_ = conn.Close(context.Background())
}

// execAsRoot runs statements as root over the unix socket.
func execAsRoot(t *testing.T, tn *testNode, statements ...string) {
	t.Helper()
	conn := tn.connect(context.Background(), tn.socketConnString("root"))
	for _, stmt := range statements {
		if _, err := conn.Exec(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// errorFields renders every field of an ErrorResponse that the client sees.
func errorFields(e *pgconn.PgError) string {
	return strings.Join([]string{e.Severity, e.SeverityUnlocalized, e.Code, e.Message, e.Detail, e.Hint}, "|")
}

func TestConnectionRulesE2E(t *testing.T) {
	rules, err := security.ParseRules([]string{
		"local all all trust",
		"host all bob loopback reject",
		"host all +dba loopback password",
		"host postgres alice loopback scram-sha-256",
	})
	if err != nil {
		t.Fatal(err)
	}
	tn := startNodeWithAuth(t, server.TestingKnobs{}, security.Config{Rules: rules})
	const pw = "Lantern-Orbit-42"
	execAsRoot(t, tn,
		"CREATE USER alice WITH PASSWORD '"+pw+"'",
		"CREATE USER bob WITH PASSWORD '"+pw+"'",
		"CREATE USER carol WITH PASSWORD '"+pw+"'",
		"CREATE USER dave WITH PASSWORD '"+pw+"' ROLE dba",
	)

	t.Run("reject", func(t *testing.T) {
		e := loginError(t, tn.tcpConnString("bob", pw))
		if e.Code != "28000" || e.Message != `connection rule rejects host "127.0.0.1", user "bob", database "postgres"` {
			t.Errorf("error = %s %q", e.Code, e.Message)
		}
	})

	t.Run("+dba gets password", func(t *testing.T) {
		loginOK(t, tn.tcpConnString("dave", pw))
		if !strings.Contains(tn.logs.String(), "user=dave database=postgres method=password") {
			t.Errorf("the log does not show a password login of dave:\n%s", tn.logs.String())
		}
		e := loginError(t, tn.tcpConnString("dave", "wrong-password"))
		if e.Code != "28P01" || e.Message != `password authentication failed for user "dave"` {
			t.Errorf("wrong password: %s %q", e.Code, e.Message)
		}
	})

	t.Run("named user gets scram", func(t *testing.T) {
		loginOK(t, tn.tcpConnString("alice", pw))
		if !strings.Contains(tn.logs.String(), "user=alice database=postgres method=scram-sha-256") {
			t.Error("the log does not show a SCRAM login of alice")
		}
	})

	t.Run("no match", func(t *testing.T) {
		carol := loginError(t, tn.tcpConnString("carol", pw))
		ghost := loginError(t, tn.tcpConnString("ghost", pw))
		if carol.Code != "28000" || carol.Message != `no connection rule matches host "127.0.0.1", user "carol", database "postgres"` {
			t.Errorf("carol: %s %q", carol.Code, carol.Message)
		}
		// The unknown user gets the same error, name aside.
		got := strings.ReplaceAll(errorFields(ghost), "ghost", "carol")
		if got != errorFields(carol) {
			t.Errorf("unknown user error %q differs from existing user error %q", errorFields(ghost), errorFields(carol))
		}
	})

	t.Run("root trusted on the socket", func(t *testing.T) {
		loginOK(t, tn.socketConnString("root"))
	})
}

func TestLockoutE2E(t *testing.T) {
	clock := &e2eClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	remote := server.TestingKnobs{OverrideSource: func(net.Addr) (security.Source, bool) {
		return security.SourceRemote, true
	}}
	tn := startNodeWithAuth(t, remote, security.Config{Now: clock.Now})
	const pw = "Lantern-Orbit-42"
	execAsRoot(t, tn, "CREATE USER alice WITH PASSWORD '"+pw+"'")

	for i := 0; i < 5; i++ {
		loginError(t, tn.tcpConnString("alice", "wrong-password"))
	}
	// Locked out: the correct password fails like a wrong one.
	e := loginError(t, tn.tcpConnString("alice", pw))
	if e.Code != "28P01" || e.Message != `password authentication failed for user "alice"` {
		t.Errorf("locked out: %s %q", e.Code, e.Message)
	}
	if !strings.Contains(tn.logs.String(), `reason="locked out"`) {
		t.Error("the log does not record the lockout")
	}
	// The unix socket is exempt.
	execAsRoot(t, tn, "ALTER USER alice SET EMAIL 'alice@example.com'")

	clock.advance(30 * time.Second)
	loginOK(t, tn.tcpConnString("alice", pw))

	// The success reset the counter: four failures do not lock.
	for i := 0; i < 4; i++ {
		loginError(t, tn.tcpConnString("alice", "wrong-password"))
	}
	loginOK(t, tn.tcpConnString("alice", pw))

	// The audit log records the lockout; its writer runs in the background.
	conn := tn.connect(context.Background(), tn.socketConnString("root"))
	var lockouts int
	for i := 0; i < 100 && lockouts == 0; i++ {
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM system.audit_log WHERE action = 'lockout' AND actor = 'alice' AND NOT success").Scan(&lockouts); err != nil {
			t.Fatal(err)
		}
		if lockouts == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if lockouts != 1 {
		t.Errorf("audit log has %d lockout rows for alice, want 1", lockouts)
	}
}

// TestLoginFailuresIdenticalE2E checks that an unknown user, a wrong
// password, a locked-out user and a deleted user get byte-identical errors.
func TestLoginFailuresIdenticalE2E(t *testing.T) {
	clock := &e2eClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	remote := server.TestingKnobs{OverrideSource: func(net.Addr) (security.Source, bool) {
		return security.SourceRemote, true
	}}
	tn := startNodeWithAuth(t, remote, security.Config{Now: clock.Now})
	const pw = "Lantern-Orbit-42"

	unknown := loginError(t, tn.tcpConnString("eve", pw))

	execAsRoot(t, tn, "CREATE USER eve WITH PASSWORD '"+pw+"'")
	wrong := loginError(t, tn.tcpConnString("eve", "wrong-password"))
	for i := 0; i < 3; i++ {
		loginError(t, tn.tcpConnString("eve", "wrong-password"))
	}
	locked := loginError(t, tn.tcpConnString("eve", pw))

	clock.advance(time.Minute)
	execAsRoot(t, tn, "DROP USER eve")
	deleted := loginError(t, tn.tcpConnString("eve", pw))

	want := errorFields(wrong)
	if !strings.Contains(want, `28P01|password authentication failed for user "eve"`) {
		t.Errorf("wrong password error = %q", want)
	}
	for name, e := range map[string]*pgconn.PgError{"unknown": unknown, "locked out": locked, "deleted": deleted} {
		if got := errorFields(e); got != want {
			t.Errorf("%s user: error %q, want %q", name, got, want)
		}
	}
	for _, reason := range []string{`reason="unknown user"`, `reason="wrong password"`, `reason="locked out"`, `reason="user deleted"`} {
		if !strings.Contains(tn.logs.String(), reason) {
			t.Errorf("the log lacks %s", reason)
		}
	}
}

func TestInternalUserRemoteAccessE2E(t *testing.T) {
	ctx := context.Background()
	// Every TCP connection counts as remote; the unix socket stays local.
	tn := startNode(t, server.TestingKnobs{OverrideSource: func(net.Addr) (security.Source, bool) {
		return security.SourceRemote, true
	}})
	const pw = "Ivan-remote-pass-7"
	execAsRoot(t, tn,
		"CREATE USER ivan WITH INTERNAL ROLE service",
		"ALTER USER ivan SET PASSWORD '"+pw+"'",
	)
	var pgErr *pgconn.PgError
	if _, err := pgx.Connect(ctx, tn.tcpConnString("ivan", pw)); !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("internal user from a remote address: %v, want 28P01", err)
	}
	execAsRoot(t, tn, "ALTER USER ivan SET ALLOW_REMOTE true")
	conn, err := pgx.Connect(ctx, tn.tcpConnString("ivan", pw))
	if err != nil {
		t.Fatalf("internal user with ALLOW_REMOTE: %v", err)
	}
	defer conn.Close(ctx)
	var user string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != "ivan" {
		t.Fatalf("current_user = %q, %v", user, err)
	}
	// Without a password even remote access does not let an internal user in.
	execAsRoot(t, tn, "CREATE USER nopw WITH INTERNAL ALLOW_REMOTE true")
	if _, err := pgx.Connect(ctx, tn.tcpConnString("nopw", "anything-at-all")); !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("internal user without a password from remote: %v, want 28P01", err)
	}
}
