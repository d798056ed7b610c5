package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgkeep/pgkeep/security"
	"github.com/pgkeep/pgkeep/server/testcert"
)

// startTLSServer starts a test server that serves certs. edit may change the
// config further.
func startTLSServer(t *testing.T, certs *testcert.Files, edit func(*Config)) *testServer {
	t.Helper()
	return startServer(t, func(cfg *Config) {
		cfg.TLS = certs.ServerConfig()
		if edit != nil {
			edit(cfg)
		}
	})
}

// sslRequest sends SSLRequest on conn and returns the server's one-byte reply.
func sslRequest(t *testing.T, conn net.Conn) byte {
	t.Helper()
	write(t, conn, startupPacket(sslRequestCode))
	reply := make([]byte, 1)
	if _, err := io.ReadFull(conn, reply); err != nil {
		t.Fatalf("reading the SSLRequest reply: %v", err)
	}
	return reply[0]
}

// lastConnInfo returns the ConnInfo of the latest authentication.
func lastConnInfo(t *testing.T, backend *fakeBackend) security.ConnInfo {
	t.Helper()
	infos := backend.connInfos()
	if len(infos) == 0 {
		t.Fatal("the backend authenticated no connection")
	}
	return infos[len(infos)-1]
}

func TestSSLRequestAnsweredSWithHandshake(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	srv := startTLSServer(t, certs, nil)
	conn := dialRaw(t, srv)

	if reply := sslRequest(t, conn); reply != 'S' {
		t.Fatalf("SSLRequest reply = %q, want S", reply)
	}
	tlsConn := tls.Client(conn, &tls.Config{RootCAs: certs.CAPool, ServerName: "localhost"})
	if err := tlsConn.Handshake(); err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}

	write(t, tlsConn, startupPacket(pgproto3.ProtocolVersion30, "user", "kate"))
	msgs := receiveAll(t, tlsConn)
	if len(msgs) == 0 {
		t.Fatal("no reply to the startup message")
	}
	if _, ok := msgs[0].(*pgproto3.AuthenticationOk); !ok {
		t.Errorf("first message = %T, want AuthenticationOk", msgs[0])
	}
	if _, ok := msgs[len(msgs)-1].(*pgproto3.ReadyForQuery); !ok {
		t.Errorf("last message = %T, want ReadyForQuery", msgs[len(msgs)-1])
	}

	ci := lastConnInfo(t, srv.backend)
	if !ci.TLS {
		t.Error("ConnInfo.TLS = false on a TLS connection")
	}
	// The certificate is signed with ECDSA and SHA-256, so the binding data
	// is the SHA-256 hash of the certificate the client received.
	peer := tlsConn.ConnectionState().PeerCertificates[0]
	want := sha256.Sum256(peer.Raw)
	if !bytes.Equal(ci.ChannelBinding, want[:]) {
		t.Errorf("ChannelBinding = %x, want SHA-256 of the server certificate %x", ci.ChannelBinding, want)
	}

	logs := srv.logs.String()
	if !strings.Contains(logs, `tls_version="TLS 1.3"`) {
		t.Errorf("log lacks the TLS version:\n%s", logs)
	}
	if !strings.Contains(logs, "tls_cipher=TLS_") {
		t.Errorf("log lacks the TLS cipher suite:\n%s", logs)
	}
}

func TestSecondSSLRequestOverTLSRejected(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	srv := startTLSServer(t, certs, nil)
	conn := dialRaw(t, srv)

	if reply := sslRequest(t, conn); reply != 'S' {
		t.Fatalf("SSLRequest reply = %q, want S", reply)
	}
	tlsConn := tls.Client(conn, &tls.Config{RootCAs: certs.CAPool, ServerName: "localhost"})
	write(t, tlsConn, startupPacket(sslRequestCode))
	expectFatal(t, receiveAll(t, tlsConn), "08P01", "encryption negotiation already done on this connection")
}

func TestGSSENCRequestOverTLSRejected(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	srv := startTLSServer(t, certs, nil)
	conn := dialRaw(t, srv)

	if reply := sslRequest(t, conn); reply != 'S' {
		t.Fatalf("SSLRequest reply = %q, want S", reply)
	}
	tlsConn := tls.Client(conn, &tls.Config{RootCAs: certs.CAPool, ServerName: "localhost"})
	write(t, tlsConn, startupPacket(gssEncRequestCode))
	expectFatal(t, receiveAll(t, tlsConn), "08P01", "encryption negotiation already done on this connection")
}

func TestGSSENCRequestAnsweredNWithTLS(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	srv := startTLSServer(t, certs, nil)
	conn := dialRaw(t, srv)

	write(t, conn, startupPacket(gssEncRequestCode))
	reply := make([]byte, 1)
	if _, err := io.ReadFull(conn, reply); err != nil || reply[0] != 'N' {
		t.Fatalf("GSSENCRequest reply = %q, %v; want N", reply, err)
	}
	// libpq sends SSLRequest after GSSAPI encryption was declined.
	if reply := sslRequest(t, conn); reply != 'S' {
		t.Fatalf("SSLRequest reply = %q, want S", reply)
	}
}

func TestSSLRequestOnUnixSocketAnsweredN(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	srv := startTLSServer(t, certs, nil)
	conn, err := net.DialTimeout("unix", srv.SocketPath(), testTimeout)
	if err != nil {
		t.Fatalf("dial unix socket: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	if reply := sslRequest(t, conn); reply != 'N' {
		t.Fatalf("SSLRequest reply on the unix socket = %q, want N", reply)
	}
}

func TestPgxSSLModeRequire(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	srv := startTLSServer(t, certs, nil)

	conn := connectPgx(t, srv.tcpConnString("alice", "sslmode=require"))
	execOK(t, conn)
	if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
		t.Errorf("pgx connection is %T, want *tls.Conn", conn.PgConn().Conn())
	}
	if ci := lastConnInfo(t, srv.backend); !ci.TLS || len(ci.ChannelBinding) != sha256.Size {
		t.Errorf("ConnInfo TLS = %v, channel binding of %d bytes; want true and %d bytes",
			ci.TLS, len(ci.ChannelBinding), sha256.Size)
	}
}

func TestPgxSSLModeVerifyFull(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	srv := startTLSServer(t, certs, nil)

	conn := connectPgx(t, srv.tcpConnString("alice", "sslmode=verify-full sslrootcert="+certs.CAFile))
	execOK(t, conn)
	if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
		t.Errorf("pgx connection is %T, want *tls.Conn", conn.PgConn().Conn())
	}

	// A certificate from another CA fails verification.
	otherCA := testcert.Generate(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	bad, err := pgx.Connect(ctx, srv.tcpConnString("alice", "sslmode=verify-full sslrootcert="+otherCA.CAFile))
	if err == nil {
		_ = bad.Close(ctx)
		t.Fatal("verify-full accepted a certificate from an unknown CA")
	}
	if !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("error = %v, want an unknown authority error", err)
	}
}

func TestPgxSSLModeDisableWithTLSConfigured(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	srv := startTLSServer(t, certs, nil)

	conn := connectPgx(t, srv.tcpConnString("alice", "sslmode=disable"))
	execOK(t, conn)
	if ci := lastConnInfo(t, srv.backend); ci.TLS || ci.ChannelBinding != nil {
		t.Errorf("ConnInfo TLS = %v, channel binding %x; want false and none", ci.TLS, ci.ChannelBinding)
	}
}

func TestRequireTLSRemote(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	srv := startTLSServer(t, certs, func(cfg *Config) {
		cfg.RequireTLSRemote = true
		cfg.TestingKnobs.OverrideSource = func(net.Addr) (security.Source, bool) {
			return security.SourceRemote, true
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	_, err := pgx.Connect(ctx, srv.tcpConnString("alice", "sslmode=disable"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("plaintext remote connection: error %v, want a PgError", err)
	}
	if pgErr.Severity != "FATAL" || pgErr.Code != "28000" ||
		pgErr.Message != `TLS is required for connections from host "127.0.0.1"` {
		t.Errorf("error = %s %s %q, want FATAL 28000 about TLS", pgErr.Severity, pgErr.Code, pgErr.Message)
	}
	if len(srv.backend.connInfos()) != 0 {
		t.Error("the rejected connection reached authentication")
	}
	if !strings.Contains(srv.logs.String(), "connection rejected: TLS is required for remote addresses") {
		t.Errorf("log lacks the rejection:\n%s", srv.logs.String())
	}

	// The same client over TLS gets in.
	conn := connectPgx(t, srv.tcpConnString("alice", "sslmode=require"))
	execOK(t, conn)
	if ci := lastConnInfo(t, srv.backend); ci.Source != security.SourceRemote || !ci.TLS {
		t.Errorf("ConnInfo source %s, TLS %v; want remote over TLS", ci.Source, ci.TLS)
	}

	// The unix socket is local and exempt.
	local := connectPgx(t, srv.unixConnString("alice", "sslmode=disable"))
	execOK(t, local)
}

func TestRequireTLSRemoteExemptsLoopback(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	srv := startTLSServer(t, certs, func(cfg *Config) { cfg.RequireTLSRemote = true })

	conn := connectPgx(t, srv.tcpConnString("alice", "sslmode=disable"))
	execOK(t, conn)
	if ci := lastConnInfo(t, srv.backend); ci.Source != security.SourceLoopback || ci.TLS {
		t.Errorf("ConnInfo source %s, TLS %v; want loopback without TLS", ci.Source, ci.TLS)
	}
}

func TestTLSVersionBelowMinimumRejected(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	cases := []struct {
		name      string
		serverMin uint16
		clientMax uint16
	}{
		// MinVersion 1.0 in the config is raised to TLS 1.2.
		{"TLS 1.1 client, minimum 1.0 raised", tls.VersionTLS10, tls.VersionTLS11},
		{"TLS 1.2 client, minimum 1.3", tls.VersionTLS13, tls.VersionTLS12},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startTLSServer(t, certs, func(cfg *Config) { cfg.TLS.MinVersion = tc.serverMin })
			conn := dialRaw(t, srv)
			if reply := sslRequest(t, conn); reply != 'S' {
				t.Fatalf("SSLRequest reply = %q, want S", reply)
			}
			tlsConn := tls.Client(conn, &tls.Config{
				RootCAs:    certs.CAPool,
				ServerName: "localhost",
				MinVersion: tls.VersionTLS10,
				MaxVersion: tc.clientMax,
			})
			err := tlsConn.Handshake()
			if err == nil {
				t.Fatalf("handshake with a client limited to %s succeeded", tls.VersionName(tc.clientMax))
			}
			if !strings.Contains(err.Error(), "protocol version") {
				t.Errorf("handshake error = %v, want a protocol version alert", err)
			}
			if len(srv.backend.connInfos()) != 0 {
				t.Error("the connection reached authentication")
			}
		})
	}

	// The server logs the failure once the connection goroutine ends, which
	// Shutdown waits for.
	srv := startTLSServer(t, certs, nil)
	conn := dialRaw(t, srv)
	sslRequest(t, conn)
	tlsConn := tls.Client(conn, &tls.Config{RootCAs: certs.CAPool, ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	if err := tlsConn.Handshake(); err == nil {
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if logs := srv.logs.String(); !strings.Contains(logs, "TLS handshake failed") {
		t.Errorf("log lacks the handshake failure:\n%s", logs)
	}
}

func TestChannelBindingHashFollowsSignature(t *testing.T) {
	cases := []struct {
		name    string
		keyType testcert.KeyType
		hash    func([]byte) []byte
	}{
		{"ECDSA SHA-256", testcert.ECDSAP256, func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
		{"ECDSA SHA-384", testcert.ECDSAP384, func(b []byte) []byte { s := sha512.Sum384(b); return s[:] }},
		// RFC 5929 leaves the binding undefined for Ed25519.
		{"Ed25519", testcert.Ed25519, func([]byte) []byte { return nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			certs := testcert.GenerateKeyType(t, t.TempDir(), tc.keyType)
			srv := startTLSServer(t, certs, nil)

			conn := connectPgx(t, srv.tcpConnString("alice", "sslmode=verify-full sslrootcert="+certs.CAFile))
			execOK(t, conn)
			peer := conn.PgConn().Conn().(*tls.Conn).ConnectionState().PeerCertificates[0]

			ci := lastConnInfo(t, srv.backend)
			if !ci.TLS {
				t.Error("ConnInfo.TLS = false on a TLS connection")
			}
			if want := tc.hash(peer.Raw); !bytes.Equal(ci.ChannelBinding, want) {
				t.Errorf("ChannelBinding = %x, want %x", ci.ChannelBinding, want)
			}
		})
	}
}

func TestTLSConfigValidated(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"require without TLS", func(cfg *Config) { cfg.RequireTLSRemote = true },
			"RequireTLSRemote is set but TLS is not configured"},
		{"no certificate", func(cfg *Config) { cfg.TLS = &tls.Config{} },
			"TLS has no certificate"},
		{"GetConfigForClient", func(cfg *Config) {
			cfg.TLS = certs.ServerConfig()
			cfg.TLS.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return nil, nil }
		}, "GetConfigForClient is not supported"},
		{"maximum TLS 1.1", func(cfg *Config) {
			cfg.TLS = certs.ServerConfig()
			cfg.TLS.MaxVersion = tls.VersionTLS11
		}, "below TLS 1.2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{ListenAddr: "127.0.0.1:0"}
			tc.edit(&cfg)
			_, err := New(cfg, newFakeBackend(), slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error = %v, want one containing %q", err, tc.want)
			}
		})
	}

	// The server keeps its own copy, so later changes to the caller's
	// config do not reach it.
	cfg := Config{ListenAddr: "127.0.0.1:0", TLS: certs.ServerConfig()}
	srv, err := New(cfg, newFakeBackend(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	cfg.TLS.MinVersion = tls.VersionTLS10
	if srv.cfg.TLS.MinVersion != tls.VersionTLS12 || !srv.cfg.TLS.SessionTicketsDisabled {
		t.Errorf("server TLS MinVersion %s, tickets disabled %v; want TLS 1.2 and true",
			tls.VersionName(srv.cfg.TLS.MinVersion), srv.cfg.TLS.SessionTicketsDisabled)
	}
}
