package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgkeep/pgkeep/security"
)

// testTimeout bounds every wait so that a hang fails the test.
const testTimeout = 10 * time.Second

type testServer struct {
	*Server
	backend *fakeBackend
	logs    *syncBuffer
	sockDir string
}

// startServer starts a server on 127.0.0.1:0 and a unix socket in a new
// short temporary directory. edit may change the config first.
func startServer(t *testing.T, edit func(*Config)) *testServer {
	t.Helper()
	// Unix socket paths are limited to about 107 bytes, too short for
	// t.TempDir() under some test names.
	sockDir, err := os.MkdirTemp("", "pgk")
	if err != nil {
		t.Fatalf("creating socket dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })

	cfg := Config{ListenAddr: "127.0.0.1:0", SocketDir: sockDir}
	if edit != nil {
		edit(&cfg)
	}
	logs := &syncBuffer{}
	backend := newFakeBackend()
	srv, err := New(cfg, backend, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &testServer{Server: srv, backend: backend, logs: logs, sockDir: sockDir}
}

func (s *testServer) port() int { return s.Addr().(*net.TCPAddr).Port }

// tcpConnString returns a libpq connection string for TCP. extra is
// appended, such as "sslmode=disable".
func (s *testServer) tcpConnString(user, extra string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s %s", s.port(), user, extra)
}

func (s *testServer) unixConnString(user, extra string) string {
	return fmt.Sprintf("host=%s port=%d user=%s %s", s.sockDir, s.port(), user, extra)
}

func connectPgx(t *testing.T, connString string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect %q: %v", connString, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func connectPgconn(t *testing.T, connString string) *pgconn.PgConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, err := pgconn.Connect(ctx, connString)
	if err != nil {
		t.Fatalf("connect %q: %v", connString, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func execOK(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	tag, err := conn.Exec(ctx, "anything")
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	if tag.String() != "OK" {
		t.Fatalf("tag = %q, want OK", tag)
	}
}

func TestConnectTCPDefaultSSLMode(t *testing.T) {
	srv := startServer(t, nil)

	// pgx's default sslmode=prefer sends SSLRequest, gets 'N' and
	// reconnects without TLS.
	conn := connectPgx(t, srv.tcpConnString("alice", "database=shop application_name=tests"))
	execOK(t, conn)

	info, ok := srv.backend.lastSessionInfo()
	if !ok {
		t.Fatal("NewSession was not called")
	}
	if info.User != "alice" || info.Database != "shop" {
		t.Errorf("user/database = %s/%s, want alice/shop", info.User, info.Database)
	}
	if info.Source != security.SourceLoopback {
		t.Errorf("source = %v, want loopback", info.Source)
	}
	if !strings.HasPrefix(info.RemoteAddr, "127.0.0.1:") {
		t.Errorf("remote address = %q, want 127.0.0.1:port", info.RemoteAddr)
	}
	if info.Params["application_name"] != "tests" {
		t.Errorf("params = %v, want application_name=tests", info.Params)
	}
	if _, ok := info.Params["user"]; ok {
		t.Errorf("params contain user: %v", info.Params)
	}
	if got := conn.PgConn().PID(); got != info.PID || got == 0 {
		t.Errorf("BackendKeyData PID = %d, SessionInfo PID = %d, want equal and non-zero", got, info.PID)
	}
	if got := conn.PgConn().ParameterStatus("session_authorization"); got != "alice" {
		t.Errorf("ParameterStatus session_authorization = %q, want alice", got)
	}
}

func TestConnectUnixSocket(t *testing.T) {
	srv := startServer(t, nil)

	want := fmt.Sprintf("%s/.s.PGSQL.%d", srv.sockDir, srv.port())
	if got := srv.SocketPath(); got != want {
		t.Errorf("socket path = %q, want %q", got, want)
	}
	info, err := os.Stat(srv.SocketPath())
	if err != nil {
		t.Fatalf("stat socket: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o777 {
		t.Errorf("socket mode = %o, want 777", perm)
	}

	conn := connectPgx(t, srv.unixConnString("bob", ""))
	execOK(t, conn)

	sessInfo, _ := srv.backend.lastSessionInfo()
	if sessInfo.Source != security.SourceLocal {
		t.Errorf("source = %v, want local", sessInfo.Source)
	}
	if sessInfo.RemoteAddr != "[local]" {
		t.Errorf("remote address = %q, want [local]", sessInfo.RemoteAddr)
	}
	if sessInfo.Database != "bob" {
		t.Errorf("database = %q, want the user name bob", sessInfo.Database)
	}
}

func TestPasswordAuthentication(t *testing.T) {
	srv := startServer(t, nil)

	conn := connectPgx(t, srv.tcpConnString(passwordUser, "sslmode=disable password="+testPassword))
	execOK(t, conn)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, err := pgx.Connect(ctx, srv.tcpConnString(passwordUser, "sslmode=disable password=wrong-pw"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("connect with a wrong password: %v, want a PgError", err)
	}
	if pgErr.Code != "28P01" || pgErr.Severity != "FATAL" {
		t.Errorf("error = %s %s, want FATAL 28P01", pgErr.Severity, pgErr.Code)
	}

	logs := srv.logs.String()
	if !strings.Contains(logs, "authentication failed") || !strings.Contains(logs, "reason=\"wrong password\"") {
		t.Errorf("logs lack the failed login and its reason:\n%s", logs)
	}
	if strings.Contains(logs, "wrong-pw") || strings.Contains(logs, testPassword) {
		t.Errorf("logs contain a password:\n%s", logs)
	}
}

func TestSCRAMAuthentication(t *testing.T) {
	srv := startServer(t, nil)

	conn := connectPgx(t, srv.tcpConnString(scramUser, "sslmode=disable password="+testPassword))
	execOK(t, conn)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, err := pgx.Connect(ctx, srv.tcpConnString(scramUser, "sslmode=disable password=wrong-pw"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Errorf("connect with a wrong SCRAM password: %v, want 28P01", err)
	}
}

func TestNewSessionFailure(t *testing.T) {
	srv := startServer(t, nil)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, err := pgconn.Connect(ctx, srv.tcpConnString(noDatabaseUser, "sslmode=disable database=nowhere"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("connect: %v, want a PgError", err)
	}
	if pgErr.Code != "3D000" || pgErr.Message != `database "nowhere" does not exist` {
		t.Errorf("error = %s %s, want 3D000 database \"nowhere\" does not exist", pgErr.Code, pgErr.Message)
	}
}

func TestOverrideSourceKnob(t *testing.T) {
	srv := startServer(t, func(cfg *Config) {
		cfg.TestingKnobs.OverrideSource = func(net.Addr) (security.Source, bool) {
			return security.SourceRemote, true
		}
	})

	connectPgx(t, srv.tcpConnString("carol", "sslmode=disable"))
	infos := srv.backend.connInfos()
	if len(infos) != 1 || infos[0].Source != security.SourceRemote {
		t.Errorf("ConnInfo = %+v, want one remote connection", infos)
	}
	sessInfo, _ := srv.backend.lastSessionInfo()
	if sessInfo.Source != security.SourceRemote {
		t.Errorf("SessionInfo source = %v, want remote", sessInfo.Source)
	}

	// Unix sockets stay local whatever the knob returns.
	connectPgx(t, srv.unixConnString("carol", ""))
	sessInfo, _ = srv.backend.lastSessionInfo()
	if sessInfo.Source != security.SourceLocal {
		t.Errorf("unix socket source = %v, want local", sessInfo.Source)
	}
}

func TestCancelRequestReachesConnection(t *testing.T) {
	srv := startServer(t, nil)
	target := connectPgconn(t, srv.tcpConnString("dave", "sslmode=disable"))
	bystander := connectPgconn(t, srv.tcpConnString("erin", "sslmode=disable"))

	done := make(chan error, 1)
	go func() {
		_, err := target.Exec(context.Background(), "sleep").ReadAll()
		done <- err
	}()

	// A cancel that arrives before the statement starts has no effect, so
	// repeat it until the statement ends.
	var err error
	deadline := time.After(testTimeout)
wait:
	for {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		if cancelErr := target.CancelRequest(ctx); cancelErr != nil {
			t.Errorf("cancel request: %v", cancelErr)
		}
		cancel()
		select {
		case err = <-done:
			break wait
		case <-deadline:
			t.Fatal("statement was not canceled")
		case <-time.After(10 * time.Millisecond):
		}
	}

	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Errorf("canceled statement error = %v, want 57014", err)
	}

	// The connection and the bystander keep working.
	for _, conn := range []*pgconn.PgConn{target, bystander} {
		if _, err := conn.Exec(context.Background(), "ok").ReadAll(); err != nil {
			t.Errorf("exec after cancel: %v", err)
		}
	}
}

func TestTooManyClients(t *testing.T) {
	srv := startServer(t, func(cfg *Config) { cfg.MaxConnections = 1 })
	first := connectPgconn(t, srv.tcpConnString("frank", "sslmode=disable"))

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, err := pgconn.Connect(ctx, srv.tcpConnString("grace", "sslmode=disable"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("second connection: %v, want a PgError", err)
	}
	if pgErr.Code != "53300" || pgErr.Message != "sorry, too many clients already" {
		t.Errorf("error = %s %s, want 53300 sorry, too many clients already", pgErr.Code, pgErr.Message)
	}

	// Once the first connection ends its slot is free again. The server
	// releases it asynchronously, so retry until it does.
	if err := first.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	for {
		conn, err := pgconn.Connect(ctx, srv.tcpConnString("grace", "sslmode=disable"))
		if err == nil {
			_ = conn.Close(ctx)
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("connection slot was never released: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShutdownClosesEverything(t *testing.T) {
	sockDir, err := os.MkdirTemp("", "pgk")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	backend := newFakeBackend()
	srv, err := New(Config{ListenAddr: "127.0.0.1:0", SocketDir: sockDir}, backend, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	port := srv.Addr().(*net.TCPAddr).Port
	connString := fmt.Sprintf("host=127.0.0.1 port=%d user=henry sslmode=disable", port)

	idle := connectPgconn(t, connString)
	busy := connectPgconn(t, connString)
	half, err := net.Dial("tcp", srv.Addr().String()) // never sends a startup packet
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()

	busyDone := make(chan error, 1)
	go func() {
		_, err := busy.Exec(context.Background(), "sleep").ReadAll()
		busyDone <- err
	}()

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	select {
	case err := <-busyDone:
		if err == nil {
			t.Error("running statement succeeded during shutdown, want an error")
		}
	case <-time.After(testTimeout):
		t.Fatal("running statement did not end")
	}

	if _, err := idle.Exec(context.Background(), "ok").ReadAll(); err == nil {
		t.Error("idle connection still works after shutdown")
	}
	_ = half.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := half.Read(make([]byte, 1)); err == nil {
		t.Error("half-open connection still open after shutdown")
	}
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		t.Error("server still accepts TCP connections after shutdown")
	}
	if _, err := os.Stat(fmt.Sprintf("%s/.s.PGSQL.%d", sockDir, port)); !os.IsNotExist(err) {
		t.Errorf("socket file still exists after shutdown: %v", err)
	}

	backend.mu.Lock()
	defer backend.mu.Unlock()
	for i, sess := range backend.mu.sessions {
		if !sess.closed() {
			t.Errorf("session %d not closed", i)
		}
	}
}

func TestPanicClosesOnlyThatConnection(t *testing.T) {
	srv := startServer(t, nil)
	other := connectPgx(t, srv.tcpConnString("ivan", "sslmode=disable"))

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := pgconn.Connect(ctx, srv.tcpConnString(panicUser, "sslmode=disable")); err == nil {
		t.Fatal("connection of a panicking backend succeeded")
	}
	execOK(t, other)

	// The log line is written after the client sees the close, so wait for it.
	for !strings.Contains(srv.logs.String(), "fake authentication panic") {
		if ctx.Err() != nil {
			t.Fatalf("panic not logged:\n%s", srv.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if logs := srv.logs.String(); !strings.Contains(logs, "stack=") {
		t.Errorf("panic logged without a stack:\n%s", logs)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no listener", Config{}},
		{"bad listen address", Config{ListenAddr: "localhost"}},
		{"negative max connections", Config{ListenAddr: "127.0.0.1:0", MaxConnections: -1}},
		{"negative timeout", Config{ListenAddr: "127.0.0.1:0", AuthenticationTimeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg, newFakeBackend(), slog.New(slog.DiscardHandler)); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

func TestStaleSocketRemoved(t *testing.T) {
	sockDir, err := os.MkdirTemp("", "pgk")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)

	// A listener closed without unlinking leaves a socket that refuses
	// connections.
	path := sockDir + "/.s.PGSQL.5432"
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	_ = stale.Close()

	srv, err := New(Config{SocketDir: sockDir}, newFakeBackend(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("start over a stale socket: %v", err)
	}
	defer srv.Shutdown(context.Background())
	if srv.SocketPath() != path {
		t.Errorf("socket path = %q, want %q", srv.SocketPath(), path)
	}
	conn := connectPgx(t, fmt.Sprintf("host=%s port=5432 user=judy", sockDir))
	execOK(t, conn)

	// A second server must not take over a live socket.
	second, err := New(Config{SocketDir: sockDir}, newFakeBackend(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Start(); err == nil {
		t.Error("second server started on a socket in use")
		_ = second.Shutdown(context.Background())
	}
}
