package executor

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// ServerVersion is reported as server_version and inside version(). Clients
// pick their catalog queries by it; pg_query v5 parses PostgreSQL 16's
// grammar.
const ServerVersion = "16.4"

// Config is the part of the configuration the executor needs.
type Config struct {
	// Database is the name of the one database served.
	Database string
	// TimeZone is the default TimeZone setting of new sessions.
	TimeZone string
	// HashPassword produces the stored forms of a new password.
	HashPassword func(password string) (bcryptHash, scramVerifier string, err error)
	// IsSCRAMVerifier reports whether a password text is a pre-hashed SCRAM
	// verifier, which is stored as given.
	IsSCRAMVerifier func(s string) bool
	// PasswordPolicy checks new passwords; nil accepts every password.
	PasswordPolicy func(password string) error
	// Now is the clock for STREAM TTLs; nil means time.Now. Tests replace it.
	Now func() time.Time
}

// Server holds what all sessions share.
type Server struct {
	cfg    Config
	cat    *catalog.Catalog
	logger *slog.Logger
	// tempSchemas numbers the temporary schemas of sessions.
	tempSchemas atomic.Uint64
}

// NewServer returns an executor over a bootstrapped catalog.
func NewServer(cfg Config, cat *catalog.Catalog, logger *slog.Logger) *Server {
	if cfg.TimeZone == "" {
		cfg.TimeZone = "UTC"
	}
	return &Server{cfg: cfg, cat: cat, logger: logger}
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// Catalog returns the catalog the server executes against.
func (s *Server) Catalog() *catalog.Catalog { return s.cat }

// ParameterStatus is a session parameter reported to the client.
type ParameterStatus struct{ Name, Value string }

// SessionOptions describe a new authenticated session.
type SessionOptions struct {
	User     string
	Database string
	// Params are the startup parameters other than user and database.
	Params map[string]string
	PID    uint32
	// RemoteAddr is the client address, for the audit log.
	RemoteAddr string
}

// NewSession creates the session of an authenticated user and returns the
// ParameterStatus values to send after AuthenticationOk.
func (s *Server) NewSession(ctx context.Context, opts SessionOptions) (*Session, []ParameterStatus, error) {
	txn, err := s.cat.Engine().Begin()
	if err != nil {
		return nil, nil, err
	}
	defer txn.Rollback()
	db, err := s.cat.Database(txn)
	if err != nil {
		return nil, nil, err
	}
	if opts.Database != db.Name {
		return nil, nil, pgerror.Newf(pgcode.InvalidCatalogName, "database %q does not exist", opts.Database).WithSeverity(pgerror.SeverityFatal)
	}
	userVersion := s.cat.UsersVersion()
	user, err := s.cat.User(txn, opts.User)
	if err != nil {
		return nil, nil, err
	}
	if user == nil || !user.Active() {
		return nil, nil, pgerror.Newf(pgcode.InvalidAuthorizationSpecification, "role %q does not exist", opts.User).WithSeverity(pgerror.SeverityFatal)
	}

	sess := &Session{
		srv:         s,
		user:        user,
		database:    db.Name,
		pid:         opts.PID,
		source:      opts.RemoteAddr,
		userVersion: userVersion,
		settings:    newSettings(s.cfg.TimeZone),
		cache:       map[string]*parsedQuery{},
		portals:     map[*portal]struct{}{},
	}
	sess.settings.values["session_authorization"] = user.Name
	sess.settings.values["is_superuser"] = boolSetting(user.Role == catalog.RoleSystem)
	for name, value := range opts.Params {
		if strings.EqualFold(name, "options") {
			if err := sess.applyOptions(value); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err := sess.settings.set(name, value); err != nil {
			return nil, nil, pgerror.Wrapf(err, pgerror.GetCode(err), "invalid startup parameter %q", name).WithSeverity(pgerror.SeverityFatal)
		}
	}
	registerSession(sess)
	return sess, sess.settings.reported(), nil
}

func boolSetting(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
