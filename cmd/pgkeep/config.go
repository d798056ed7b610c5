package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	// Embeds the IANA time zone database so that timezone values load the
	// same way on hosts and images without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/pgkeep/pgkeep/security"
)

// Config is the whole server configuration. LoadConfig builds and validates it
// once, and each layer then receives only its own part.
type Config struct {
	// Listen is the TCP address, host:port. Port 0 picks a free port.
	Listen string
	// SocketDir is the directory of the unix socket file .s.PGSQL.<port>.
	// An empty SocketDir disables the unix socket.
	SocketDir string
	// DataDir is the directory of the pebble store and root.password.
	DataDir string
	// Database is the name of the database that clients connect to.
	Database string
	// TimeZone is the IANA name of the session time zone reported to clients.
	TimeZone string

	Log    LogConfig
	Auth   AuthConfig
	Limits LimitsConfig
	TLS    TLSConfig
	Audit  AuditConfig
}

// AuditConfig contains the settings of the audit log.
type AuditConfig struct {
	// Retention is how long audit log entries are kept.
	Retention time.Duration
}

// LogConfig selects the slog handler and its minimum level.
type LogConfig struct {
	Level  string // debug, info, warn or error
	Format string // text or json
}

// AuthConfig contains the settings of password authentication.
type AuthConfig struct {
	// PasswordMethod is the method offered to password users:
	// scram-sha-256 or password (cleartext checked against bcrypt).
	PasswordMethod string
	// BcryptCost is the bcrypt cost used when a password is set.
	BcryptCost int
	// SCRAMIterations is the PBKDF2 iteration count of new SCRAM verifiers.
	SCRAMIterations int
	// AllowRemoteAccess lets internal users log in from remote addresses
	// with a password.
	AllowRemoteAccess bool
	// RejectCommonPasswords rejects new passwords found on the built-in
	// list of common passwords.
	RejectCommonPasswords bool
	// RequirePasswordComplexity requires an uppercase and a lowercase
	// letter, a digit and a special character in new passwords.
	RequirePasswordComplexity bool
	// DeletedUserGracePeriod is how long a dropped user can be restored
	// before the purge removes it and its rows.
	DeletedUserGracePeriod time.Duration

	// Rules are the connection rules in pg_hba.conf syntax, one per entry,
	// checked with security.ParseRules. Empty means the built-in defaults.
	Rules []string
	// MaxFailuresPerUser and MaxFailuresPerAddress are the failed logins
	// within FailureWindow after which a user name or a client address is
	// locked out. Zero turns that limit off.
	MaxFailuresPerUser    int
	MaxFailuresPerAddress int
	FailureWindow         time.Duration
	// ThrottleLocal applies the limits to unix socket and loopback
	// connections too.
	ThrottleLocal bool

	JWT JWTAuthConfig
}

// LimitsConfig contains the per-server resource limits.
type LimitsConfig struct {
	// MaxConnections is the maximum number of open client connections.
	MaxConnections int
	// MaxMessageSize is the maximum size in bytes of one frontend message.
	MaxMessageSize int
}

// TLSConfig contains the server certificate and the TLS policy.
type TLSConfig struct {
	// CertFile is the PEM file of the server certificate, followed by any
	// intermediate certificates. TLS is enabled when it and KeyFile are set.
	CertFile string
	// KeyFile is the PEM file of the private key of CertFile.
	KeyFile string
	// RequireRemote rejects connections from remote addresses without TLS.
	RequireRemote bool
	// MinVersion is the oldest TLS version accepted: "1.2" or "1.3".
	MinVersion string
}

// tlsVersions maps the values of tls.min_version to crypto/tls constants.
var tlsVersions = map[string]uint16{
	"1.2": tls.VersionTLS12,
	"1.3": tls.VersionTLS13,
}

// Enabled reports whether a certificate is configured.
func (c TLSConfig) Enabled() bool {
	return c.CertFile != "" && c.KeyFile != ""
}

// ServerConfig loads the certificate and returns the server's TLS
// configuration, or nil when TLS is disabled. It reads the files again after
// Validate, so a file changed in between is reported here.
func (c TLSConfig) ServerConfig() (*tls.Config, error) {
	if !c.Enabled() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, keyPairError(c, err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tlsVersions[c.MinVersion],
	}, nil
}

// keyPairError names the key whose file failed to load: tls.key_file when
// the key file could not be read, tls.cert_file otherwise.
func keyPairError(c TLSConfig, err error) *configError {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && pathErr.Path == c.KeyFile {
		return keyError("tls.key_file", "reading the key file failed: %v", err)
	}
	return keyError("tls.cert_file", "loading the certificate %s with the key %s failed: %v",
		describeValue(c.CertFile), describeValue(c.KeyFile), err)
}

// Bounds checked by Validate.
const (
	minBcryptCost = 4  // bcrypt.MinCost in golang.org/x/crypto/bcrypt
	maxBcryptCost = 31 // bcrypt.MaxCost in golang.org/x/crypto/bcrypt

	// RFC 7677 says the iteration count SHOULD be at least 4096. Clients
	// repeat the iterations on every login, so the upper bound protects them.
	minSCRAMIterations = 4096
	maxSCRAMIterations = 10_000_000

	// NOTE: a sanity bound that catches typos, not a measured capacity.
	maxMaxConnections = 100_000

	minMaxMessageSize = 1 << 20 // 1 MiB
	maxMaxMessageSize = 1 << 30 // 1 GiB

	// PostgreSQL truncates identifiers to NAMEDATALEN-1 = 63 bytes.
	maxDatabaseNameLen = 63

	// sun_path in struct sockaddr_un holds 108 bytes on Linux, including
	// the terminating NUL.
	maxSocketPathLen = 107

	// NOTE: sanity bounds that catch typos, not tuned values.
	maxThrottleFailures      = 1_000_000
	maxThrottleWindowSeconds = 7 * 24 * 3600
)

// valueKind is the type a configuration key accepts.
type valueKind int

const (
	kindString valueKind = iota
	kindInt
	kindBool
	// kindVersion is a version string such as "1.3". Files may also give
	// it as a number, which YAML and TOML decode as a float.
	kindVersion
	// kindStringList is a list of strings. Its environment variable
	// separates the entries with semicolons.
	kindStringList
)

// configKey describes one key that a file, an environment variable or a flag
// can set.
type configKey struct {
	name  string // dotted, lower case, as viper stores it
	kind  valueKind
	value any // default
}

// configKeys lists every key in the order they are documented and validated.
var configKeys = []configKey{
	{"listen", kindString, "127.0.0.1:5432"},
	{"socket_dir", kindString, "/tmp"},
	{"data_dir", kindString, "./pgkeep-data"},
	{"database", kindString, "postgres"},
	{"timezone", kindString, "UTC"},
	{"log.level", kindString, "info"},
	{"log.format", kindString, "text"},
	{"auth.password_method", kindString, "scram-sha-256"},
	{"auth.bcrypt_cost", kindInt, 12},
	{"auth.scram_iterations", kindInt, 4096},
	{"auth.allow_remote_access", kindBool, false},
	{"auth.reject_common_passwords", kindBool, true},
	{"auth.require_password_complexity", kindBool, false},
	{"auth.deleted_user_grace_days", kindInt, 30},
	{"auth.rules", kindStringList, []string{}},
	{"auth.throttle.max_failures_per_user", kindInt, 5},
	{"auth.throttle.max_failures_per_address", kindInt, 20},
	{"auth.throttle.window_seconds", kindInt, 300},
	{"auth.throttle.local", kindBool, false},
	{"auth.jwt.secret", kindString, ""},
	{"auth.jwt.public_key_files", kindStringList, []string{}},
	{"auth.jwt.jwks_file", kindString, ""},
	{"auth.jwt.trusted_issuers", kindStringList, []string{}},
	{"auth.jwt.audience", kindString, ""},
	{"auth.jwt.leeway_seconds", kindInt, 60},
	{"auth.jwt.identity_claim", kindString, "sub"},
	{"auth.jwt.auto_provision", kindBool, false},
	{"auth.jwt.default_role", kindString, "user"},
	{"limits.max_connections", kindInt, 100},
	{"limits.max_message_size", kindInt, 64 << 20},
	{"audit.retention_days", kindInt, 90},
	{"tls.cert_file", kindString, ""},
	{"tls.key_file", kindString, ""},
	{"tls.require_remote", kindBool, false},
	{"tls.min_version", kindVersion, "1.2"},
}

// configSections are the keys that contain other keys.
var configSections = []string{"log", "auth", "auth.throttle", "auth.jwt", "limits", "tls", "audit"}

// configFlags maps each flag name to the key it sets.
var configFlags = []struct{ flag, key, usage string }{
	{"listen", "listen", "TCP address to listen on, host:port"},
	{"socket-dir", "socket_dir", `directory of the unix socket .s.PGSQL.<port>; "" disables the socket`},
	{"data-dir", "data_dir", "directory of the database files"},
	{"tls-cert", "tls.cert_file", "PEM file of the server certificate; enables TLS together with --tls-key"},
	{"tls-key", "tls.key_file", "PEM file of the private key of --tls-cert"},
}

const (
	configFlag   = "config"
	envPrefix    = "PGKEEP_"
	configEnvVar = "PGKEEP_CONFIG" // the environment form of --config
)

// envVarName returns the environment variable of a key, for example
// PGKEEP_AUTH_BCRYPT_COST for auth.bcrypt_cost.
func envVarName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func lookupConfigKey(name string) (configKey, bool) {
	for _, k := range configKeys {
		if k.name == name {
			return k, true
		}
	}
	return configKey{}, false
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() *Config {
	v := viper.New()
	setDefaults(v)
	return configFromViper(v)
}

// AddConfigFlags registers --config and the flags of configFlags on fs, so
// that a subcommand can add its own flags to the same set.
func AddConfigFlags(fs *pflag.FlagSet) {
	fs.String(configFlag, "", "configuration file, .yaml, .yml or .toml (environment: "+configEnvVar+")")
	for _, f := range configFlags {
		k, _ := lookupConfigKey(f.key)
		fs.String(f.flag, k.value.(string), f.usage+" (environment: "+envVarName(f.key)+")")
	}
}

// LoadConfig builds the configuration from args (the flags after the
// subcommand), env (entries of the form NAME=value, as os.Environ returns) and
// the file named by --config or PGKEEP_CONFIG. Flags win over environment
// variables, which win over the file, which wins over the defaults.
//
// With -h or --help it returns a *HelpError, which matches pflag.ErrHelp.
func LoadConfig(args []string, env []string) (*Config, error) {
	fs := pflag.NewFlagSet("pgkeep serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse problems come back as errors
	AddConfigFlags(fs)

	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		return nil, &HelpError{Usage: "Usage: pgkeep serve [flags]\n\nFlags:\n" + fs.FlagUsages()}
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("config: unexpected argument %q (settings are given as --flag value)", fs.Arg(0))
	}

	return LoadConfigFromFlags(fs, env)
}

// HelpError is returned by LoadConfig for -h and --help. Its message is the
// usage text, to print to standard output before exiting with status 0.
type HelpError struct {
	Usage string
}

func (e *HelpError) Error() string { return e.Usage }

// Unwrap lets errors.Is(err, pflag.ErrHelp) recognise a HelpError.
func (e *HelpError) Unwrap() error { return pflag.ErrHelp }

// LoadConfigFromFlags is LoadConfig for a flag set that the caller has
// already parsed. fs must contain the flags added by AddConfigFlags.
func LoadConfigFromFlags(fs *pflag.FlagSet, env []string) (*Config, error) {
	v := viper.New()
	sources := make(map[string]string) // key -> where its value came from

	envValues, envSources, configPath, envErrs := parseEnv(env)

	// The file is read before anything else is set, so that viper's keys are
	// exactly the file's keys while they are checked.
	if f := fs.Lookup(configFlag); f != nil && f.Changed {
		configPath = f.Value.String()
	}
	var fileErrs []error
	if configPath != "" {
		var err error
		fileErrs, err = readConfigFile(v, configPath, sources)
		if err != nil {
			return nil, err
		}
	}

	if errs := append(fileErrs, envErrs...); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	setDefaults(v)

	// Environment values join the file layer, above the file's own values.
	if err := v.MergeConfigMap(nestKeys(envValues)); err != nil {
		return nil, fmt.Errorf("config: merge environment: %w", err)
	}
	for key, name := range envSources {
		sources[key] = name
	}

	// viper ranks flags above its file layer, and only flags given on the
	// command line count.
	for _, f := range configFlags {
		flag := fs.Lookup(f.flag)
		if flag == nil {
			return nil, fmt.Errorf("config: flag --%s is not registered; call AddConfigFlags", f.flag)
		}
		if err := v.BindPFlag(f.key, flag); err != nil {
			return nil, fmt.Errorf("config: bind flag --%s: %w", f.flag, err)
		}
		if flag.Changed {
			sources[f.key] = "flag --" + f.flag
		}
	}

	cfg := configFromViper(v)
	if errs := cfg.validate(); len(errs) > 0 {
		joined := make([]error, 0, len(errs))
		for _, e := range errs {
			joined = append(joined, e.withSource(sources[e.key]))
		}
		return nil, errors.Join(joined...)
	}
	return cfg, nil
}

func setDefaults(v *viper.Viper) {
	for _, k := range configKeys {
		v.SetDefault(k.name, k.value)
	}
}

func configFromViper(v *viper.Viper) *Config {
	return &Config{
		Listen:    v.GetString("listen"),
		SocketDir: v.GetString("socket_dir"),
		DataDir:   v.GetString("data_dir"),
		Database:  v.GetString("database"),
		TimeZone:  v.GetString("timezone"),
		Log: LogConfig{
			Level:  strings.ToLower(v.GetString("log.level")),
			Format: strings.ToLower(v.GetString("log.format")),
		},
		Auth: AuthConfig{
			PasswordMethod:    strings.ToLower(v.GetString("auth.password_method")),
			BcryptCost:        v.GetInt("auth.bcrypt_cost"),
			SCRAMIterations:   v.GetInt("auth.scram_iterations"),
			AllowRemoteAccess: v.GetBool("auth.allow_remote_access"),

			RejectCommonPasswords:     v.GetBool("auth.reject_common_passwords"),
			RequirePasswordComplexity: v.GetBool("auth.require_password_complexity"),
			DeletedUserGracePeriod:    time.Duration(v.GetInt("auth.deleted_user_grace_days")) * 24 * time.Hour,

			Rules:                 nilIfEmpty(v.GetStringSlice("auth.rules")),
			MaxFailuresPerUser:    v.GetInt("auth.throttle.max_failures_per_user"),
			MaxFailuresPerAddress: v.GetInt("auth.throttle.max_failures_per_address"),
			FailureWindow:         time.Duration(v.GetInt("auth.throttle.window_seconds")) * time.Second,
			ThrottleLocal:         v.GetBool("auth.throttle.local"),
			JWT:                   jwtConfigFromViper(v),
		},
		Limits: LimitsConfig{
			MaxConnections: v.GetInt("limits.max_connections"),
			MaxMessageSize: v.GetInt("limits.max_message_size"),
		},
		Audit: AuditConfig{Retention: time.Duration(v.GetInt("audit.retention_days")) * 24 * time.Hour},
		TLS: TLSConfig{
			CertFile:      v.GetString("tls.cert_file"),
			KeyFile:       v.GetString("tls.key_file"),
			RequireRemote: v.GetBool("tls.require_remote"),
			MinVersion:    v.GetString("tls.min_version"),
		},
	}
}

// readConfigFile loads path into v and checks its keys and value types. It
// returns the problems found in the content separately from a failure to
// read or parse the file.
func readConfigFile(v *viper.Viper, path string, sources map[string]string) ([]error, error) {
	var format string
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		format = "yaml"
	case ".toml":
		format = "toml"
	default:
		return nil, fmt.Errorf("config: file %s: unsupported extension %q, use .yaml, .yml or .toml", path, ext)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: read file: %w", err)
	}
	v.SetConfigType(format)
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		// Drop viper's "While parsing config:" prefix because the returned
		// message already names the parse step.
		var parseErr viper.ConfigParseError
		if errors.As(err, &parseErr) && parseErr.Unwrap() != nil {
			err = parseErr.Unwrap()
		}
		return nil, fmt.Errorf("config: parse file %s as %s: %w", path, strings.ToUpper(format), err)
	}

	source := "file " + path
	var errs []error

	// Report keys that are neither a configKey nor a section. A key below a
	// configKey (listen.x) means a mapping where a value belongs, and the type
	// check below reports that.
	fileKeys := v.AllKeys()
	sort.Strings(fileKeys)
	for _, key := range fileKeys {
		if _, ok := lookupConfigKey(key); ok {
			continue
		}
		if isBelowConfigKey(key) {
			continue
		}
		if slices.Contains(configSections, key) {
			errs = append(errs, keyError(key, "must be a section of keys, got %s", describeValue(v.Get(key))).withSource(source))
			continue
		}
		errs = append(errs, unknownKeyError(fmt.Sprintf("unknown key %s in %s", describeValue(key), source), key, configKeyNames()))
	}

	// Report values of the wrong type. A key that is present with an empty
	// value (YAML "listen:") reads as nil but is still listed by AllKeys.
	for _, k := range configKeys {
		val := v.Get(k.name)
		if val == nil {
			if slices.Contains(fileKeys, k.name) {
				errs = append(errs, keyError(k.name, "missing value").withSource(source))
			}
			continue
		}
		sources[k.name] = source
		if msg := checkKind(k.kind, val); msg != "" {
			errs = append(errs, keyError(k.name, "%s", msg).withSource(source))
		}
	}
	return errs, nil
}

// isBelowConfigKey reports whether key is nested below a configKey.
func isBelowConfigKey(key string) bool {
	for _, k := range configKeys {
		if strings.HasPrefix(key, k.name+".") {
			return true
		}
	}
	return false
}

// checkKind returns why val does not fit kind, or "" when it does.
func checkKind(kind valueKind, val any) string {
	switch kind {
	case kindString:
		if _, ok := val.(string); !ok {
			return "must be a string, got " + describeValue(val)
		}
	case kindInt:
		if _, ok := toInt(val); !ok {
			return "must be an integer, got " + describeValue(val)
		}
	case kindBool:
		if _, ok := val.(bool); !ok {
			return "must be true or false, got " + describeValue(val)
		}
	case kindVersion:
		switch val.(type) {
		case string, float32, float64:
		default:
			return "must be a version such as \"1.3\", got " + describeValue(val)
		}
	case kindStringList:
		list, ok := val.([]any)
		if !ok {
			return "must be a list of strings, got " + describeValue(val)
		}
		for i, item := range list {
			if _, ok := item.(string); !ok {
				return fmt.Sprintf("must be a list of strings, but entry %d is %s", i+1, describeValue(item))
			}
		}
	}
	return ""
}

// toInt converts the integer types that the YAML and TOML decoders produce.
func toInt(val any) (int, bool) {
	switch n := val.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		if n < math.MinInt || n > math.MaxInt {
			return 0, false
		}
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint:
		if uint64(n) > math.MaxInt {
			return 0, false
		}
		return int(n), true
	case uint64:
		if n > math.MaxInt {
			return 0, false
		}
		return int(n), true
	}
	return 0, false
}

// describeValue renders a value for an error message: strings quoted,
// collections by their kind, everything cut to a readable length.
func describeValue(val any) string {
	var s string
	switch x := val.(type) {
	case nil:
		return "an empty value"
	case string:
		s = strconv.Quote(x)
	case map[string]any, map[any]any:
		return "a mapping"
	case []any:
		return "a list"
	case float32, float64:
		s = fmt.Sprintf("the floating-point number %v", x)
	default:
		s = fmt.Sprint(x)
	}
	const maxLen = 60
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	return s
}

// parseEnv picks the PGKEEP_ variables out of env and converts each value to
// the type of its key. It also returns PGKEEP_CONFIG, which names the file.
func parseEnv(env []string) (values map[string]any, sources map[string]string, configPath string, errs []error) {
	values = make(map[string]any)
	sources = make(map[string]string)

	byEnvName := make(map[string]configKey, len(configKeys))
	envNames := make([]string, 0, len(configKeys)+1)
	for _, k := range configKeys {
		byEnvName[envVarName(k.name)] = k
		envNames = append(envNames, envVarName(k.name))
	}
	envNames = append(envNames, configEnvVar)

	for _, entry := range env {
		name, raw, ok := strings.Cut(entry, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) {
			continue
		}
		if name == configEnvVar {
			configPath = raw
			continue
		}
		k, ok := byEnvName[name]
		if !ok {
			errs = append(errs, unknownKeyError("unknown environment variable "+name, name, envNames))
			continue
		}

		source := "environment variable " + name
		val, msg := parseEnvValue(k.kind, raw)
		if msg != "" {
			errs = append(errs, keyError(k.name, "%s", msg).withSource(source))
			continue
		}
		values[k.name] = val
		sources[k.name] = source
	}
	return values, sources, configPath, errs
}

func parseEnvValue(kind valueKind, raw string) (any, string) {
	switch kind {
	case kindInt:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return nil, "must be an integer, got " + describeValue(raw)
		}
		return n, ""
	case kindBool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return nil, "must be true or false, got " + describeValue(raw)
		}
		return b, ""
	case kindStringList:
		var list []string
		for _, entry := range strings.Split(raw, ";") {
			if entry = strings.TrimSpace(entry); entry != "" {
				list = append(list, entry)
			}
		}
		return list, ""
	}
	return raw, ""
}

// SecurityConfig returns the settings of the authenticator. It parses the
// connection rules, which Validate has already checked, and maps a limit of
// zero to the negative value with which security.Config turns it off.
func (a AuthConfig) SecurityConfig() (security.Config, error) {
	rules, err := security.ParseRules(a.Rules)
	if err != nil {
		return security.Config{}, fmt.Errorf("config: auth.rules: %w", err)
	}
	offIfZero := func(n int) int {
		if n == 0 {
			return -1
		}
		return n
	}
	return security.Config{
		PasswordMethod:        a.PasswordMethod,
		BcryptCost:            a.BcryptCost,
		SCRAMIterations:       a.SCRAMIterations,
		AllowRemoteAccess:     a.AllowRemoteAccess,
		Rules:                 rules,
		MaxFailuresPerUser:    offIfZero(a.MaxFailuresPerUser),
		MaxFailuresPerAddress: offIfZero(a.MaxFailuresPerAddress),
		FailureWindow:         a.FailureWindow,
		ThrottleLocal:         a.ThrottleLocal,
	}, nil
}

// nilIfEmpty returns nil for an empty list, so that a Config without rules
// has the zero value of the field.
func nilIfEmpty(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return list
}

// nestKeys turns {"auth.throttle.local": true} into
// {"auth": {"throttle": {"local": true}}}, the shape of a decoded file that
// viper merges.
func nestKeys(flat map[string]any) map[string]any {
	nested := make(map[string]any)
	for key, val := range flat {
		parts := strings.Split(key, ".")
		m := nested
		for _, section := range parts[:len(parts)-1] {
			child, _ := m[section].(map[string]any)
			if child == nil {
				child = make(map[string]any)
				m[section] = child
			}
			m = child
		}
		m[parts[len(parts)-1]] = val
	}
	return nested
}

func configKeyNames() []string {
	names := make([]string, 0, len(configKeys))
	for _, k := range configKeys {
		names = append(names, k.name)
	}
	return names
}

// SocketPath returns the path of the unix socket for the given TCP port, or
// "" when the socket is disabled. Pass the port actually bound, which
// differs from the configured one when Listen uses port 0.
func (c *Config) SocketPath(port int) string {
	if c.SocketDir == "" {
		return ""
	}
	return filepath.Join(c.SocketDir, ".s.PGSQL."+strconv.Itoa(port))
}

// Validate checks every value and returns all problems found, each naming its
// key. LoadConfig already calls it, so call it only on a Config built in code.
func (c *Config) Validate() error {
	errs := c.validate()
	if len(errs) == 0 {
		return nil
	}
	joined := make([]error, 0, len(errs))
	for _, e := range errs {
		joined = append(joined, e)
	}
	return errors.Join(joined...)
}

func (c *Config) validate() []*configError {
	var errs []*configError
	add := func(key, format string, args ...any) {
		errs = append(errs, keyError(key, format, args...))
	}

	if msg := checkListenAddress(c.Listen); msg != "" {
		add("listen", "%s", msg)
	}

	if c.SocketDir != "" {
		socketPath := c.SocketPath(65535)
		if len(socketPath) > maxSocketPathLen {
			add("socket_dir", "too long for a unix socket: the socket path %s has %d bytes, the limit is %d",
				describeValue(socketPath), len(socketPath), maxSocketPathLen)
		}
		if strings.ContainsRune(c.SocketDir, 0) {
			add("socket_dir", "must not contain a NUL byte")
		}
	}

	if c.DataDir == "" {
		add("data_dir", "must not be empty")
	} else if strings.ContainsRune(c.DataDir, 0) {
		add("data_dir", "must not contain a NUL byte")
	}

	switch {
	case c.Database == "":
		add("database", "must not be empty")
	case len(c.Database) > maxDatabaseNameLen:
		add("database", "must be at most %d bytes, got %d", maxDatabaseNameLen, len(c.Database))
	case strings.ContainsRune(c.Database, 0):
		add("database", "must not contain a NUL byte")
	}

	switch {
	case c.TimeZone == "":
		add("timezone", "must not be empty; use an IANA name such as UTC or Europe/Berlin")
	case c.TimeZone == "Local":
		add("timezone", "must name a zone, not Local; use an IANA name such as UTC or Europe/Berlin")
	default:
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			add("timezone", "unknown time zone %s; use an IANA name such as UTC or Europe/Berlin", describeValue(c.TimeZone))
		}
	}

	checkEnum := func(key, got string, allowed ...string) {
		if !slices.Contains(allowed, got) {
			add(key, "must be one of %s, got %s", strings.Join(allowed, ", "), describeValue(got))
		}
	}
	checkRange := func(key string, got, lo, hi int) {
		if got < lo || got > hi {
			add(key, "must be between %d and %d, got %d", lo, hi, got)
		}
	}

	checkEnum("log.level", c.Log.Level, "debug", "info", "warn", "error")
	checkEnum("log.format", c.Log.Format, "text", "json")
	checkEnum("auth.password_method", c.Auth.PasswordMethod, "scram-sha-256", "password")
	checkRange("auth.bcrypt_cost", c.Auth.BcryptCost, minBcryptCost, maxBcryptCost)
	checkRange("auth.scram_iterations", c.Auth.SCRAMIterations, minSCRAMIterations, maxSCRAMIterations)
	checkRange("auth.deleted_user_grace_days", int(c.Auth.DeletedUserGracePeriod/(24*time.Hour)), 0, 3650)
	if _, err := security.ParseRules(c.Auth.Rules); err != nil {
		add("auth.rules", "%s", err.Error())
	}
	checkRange("auth.throttle.max_failures_per_user", c.Auth.MaxFailuresPerUser, 0, maxThrottleFailures)
	checkRange("auth.throttle.max_failures_per_address", c.Auth.MaxFailuresPerAddress, 0, maxThrottleFailures)
	checkRange("auth.throttle.window_seconds", int(c.Auth.FailureWindow/time.Second), 1, maxThrottleWindowSeconds)
	checkRange("limits.max_connections", c.Limits.MaxConnections, 1, maxMaxConnections)
	checkRange("limits.max_message_size", c.Limits.MaxMessageSize, minMaxMessageSize, maxMaxMessageSize)
	checkRange("audit.retention_days", int(c.Audit.Retention/(24*time.Hour)), 1, 36500)

	errs = append(errs, c.Auth.JWT.validate()...)
	errs = append(errs, c.TLS.validate()...)
	return errs
}

// validate checks the TLS keys and loads the certificate, so that a missing
// or invalid file stops start-up.
func (c TLSConfig) validate() []*configError {
	var errs []*configError
	if _, ok := tlsVersions[c.MinVersion]; !ok {
		errs = append(errs, keyError("tls.min_version", "must be one of 1.2, 1.3, got %s", describeValue(c.MinVersion)))
	}
	switch {
	case c.CertFile != "" && c.KeyFile == "":
		errs = append(errs, keyError("tls.key_file", "must be set when tls.cert_file is set"))
	case c.CertFile == "" && c.KeyFile != "":
		errs = append(errs, keyError("tls.cert_file", "must be set when tls.key_file is set"))
	case c.Enabled():
		if _, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
			errs = append(errs, keyPairError(c, err))
		}
	}
	if c.RequireRemote && (c.CertFile == "" || c.KeyFile == "") {
		errs = append(errs, keyError("tls.require_remote", "requires tls.cert_file and tls.key_file"))
	}
	return errs
}

// checkListenAddress returns why addr is not a valid host:port, or "".
func checkListenAddress(addr string) string {
	host, port, err := splitHostPort(addr)
	if err != "" {
		return err
	}
	n, convErr := strconv.Atoi(port)
	if convErr != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("port must be a number from 0 to 65535, got %s", describeValue(port))
	}
	if host == "" {
		return "" // all interfaces
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	if !isHostname(host) {
		return fmt.Sprintf("invalid host %s; use an IP address or a host name", describeValue(host))
	}
	return ""
}

func splitHostPort(addr string) (host, port, msg string) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", fmt.Sprintf("must be host:port, for example 127.0.0.1:5432, got %s", describeValue(addr))
	}
	host, port = addr[:i], addr[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return "", "", fmt.Sprintf("IPv6 addresses must be in brackets, for example [::1]:5432, got %s", describeValue(addr))
	}
	return host, port, ""
}

// isHostname reports whether name is a DNS name of letters, digits and
// hyphens in labels of 1 to 63 bytes.
func isHostname(name string) bool {
	if len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-'
			if !ok {
				return false
			}
		}
	}
	return true
}

// configError is a problem with one key.
type configError struct {
	key    string
	msg    string
	source string // "" for defaults and values set in code
}

func keyError(key, format string, args ...any) *configError {
	return &configError{key: key, msg: fmt.Sprintf(format, args...)}
}

func (e *configError) withSource(source string) *configError {
	e.source = source
	return e
}

func (e *configError) Error() string {
	if e.source == "" {
		return fmt.Sprintf("config: %s: %s", e.key, e.msg)
	}
	return fmt.Sprintf("config: %s: %s (from %s)", e.key, e.msg, e.source)
}

// unknownKeyError adds the closest known name to msg when one is a likely typo.
func unknownKeyError(msg, name string, known []string) error {
	best, bestDist := "", 3 // suggest only names within two edits
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Errorf("config: %s (did you mean %q?)", msg, best)
	}
	return fmt.Errorf("config: %s", msg)
}

// editDistance returns the Levenshtein distance between a and b in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	curr := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		curr[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			curr[j] = min(prev[j]+1, curr[j-1]+1, prev[j-1]+cost)
		}
		prev, curr = curr, prev
	}
	return prev[len(b)]
}
