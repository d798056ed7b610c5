// Package node assembles a complete pgkeep server from its layers: the kv
// engine, the catalog, the executor, authentication and the network
// server. The pgkeep binary and the end-to-end tests both start servers
// through it, so the tests run exactly the wiring that production runs.
package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/executor"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/protocol"
	"github.com/pgkeep/pgkeep/security"
	"github.com/pgkeep/pgkeep/server"
)

// RootPasswordFile is the name of the file, inside the data directory,
// that receives root's generated password on first start.
const RootPasswordFile = "root.password"

// rootPasswordLength is the length of root's generated password.
const rootPasswordLength = 24

// Config configures a node.
type Config struct {
	// DataDir holds the pebble store and root.password. It is created with
	// mode 0700 when missing.
	DataDir string
	// InMemory keeps the store in memory; DataDir still receives
	// root.password.
	InMemory bool
	// WriteBufferSize is the size in bytes of a transaction's in-memory
	// writes above which they move to the temporary store in
	// DataDir/store/temp. Zero means kv.DefaultWriteBufferSize.
	WriteBufferSize int

	Database string
	TimeZone string

	Server server.Config
	Auth   security.Config
	// PasswordPolicy applies to every new password. The zero value means
	// security.DefaultPasswordPolicy.
	PasswordPolicy *security.PasswordPolicy
	// DeletedUserGracePeriod is how long a dropped user can be restored
	// before the purge job removes it and its rows; zero means 30 days.
	DeletedUserGracePeriod time.Duration
	// AuditRetention is how long audit log entries are kept; zero means 90
	// days.
	AuditRetention time.Duration
	// MaintenanceInterval is how often the purge of dropped users and the
	// sweep of expired STREAM rows run; zero means one hour.
	MaintenanceInterval time.Duration
	Logger              *slog.Logger
	TestingKnobs        TestingKnobs
}

// TestingKnobs contains hooks for tests.
type TestingKnobs struct {
	// Now replaces the clock of STREAM TTLs, the purge and last_seen.
	Now func() time.Time
}

// Node is a running pgkeep server.
type Node struct {
	cfg     Config
	engine  kv.Engine
	cat     *catalog.Catalog
	exec    *executor.Server
	auth    *security.Authenticator
	srv     *server.Server
	logger  *slog.Logger
	stopped bool

	stopMaintenance context.CancelFunc
	maintenanceDone chan struct{}
	// loginWG tracks the last_seen updates still running.
	loginWG sync.WaitGroup

	auditQueue chan *catalog.AuditEntry
	auditDone  chan struct{}
}

// Start opens the store, bootstraps it on first start and starts listening.
func Start(cfg Config) (*Node, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Database == "" {
		cfg.Database = "postgres"
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	engine, err := kv.OpenPebble(filepath.Join(cfg.DataDir, "store"), kv.PebbleOptions{
		Logger:          logger,
		InMemory:        cfg.InMemory,
		WriteBufferSize: cfg.WriteBufferSize,
	})
	if err != nil {
		return nil, fmt.Errorf("opening store in %s: %w", cfg.DataDir, err)
	}
	n := &Node{cfg: cfg, engine: engine, cat: catalog.New(engine), logger: logger}
	if err := n.init(); err != nil {
		_ = engine.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) init() error {
	cfg := n.cfg

	// Passwords are hashed before the server secret exists, so bootstrap
	// uses an authenticator with a throwaway secret; only its hashing is used.
	bootAuthCfg := cfg.Auth
	bootAuthCfg.ServerSecret = make([]byte, 32)
	if _, err := rand.Read(bootAuthCfg.ServerSecret); err != nil {
		return err
	}
	bootAuth, err := security.NewAuthenticator(bootAuthCfg)
	if err != nil {
		return err
	}
	passwordPath := filepath.Join(cfg.DataDir, RootPasswordFile)
	created, err := n.cat.Bootstrap(catalog.BootstrapOptions{
		DatabaseName: cfg.Database,
		NewRootPassword: func() (string, string, string, error) {
			pw, err := security.GeneratePassword(rootPasswordLength)
			if err != nil {
				return "", "", "", err
			}
			bh, verifier, err := bootAuth.HashPassword(pw)
			return pw, bh, verifier, err
		},
		SaveRootPassword: func(pw string) error {
			return os.WriteFile(passwordPath, []byte(pw+"\n"), 0o600)
		},
	})
	if err != nil {
		return fmt.Errorf("bootstrapping catalog: %w", err)
	}
	if created {
		n.logger.Info("created catalog and the root user", "database", cfg.Database, "root_password_file", passwordPath)
	}
	// Sessions of an earlier run that did not end cleanly left their
	// temporary tables behind.
	removed, err := n.cat.RemoveTemporaryObjects()
	if err != nil {
		return fmt.Errorf("removing temporary tables of an earlier run: %w", err)
	}
	if removed > 0 {
		n.logger.Info("removed temporary tables of an earlier run", "schemas", removed)
	}

	txn, err := n.engine.Begin()
	if err != nil {
		return err
	}
	secret, err := n.cat.ServerSecret(txn)
	txn.Rollback()
	if err != nil {
		return err
	}
	authCfg := cfg.Auth
	authCfg.ServerSecret = secret
	if n.auth, err = security.NewAuthenticator(authCfg); err != nil {
		return err
	}

	policy := security.DefaultPasswordPolicy()
	if cfg.PasswordPolicy != nil {
		policy = *cfg.PasswordPolicy
	}
	if err := policy.Validate(); err != nil {
		return err
	}
	n.exec = executor.NewServer(executor.Config{
		Database:        cfg.Database,
		TimeZone:        cfg.TimeZone,
		HashPassword:    n.auth.HashPassword,
		IsSCRAMVerifier: security.IsSCRAMVerifier,
		PasswordPolicy:  policy.Check,
		Now:             cfg.TestingKnobs.Now,
	}, n.cat, n.logger)
	n.wireTokenProvisioning()

	if n.srv, err = server.New(cfg.Server, &backend{node: n}, n.logger); err != nil {
		return err
	}
	n.startAuditWriter()
	if err := n.srv.Start(); err != nil {
		n.stopAuditWriter()
		return err
	}
	n.startMaintenance()
	return nil
}

// wireTokenProvisioning lets a JWT verifier with auto-provisioning create
// users through the executor, unless its configuration brought a hook of
// its own.
func (n *Node) wireTokenProvisioning() {
	verifier, ok := n.cfg.Auth.TokenVerifier.(*security.JWTVerifier)
	if !ok || !verifier.AutoProvision() || verifier.HasProvision() {
		return
	}
	verifier.SetProvision(func(_ context.Context, name, provider, subject, role string) error {
		return n.exec.ProvisionOAuthUser(name, provider, subject, role)
	})
}

// Server returns the network server, for its listen addresses.
func (n *Node) Server() *server.Server { return n.srv }

// Catalog returns the node's catalog, for tests that inspect the store.
func (n *Node) Catalog() *catalog.Catalog { return n.cat }

// Stop shuts the server down, waits for connections to end and closes the
// store.
func (n *Node) Stop(ctx context.Context) error {
	if n.stopped {
		return nil
	}
	n.stopped = true
	err := n.srv.Shutdown(ctx)
	n.stopMaintenance()
	<-n.maintenanceDone
	n.loginWG.Wait()
	n.stopAuditWriter()
	if cerr := n.cat.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if cerr := n.engine.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}

// backend implements server.Backend over the executor and the
// authenticator.
type backend struct {
	node *Node
}

func (b *backend) Authenticate(ctx context.Context, ci security.ConnInfo, ex security.Exchange) (security.Result, error) {
	res, err := b.node.auth.Authenticate(ctx, ci, credentialStore{cat: b.node.cat}, ex)
	if err == nil {
		b.node.recordLogin(ci.User)
	}
	b.node.auditLogin(ci, res, err)
	return res, err
}

func (b *backend) NewSession(ctx context.Context, info server.SessionInfo) (protocol.Session, []server.ParameterStatus, error) {
	sess, params, err := b.node.exec.NewSession(ctx, executor.SessionOptions{
		User:       info.User,
		Database:   info.Database,
		Params:     info.Params,
		PID:        info.PID,
		RemoteAddr: info.RemoteAddr,
	})
	if err != nil {
		return nil, nil, err
	}
	out := make([]server.ParameterStatus, len(params))
	for i, p := range params {
		out[i] = server.ParameterStatus{Name: p.Name, Value: p.Value}
	}
	return sess, out, nil
}

// credentialStore reads login credentials from the catalog.
type credentialStore struct {
	cat *catalog.Catalog
}

func (s credentialStore) LookupCredentials(_ context.Context, name string) (security.Credentials, bool, error) {
	txn, err := s.cat.Engine().Begin()
	if err != nil {
		return security.Credentials{}, false, err
	}
	defer txn.Rollback()
	u, err := s.cat.User(txn, name)
	if err != nil || u == nil {
		return security.Credentials{}, false, err
	}
	// An unknown role string leaves Role zero, which matches no "+role"
	// entry of a connection rule.
	role, _ := security.ParseRole(u.Role)
	return security.Credentials{
		AuthType:      u.AuthType,
		Role:          role,
		BcryptHash:    u.BcryptHash,
		SCRAMVerifier: u.SCRAMVerifier,
		AllowRemote:   u.AllowRemote,
		Deleted:       !u.Active(),
		OAuthProvider: u.OAuthProvider,
		OAuthSubject:  u.OAuthSubject,
	}, true, nil
}
