package node_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgkeep/pgkeep/node"
	"github.com/pgkeep/pgkeep/security"
	"github.com/pgkeep/pgkeep/server"
)

// testNode is a pgkeep server started for one test.
type testNode struct {
	t       testing.TB
	dataDir string
	sockDir string
	node    *node.Node
	port    int
	logs    *syncBuffer
	knobs   server.TestingKnobs
	// tls is the server's TLS configuration, nil for none.
	tls *tls.Config
	// nodeKnobs are the node's own test hooks, such as its clock.
	nodeKnobs node.TestingKnobs
	// writeBufferSize is node.Config.WriteBufferSize.
	writeBufferSize int
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startNode starts a server on a random loopback port with a data
// directory that outlives restarts within the test.
func startNode(t testing.TB, knobs server.TestingKnobs) *testNode {
	t.Helper()
	return startNodeWith(t, knobs, node.TestingKnobs{})
}

// startTLSNode is startNode with a TLS configuration for the server.
func startTLSNode(t testing.TB, knobs server.TestingKnobs, tlsConfig *tls.Config) *testNode {
	t.Helper()
	tn := newTestNode(t, knobs)
	tn.tls = tlsConfig
	tn.start()
	t.Cleanup(tn.stop)
	return tn
}

// startNodeWith is startNode with the node's test hooks.
func startNodeWith(t testing.TB, knobs server.TestingKnobs, nodeKnobs node.TestingKnobs) *testNode {
	t.Helper()
	tn := newTestNode(t, knobs)
	tn.nodeKnobs = nodeKnobs
	tn.start()
	t.Cleanup(tn.stop)
	return tn
}

// newTestNode returns a node to start, with its directories.
func newTestNode(t testing.TB, knobs server.TestingKnobs) *testNode {
	t.Helper()
	// Unix socket paths are limited to about 107 bytes, so the socket lives
	// in a short directory of its own.
	sockDir, err := os.MkdirTemp("", "pgk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	return &testNode{t: t, dataDir: filepath.Join(t.TempDir(), "data"), sockDir: sockDir, knobs: knobs}
}

func (tn *testNode) start() {
	tn.t.Helper()
	tn.logs = &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(tn.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	listen := "127.0.0.1:0"
	if tn.port != 0 {
		listen = "127.0.0.1:" + strconv.Itoa(tn.port)
	}
	n, err := node.Start(node.Config{
		DataDir:         tn.dataDir,
		WriteBufferSize: tn.writeBufferSize,
		Server: server.Config{
			ListenAddr:   listen,
			SocketDir:    tn.sockDir,
			TestingKnobs: tn.knobs,
			TLS:          tn.tls,
		},
		// The lowest bcrypt cost keeps CREATE USER fast in tests.
		Auth:         security.Config{BcryptCost: 4},
		Logger:       logger,
		TestingKnobs: tn.nodeKnobs,
	})
	if err != nil {
		tn.t.Fatalf("starting node: %v", err)
	}
	tn.node = n
	tn.port = n.Server().Addr().(*net.TCPAddr).Port
}

func (tn *testNode) stop() {
	if tn.node == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tn.node.Stop(ctx); err != nil {
		tn.t.Errorf("stopping node: %v", err)
	}
	tn.node = nil
}

func (tn *testNode) restart() {
	tn.t.Helper()
	tn.stop()
	tn.start()
}

// tcpConnString returns a libpq connection string for a TCP login.
func (tn *testNode) tcpConnString(user, password string) string {
	s := fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=postgres sslmode=disable", tn.port, user)
	if password != "" {
		s += " password=" + password
	}
	return s
}

// socketConnString returns a connection string for the unix socket.
func (tn *testNode) socketConnString(user string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=postgres sslmode=disable", tn.sockDir, tn.port, user)
}

func (tn *testNode) connect(ctx context.Context, connString string) *pgx.Conn {
	tn.t.Helper()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		tn.t.Fatalf("connecting with %q: %v", redactPassword(connString), err)
	}
	tn.t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func redactPassword(connString string) string {
	var out []string
	for _, f := range strings.Fields(connString) {
		if strings.HasPrefix(f, "password=") {
			f = "password=***"
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}

// psql runs psql with the given arguments and a clean environment, and
// returns its combined output.
func (tn *testNode) psql(env []string, args ...string) (string, error) {
	tn.t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		tn.t.Fatalf("psql is not installed (install postgresql-client): %v", err)
	}
	cmd := exec.Command("psql", append([]string{"-X", "-v", "ON_ERROR_STOP=1", "-A", "-t"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + tn.t.TempDir(), "PGCONNECT_TIMEOUT=10"}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
