package security

import (
	"bytes"
	"crypto/rand"
	"math"
	"slices"
	"time"

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

	// Rules are the connection rules in order, usually from ParseRules. When
	// there are none, the default rules apply: internal users are trusted on
	// local and loopback connections, and every other login runs
	// PasswordMethod, or jwt when the client sends the startup option
	// -c pgkeep.auth=jwt.
	Rules []Rule
	// TokenVerifier checks the tokens of the jwt method. When it is nil,
	// every jwt login fails like a wrong password.
	TokenVerifier TokenVerifier

	// MaxFailuresPerUser is the number of failed logins of one user name
	// within FailureWindow after which the name is locked out. Zero means
	// DefaultMaxFailuresPerUser, and a negative value turns the per-user
	// limit off.
	MaxFailuresPerUser int
	// MaxFailuresPerAddress is the same limit per client IP address. Zero
	// means DefaultMaxFailuresPerAddress, and a negative value turns it off.
	MaxFailuresPerAddress int
	// FailureWindow is the sliding window of the failure limits. Zero means
	// DefaultFailureWindow.
	FailureWindow time.Duration
	// LockoutBackoff is the length of the first lockout and MaxLockoutBackoff
	// the cap of the doubling ones. Zero means DefaultLockoutBackoff and
	// DefaultMaxLockoutBackoff.
	LockoutBackoff    time.Duration
	MaxLockoutBackoff time.Duration
	// MaxThrottleKeys bounds the user names and addresses tracked for the
	// limits. Zero means DefaultMaxThrottleKeys.
	MaxThrottleKeys int
	// ThrottleLocal applies the limits to local and loopback connections
	// too. By default they are exempt, so that a remote attacker cannot lock
	// an administrator out of the local machine.
	ThrottleLocal bool

	// VerifyCacheTTL is how long a successful cleartext password check is
	// reused for the same user and password. Zero means
	// DefaultVerifyCacheTTL, and a negative value turns the cache off.
	VerifyCacheTTL time.Duration
	// VerifyCacheSize bounds the number of cached checks. Zero means
	// DefaultVerifyCacheSize.
	VerifyCacheSize int

	// Now is the clock of the throttle and the verification cache. Nil
	// means time.Now.
	Now func() time.Time

	TestingKnobs AuthTestingKnobs
}

// AuthTestingKnobs contains hooks for tests. Production leaves it empty.
type AuthTestingKnobs struct {
	// OnSlowPasswordCheck, when set, is called before every bcrypt comparison
	// and every PBKDF2 derivation of a cleartext login, including the dummy
	// comparison of logins that cannot succeed.
	OnSlowPasswordCheck func()
}

// Authenticator runs logins with one validated Config. One Authenticator
// serves all connections concurrently. Its throttle and verification cache
// are its only mutable state, and they lock internally.
type Authenticator struct {
	cfg Config
	// dummyBcryptHash is a hash of a random password at the configured cost.
	// Cleartext logins that cannot succeed compare against it so that they take
	// as long as a real bcrypt check.
	dummyBcryptHash []byte

	// passwordRules and jwtRules are the default rules, used when cfg.Rules
	// is empty, for connections without and with the pgkeep.auth=jwt option.
	passwordRules, jwtRules []Rule

	throttle    *throttle
	verifyCache *verifyCache // nil when the cache is off
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

	if err := cfg.validateRules(); err != nil {
		return nil, err
	}
	cfg.Rules = cloneRules(cfg.Rules)
	if err := cfg.fillThrottleDefaults(); err != nil {
		return nil, err
	}
	if cfg.VerifyCacheTTL == 0 {
		cfg.VerifyCacheTTL = DefaultVerifyCacheTTL
	}
	if cfg.VerifyCacheSize == 0 {
		cfg.VerifyCacheSize = DefaultVerifyCacheSize
	}
	if cfg.VerifyCacheSize < 0 {
		return nil, pgerror.Newf(pgcode.InvalidParameterValue,
			"verification cache size %d is invalid: use a positive number, or 0 for %d", cfg.VerifyCacheSize, DefaultVerifyCacheSize)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	dummyPassword := make([]byte, 32)
	if _, err := rand.Read(dummyPassword); err != nil {
		return nil, pgerror.Wrapf(err, pgcode.InternalError, "generating dummy password")
	}
	dummyHash, err := bcrypt.GenerateFromPassword(dummyPassword, cfg.BcryptCost)
	if err != nil {
		return nil, pgerror.Wrapf(err, pgcode.InternalError, "hashing dummy password")
	}

	a := &Authenticator{
		cfg:             cfg,
		dummyBcryptHash: dummyHash,
		passwordRules:   defaultRules(cfg.PasswordMethod),
		jwtRules:        defaultRules(MethodJWT),
		throttle: newThrottle(throttleLimits{
			perUser:    max(cfg.MaxFailuresPerUser, 0),
			perAddress: max(cfg.MaxFailuresPerAddress, 0),
			window:     cfg.FailureWindow,
			backoff:    cfg.LockoutBackoff,
			maxBackoff: cfg.MaxLockoutBackoff,
			maxKeys:    cfg.MaxThrottleKeys,
		}),
	}
	if cfg.VerifyCacheTTL > 0 {
		if a.verifyCache, err = newVerifyCache(cfg.VerifyCacheTTL, cfg.VerifyCacheSize); err != nil {
			return nil, pgerror.Wrapf(err, pgcode.InternalError, "generating verification cache key")
		}
	}
	return a, nil
}

func (cfg *Config) validateRules() error {
	for i := range cfg.Rules {
		if err := cfg.Rules[i].validate(); err != nil {
			return err
		}
	}
	return nil
}

// fillThrottleDefaults replaces zero throttle settings with the defaults and
// checks the others.
func (cfg *Config) fillThrottleDefaults() error {
	defaultInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	defaultDuration := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	defaultInt(&cfg.MaxFailuresPerUser, DefaultMaxFailuresPerUser)
	defaultInt(&cfg.MaxFailuresPerAddress, DefaultMaxFailuresPerAddress)
	defaultInt(&cfg.MaxThrottleKeys, DefaultMaxThrottleKeys)
	defaultDuration(&cfg.FailureWindow, DefaultFailureWindow)
	defaultDuration(&cfg.LockoutBackoff, DefaultLockoutBackoff)
	defaultDuration(&cfg.MaxLockoutBackoff, DefaultMaxLockoutBackoff)

	switch {
	case cfg.FailureWindow < 0:
		return pgerror.Newf(pgcode.InvalidParameterValue, "failure window %s is invalid: it must be positive", cfg.FailureWindow)
	case cfg.LockoutBackoff < 0:
		return pgerror.Newf(pgcode.InvalidParameterValue, "lockout backoff %s is invalid: it must be positive", cfg.LockoutBackoff)
	case cfg.MaxLockoutBackoff < cfg.LockoutBackoff:
		return pgerror.Newf(pgcode.InvalidParameterValue,
			"maximum lockout backoff %s is shorter than the first backoff %s", cfg.MaxLockoutBackoff, cfg.LockoutBackoff)
	case cfg.MaxThrottleKeys < 0:
		return pgerror.Newf(pgcode.InvalidParameterValue, "maximum throttle keys %d is invalid: it must be positive", cfg.MaxThrottleKeys)
	}
	return nil
}

// cloneRules copies rules deeply, so that the caller's later changes do not
// reach the Authenticator.
func cloneRules(rules []Rule) []Rule {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		r.Databases = slices.Clone(r.Databases)
		r.Users = slices.Clone(r.Users)
		r.Roles = slices.Clone(r.Roles)
		out[i] = r
	}
	return out
}

// Config returns the configuration with defaults filled in.
func (a *Authenticator) Config() Config {
	cfg := a.cfg
	cfg.ServerSecret = bytes.Clone(cfg.ServerSecret)
	cfg.Rules = cloneRules(cfg.Rules)
	return cfg
}
