package security

import (
	"bytes"
	"crypto/rand"
	"math"

	"golang.org/x/crypto/bcrypt"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Values of Config.PasswordMethod, as pg_hba.conf spells them.
const (
	PasswordMethodSCRAMSHA256 = "scram-sha-256"
	PasswordMethodPassword    = "password"
)

const (
	// DefaultBcryptCost is the bcrypt cost HashPassword uses when
	// Config.BcryptCost is zero.
	DefaultBcryptCost = 12
	// DefaultSCRAMIterations is PostgreSQL's default scram_iterations (4096),
	// used when Config.SCRAMIterations is zero. It is also the minimum.
	DefaultSCRAMIterations = 4096
	// MinServerSecretLen is the minimum length of Config.ServerSecret in bytes.
	MinServerSecretLen = 16
)

// Config is the authentication part of the server configuration.
type Config struct {
	// PasswordMethod is the method for logins that need a password:
	// "scram-sha-256" (the default when empty) or "password", which requests
	// the cleartext password and verifies it with bcrypt or the SCRAM verifier.
	PasswordMethod string
	// BcryptCost is the bcrypt cost for new hashes. Zero means 12.
	BcryptCost int
	// SCRAMIterations is the PBKDF2 iteration count for new verifiers and for
	// the mock exchange of logins that cannot succeed. Zero means 4096, which
	// is also the minimum.
	SCRAMIterations int
	// ServerSecret keys the mock salts of unknown users. It must be at least
	// MinServerSecretLen random bytes and stay the same across restarts,
	// because a salt that changes reveals that the user does not exist. The
	// caller generates and persists it.
	ServerSecret []byte
	// AllowRemoteAccess lets internal users with a password log in from
	// remote addresses. Credentials.AllowRemote does the same per user.
	AllowRemoteAccess bool
}

// Authenticator runs logins with one validated Config. It holds no mutable
// state, so one Authenticator serves all connections concurrently.
type Authenticator struct {
	cfg Config
	// dummyBcryptHash is a hash of a random password at the configured cost.
	// Cleartext logins that cannot succeed compare against it so that they take
	// as long as a real bcrypt check.
	dummyBcryptHash []byte
}

// NewAuthenticator validates cfg, fills in defaults and returns an
// Authenticator. Errors carry SQLSTATE 22023 and name the invalid field.
func NewAuthenticator(cfg Config) (*Authenticator, error) {
	switch cfg.PasswordMethod {
	case "":
		cfg.PasswordMethod = PasswordMethodSCRAMSHA256
	case PasswordMethodSCRAMSHA256, PasswordMethodPassword:
	default:
		return nil, pgerror.Newf(pgcode.InvalidParameterValue,
			"invalid password method %q: use %q or %q",
			cfg.PasswordMethod, PasswordMethodSCRAMSHA256, PasswordMethodPassword)
	}

	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = DefaultBcryptCost
	}
	if cfg.BcryptCost < bcrypt.MinCost || cfg.BcryptCost > bcrypt.MaxCost {
		return nil, pgerror.Newf(pgcode.InvalidParameterValue,
			"bcrypt cost %d is out of range: use a value from %d to %d",
			cfg.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}

	if cfg.SCRAMIterations == 0 {
		cfg.SCRAMIterations = DefaultSCRAMIterations
	}
	if cfg.SCRAMIterations < DefaultSCRAMIterations || cfg.SCRAMIterations > math.MaxInt32 {
		return nil, pgerror.Newf(pgcode.InvalidParameterValue,
			"SCRAM iteration count %d is out of range: use a value from %d to %d",
			cfg.SCRAMIterations, DefaultSCRAMIterations, math.MaxInt32)
	}

	if len(cfg.ServerSecret) < MinServerSecretLen {
		return nil, pgerror.Newf(pgcode.InvalidParameterValue,
			"server secret is %d bytes long but must be at least %d: generate it once with crypto/rand and persist it",
			len(cfg.ServerSecret), MinServerSecretLen)
	}
	cfg.ServerSecret = bytes.Clone(cfg.ServerSecret)

	dummyPassword := make([]byte, 32)
	if _, err := rand.Read(dummyPassword); err != nil {
		return nil, pgerror.Wrapf(err, pgcode.InternalError, "generating dummy password")
	}
	dummyHash, err := bcrypt.GenerateFromPassword(dummyPassword, cfg.BcryptCost)
	if err != nil {
		return nil, pgerror.Wrapf(err, pgcode.InternalError, "hashing dummy password")
	}

	return &Authenticator{cfg: cfg, dummyBcryptHash: dummyHash}, nil
}

// Config returns the configuration with defaults filled in.
func (a *Authenticator) Config() Config {
	cfg := a.cfg
	cfg.ServerSecret = bytes.Clone(cfg.ServerSecret)
	return cfg
}
