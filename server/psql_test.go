package server

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// runPsql runs psql against the test server with a clean environment and
// returns its combined output. The test is skipped when psql is not
// installed.
func runPsql(t *testing.T, srv *testServer, host, user string, extraEnv []string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	cmdArgs := append([]string{"-X", "-w", "-h", host, "-p", strconv.Itoa(srv.port()), "-U", user, "-d", "db"}, args...)
	cmd := exec.CommandContext(ctx, path, cmdArgs...)
	cmd.Env = append([]string{"PGCONNECT_TIMEOUT=10", "HOME=" + t.TempDir()}, extraEnv...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPsqlOverUnixSocketAndTCP(t *testing.T) {
	srv := startServer(t, nil)

	for _, host := range []string{srv.sockDir, "127.0.0.1"} {
		// Over TCP psql's default sslmode=prefer sends SSLRequest first and
		// continues on the same connection after 'N'.
		out, err := runPsql(t, srv, host, "uma", nil, "-c", "begin")
		if err != nil {
			t.Fatalf("psql via %s: %v\n%s", host, err, out)
		}
		if strings.TrimSpace(out) != "BEGIN" {
			t.Errorf("psql via %s printed %q, want BEGIN", host, out)
		}
	}
}

func TestPsqlPasswordAndError(t *testing.T) {
	srv := startServer(t, nil)

	out, err := runPsql(t, srv, "127.0.0.1", passwordUser, []string{"PGPASSWORD=" + testPassword}, "-c", "fail")
	if err == nil {
		t.Fatalf("psql succeeded on a failing statement:\n%s", out)
	}
	if !strings.Contains(out, "ERROR:  division by zero") {
		t.Errorf("psql output lacks the error:\n%s", out)
	}

	out, err = runPsql(t, srv, "127.0.0.1", passwordUser, []string{"PGPASSWORD=wrong-pw"}, "-c", "ok")
	if err == nil {
		t.Fatalf("psql connected with a wrong password:\n%s", out)
	}
	if !strings.Contains(out, `password authentication failed for user "pwuser"`) {
		t.Errorf("psql output lacks the authentication failure:\n%s", out)
	}
}
