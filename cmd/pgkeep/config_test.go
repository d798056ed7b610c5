package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// writeConfigFile writes content to a file called name in a fresh temporary
// directory and returns its path.
func writeConfigFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoadConfig(t *testing.T, args, env []string) *Config {
	t.Helper()
	cfg, err := LoadConfig(args, env)
	if err != nil {
		t.Fatalf("LoadConfig(%q, %q): %v", args, env, err)
	}
	return cfg
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg := mustLoadConfig(t, nil, nil)

	want := Config{
		Listen:    "127.0.0.1:5432",
		SocketDir: "/tmp",
		DataDir:   "./pgkeep-data",
		Database:  "postgres",
		TimeZone:  "UTC",
		Log:       LogConfig{Level: "info", Format: "text"},
		Auth: AuthConfig{
			PasswordMethod:         "scram-sha-256",
			BcryptCost:             12,
			SCRAMIterations:        4096,
			AllowRemoteAccess:      false,
			RejectCommonPasswords:  true,
			DeletedUserGracePeriod: 30 * 24 * time.Hour,
			MaxFailuresPerUser:     5,
			MaxFailuresPerAddress:  20,
			FailureWindow:          5 * time.Minute,
			JWT:                    defaultJWTAuthConfig,
		},
		Limits: LimitsConfig{MaxConnections: 100, MaxMessageSize: 64 << 20},
		TLS:    TLSConfig{MinVersion: "1.2"},
		Audit:  AuditConfig{Retention: 90 * 24 * time.Hour},
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("LoadConfig(nil, nil) = %+v, want %+v", *cfg, want)
	}
	if got := DefaultConfig(); !reflect.DeepEqual(*got, want) {
		t.Errorf("DefaultConfig() = %+v, want %+v", *got, want)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
	}
}

// fullConfig is the Config that fullYAML and fullTOML describe.
var fullConfig = Config{
	Listen:    "0.0.0.0:6543",
	SocketDir: "/var/run/pgkeep",
	DataDir:   "/var/lib/pgkeep",
	Database:  "app",
	TimeZone:  "Europe/Berlin",
	Log:       LogConfig{Level: "debug", Format: "json"},
	Auth: AuthConfig{
		PasswordMethod:         "password",
		BcryptCost:             10,
		SCRAMIterations:        8192,
		AllowRemoteAccess:      true,
		RejectCommonPasswords:  true,
		DeletedUserGracePeriod: 30 * 24 * time.Hour,
		MaxFailuresPerUser:     5,
		MaxFailuresPerAddress:  20,
		FailureWindow:          5 * time.Minute,
		JWT:                    defaultJWTAuthConfig,
	},
	Limits: LimitsConfig{MaxConnections: 250, MaxMessageSize: 8 << 20},
	TLS:    TLSConfig{MinVersion: "1.2"},
	Audit:  AuditConfig{Retention: 90 * 24 * time.Hour},
}

const fullYAML = `
listen: 0.0.0.0:6543
socket_dir: /var/run/pgkeep
data_dir: /var/lib/pgkeep
database: app
timezone: Europe/Berlin
log:
  level: debug
  format: json
auth:
  password_method: password
  bcrypt_cost: 10
  scram_iterations: 8192
  allow_remote_access: true
limits:
  max_connections: 250
  max_message_size: 8388608
`

const fullTOML = `
listen = "0.0.0.0:6543"
socket_dir = "/var/run/pgkeep"
data_dir = "/var/lib/pgkeep"
database = "app"
timezone = "Europe/Berlin"

[log]
level = "debug"
format = "json"

[auth]
password_method = "password"
bcrypt_cost = 10
scram_iterations = 8192
allow_remote_access = true

[limits]
max_connections = 250
max_message_size = 8388608
`

func TestLoadConfigYAMLFile(t *testing.T) {
	for _, name := range []string{"pgkeep.yaml", "pgkeep.yml", "PGKEEP.YAML"} {
		path := writeConfigFile(t, name, fullYAML)
		cfg := mustLoadConfig(t, []string{"--config", path}, nil)
		if !reflect.DeepEqual(*cfg, fullConfig) {
			t.Errorf("%s: got %+v, want %+v", name, *cfg, fullConfig)
		}
	}
}

func TestLoadConfigTOMLFile(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.toml", fullTOML)
	cfg := mustLoadConfig(t, []string{"--config=" + path}, nil)
	if !reflect.DeepEqual(*cfg, fullConfig) {
		t.Errorf("got %+v, want %+v", *cfg, fullConfig)
	}
}

func TestLoadConfigPartialFileKeepsDefaults(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.yaml", "auth:\n  bcrypt_cost: 5\n")
	cfg := mustLoadConfig(t, []string{"--config", path}, nil)

	want := *DefaultConfig()
	want.Auth.BcryptCost = 5
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("got %+v, want %+v", *cfg, want)
	}
}

func TestLoadConfigFileKeysCaseInsensitive(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.yaml", "Listen: 127.0.0.1:7000\nAUTH:\n  Bcrypt_Cost: 6\n")
	cfg := mustLoadConfig(t, []string{"--config", path}, nil)
	if cfg.Listen != "127.0.0.1:7000" {
		t.Errorf("Listen = %q, want 127.0.0.1:7000", cfg.Listen)
	}
	if cfg.Auth.BcryptCost != 6 {
		t.Errorf("Auth.BcryptCost = %d, want 6", cfg.Auth.BcryptCost)
	}
}

func TestLoadConfigEnvOverridesFile(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.yaml", fullYAML)
	env := []string{
		"HOME=/root", // unrelated variables are ignored
		"PGKEEP_LISTEN=127.0.0.1:7777",
		"PGKEEP_SOCKET_DIR=/run/other",
		"PGKEEP_DATA_DIR=/data",
		"PGKEEP_DATABASE=envdb",
		"PGKEEP_TIMEZONE=America/New_York",
		"PGKEEP_LOG_LEVEL=warn",
		"PGKEEP_LOG_FORMAT=text",
		"PGKEEP_AUTH_PASSWORD_METHOD=scram-sha-256",
		"PGKEEP_AUTH_BCRYPT_COST=14",
		"PGKEEP_AUTH_SCRAM_ITERATIONS=10000",
		"PGKEEP_AUTH_ALLOW_REMOTE_ACCESS=false",
		"PGKEEP_LIMITS_MAX_CONNECTIONS=7",
		"PGKEEP_LIMITS_MAX_MESSAGE_SIZE=2097152",
	}
	cfg := mustLoadConfig(t, []string{"--config", path}, env)

	want := Config{
		Listen:    "127.0.0.1:7777",
		SocketDir: "/run/other",
		DataDir:   "/data",
		Database:  "envdb",
		TimeZone:  "America/New_York",
		Log:       LogConfig{Level: "warn", Format: "text"},
		Auth: AuthConfig{
			PasswordMethod:         "scram-sha-256",
			BcryptCost:             14,
			SCRAMIterations:        10000,
			AllowRemoteAccess:      false,
			RejectCommonPasswords:  true,
			DeletedUserGracePeriod: 30 * 24 * time.Hour,
			MaxFailuresPerUser:     5,
			MaxFailuresPerAddress:  20,
			FailureWindow:          5 * time.Minute,
			JWT:                    defaultJWTAuthConfig,
		},
		Limits: LimitsConfig{MaxConnections: 7, MaxMessageSize: 2 << 20},
		TLS:    TLSConfig{MinVersion: "1.2"},
		Audit:  AuditConfig{Retention: 90 * 24 * time.Hour},
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("got %+v, want %+v", *cfg, want)
	}
}

func TestLoadConfigEnvKeepsOtherFileKeys(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.yaml", "auth:\n  bcrypt_cost: 10\n  scram_iterations: 5000\n")
	cfg := mustLoadConfig(t, []string{"--config", path}, []string{"PGKEEP_AUTH_BCRYPT_COST=11"})
	if cfg.Auth.BcryptCost != 11 {
		t.Errorf("Auth.BcryptCost = %d, want 11 from the environment", cfg.Auth.BcryptCost)
	}
	if cfg.Auth.SCRAMIterations != 5000 {
		t.Errorf("Auth.SCRAMIterations = %d, want 5000 from the file", cfg.Auth.SCRAMIterations)
	}
}

func TestLoadConfigConfigFileFromEnv(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.toml", fullTOML)
	cfg := mustLoadConfig(t, nil, []string{"PGKEEP_CONFIG=" + path})
	if !reflect.DeepEqual(*cfg, fullConfig) {
		t.Errorf("got %+v, want %+v", *cfg, fullConfig)
	}

	// --config wins over PGKEEP_CONFIG.
	other := writeConfigFile(t, "other.yaml", "database: fromflag\n")
	cfg = mustLoadConfig(t, []string{"--config", other}, []string{"PGKEEP_CONFIG=" + path})
	if cfg.Database != "fromflag" {
		t.Errorf("Database = %q, want fromflag", cfg.Database)
	}
	if cfg.Listen != "127.0.0.1:5432" {
		t.Errorf("Listen = %q, want the default because the PGKEEP_CONFIG file is not read", cfg.Listen)
	}
}

func TestLoadConfigFlagOverridesEnv(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.yaml", fullYAML)
	env := []string{
		"PGKEEP_LISTEN=127.0.0.1:7777",
		"PGKEEP_DATA_DIR=/data",
		"PGKEEP_SOCKET_DIR=/run/other",
	}
	args := []string{
		"--config", path,
		"--listen", "127.0.0.1:8888",
		"--data-dir", "/flag-data",
		"--socket-dir", "/flag-socket",
	}
	cfg := mustLoadConfig(t, args, env)

	if cfg.Listen != "127.0.0.1:8888" {
		t.Errorf("Listen = %q, want 127.0.0.1:8888", cfg.Listen)
	}
	if cfg.DataDir != "/flag-data" {
		t.Errorf("DataDir = %q, want /flag-data", cfg.DataDir)
	}
	if cfg.SocketDir != "/flag-socket" {
		t.Errorf("SocketDir = %q, want /flag-socket", cfg.SocketDir)
	}
	if cfg.Database != "app" {
		t.Errorf("Database = %q, want app from the file", cfg.Database)
	}
}

func TestLoadConfigEmptySocketDirDisablesSocket(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  []string
	}{
		{"flag", []string{"--socket-dir", ""}, nil},
		{"flag with equals", []string{"--socket-dir="}, []string{"PGKEEP_SOCKET_DIR=/run/x"}},
		{"env", nil, []string{"PGKEEP_SOCKET_DIR="}},
		{"file", []string{"--config", writeConfigFile(t, "c.yaml", "socket_dir: \"\"\n")}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustLoadConfig(t, tc.args, tc.env)
			if cfg.SocketDir != "" {
				t.Errorf("SocketDir = %q, want empty", cfg.SocketDir)
			}
			if got := cfg.SocketPath(5432); got != "" {
				t.Errorf("SocketPath(5432) = %q, want empty", got)
			}
		})
	}
}

func TestConfigSocketPath(t *testing.T) {
	cfg := DefaultConfig()
	if got := cfg.SocketPath(5432); got != "/tmp/.s.PGSQL.5432" {
		t.Errorf("SocketPath(5432) = %q, want /tmp/.s.PGSQL.5432", got)
	}
}

func TestLoadConfigListenForms(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", ":5432", "[::1]:5432", "localhost:5432", "db-1.example.internal:65535"} {
		cfg, err := LoadConfig([]string{"--listen", addr}, nil)
		if err != nil {
			t.Errorf("--listen %s: %v", addr, err)
			continue
		}
		if cfg.Listen != addr {
			t.Errorf("--listen %s: Listen = %q", addr, cfg.Listen)
		}
	}
}

func TestLoadConfigEnumsCaseInsensitive(t *testing.T) {
	env := []string{"PGKEEP_LOG_LEVEL=DEBUG", "PGKEEP_LOG_FORMAT=Json", "PGKEEP_AUTH_PASSWORD_METHOD=SCRAM-SHA-256"}
	cfg := mustLoadConfig(t, nil, env)
	if cfg.Log.Level != "debug" {
		t.Errorf("Log.Level = %q, want debug", cfg.Log.Level)
	}
	if cfg.Log.Format != "json" {
		t.Errorf("Log.Format = %q, want json", cfg.Log.Format)
	}
	if cfg.Auth.PasswordMethod != "scram-sha-256" {
		t.Errorf("Auth.PasswordMethod = %q, want scram-sha-256", cfg.Auth.PasswordMethod)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  []string
		yaml string // written to a .yaml file and passed with --config when set
		want []string
	}{
		// Unknown keys.
		{
			name: "unknown file key",
			yaml: "auth:\n  bcrypt_cots: 12\n",
			want: []string{`config: unknown key "auth.bcrypt_cots"`, `did you mean "auth.bcrypt_cost"?`},
		},
		{
			name: "unknown top-level key",
			yaml: "verbose: true\n",
			want: []string{`config: unknown key "verbose"`},
		},
		{
			name: "unknown section",
			yaml: "tls:\n  cert: x.pem\n",
			want: []string{`config: unknown key "tls.cert"`},
		},
		{
			name: "unknown env var",
			env:  []string{"PGKEEP_AUTH_BCRYPT_COTS=12"},
			want: []string{"config: unknown environment variable PGKEEP_AUTH_BCRYPT_COTS", "did you mean \"PGKEEP_AUTH_BCRYPT_COST\"?"},
		},
		{
			name: "env var for a section",
			env:  []string{"PGKEEP_AUTH=x"},
			want: []string{"config: unknown environment variable PGKEEP_AUTH"},
		},

		// Wrong types in a file.
		{
			name: "string for an integer",
			yaml: "auth:\n  bcrypt_cost: \"abc\"\n",
			want: []string{`config: auth.bcrypt_cost: must be an integer, got "abc"`, "(from file "},
		},
		{
			name: "quoted number for an integer",
			yaml: "limits:\n  max_connections: \"10\"\n",
			want: []string{`config: limits.max_connections: must be an integer, got "10"`},
		},
		{
			name: "float for an integer",
			yaml: "limits:\n  max_connections: 10.5\n",
			want: []string{"config: limits.max_connections: must be an integer, got the floating-point number 10.5"},
		},
		{
			name: "list for a string",
			yaml: "listen: [a, b]\n",
			want: []string{"config: listen: must be a string, got a list"},
		},
		{
			name: "mapping for a string",
			yaml: "database:\n  name: x\n",
			want: []string{"config: database: must be a string, got a mapping"},
		},
		{
			name: "number for a string",
			yaml: "database: 5\n",
			want: []string{"config: database: must be a string, got 5"},
		},
		{
			name: "string for a bool",
			yaml: "auth:\n  allow_remote_access: yes\n",
			want: []string{`config: auth.allow_remote_access: must be true or false, got "yes"`},
		},
		{
			name: "scalar for a section",
			yaml: "log: debug\n",
			want: []string{`config: log: must be a section of keys, got "debug"`},
		},
		{
			name: "empty value",
			yaml: "listen:\n",
			want: []string{"config: listen: missing value"},
		},

		// Wrong types in the environment.
		{
			name: "env string for an integer",
			env:  []string{"PGKEEP_AUTH_BCRYPT_COST=abc"},
			want: []string{`config: auth.bcrypt_cost: must be an integer, got "abc" (from environment variable PGKEEP_AUTH_BCRYPT_COST)`},
		},
		{
			name: "env string for a bool",
			env:  []string{"PGKEEP_AUTH_ALLOW_REMOTE_ACCESS=maybe"},
			want: []string{`config: auth.allow_remote_access: must be true or false, got "maybe"`},
		},

		// Bad values.
		{
			name: "bcrypt cost too high",
			yaml: "auth:\n  bcrypt_cost: 40\n",
			want: []string{"config: auth.bcrypt_cost: must be between 4 and 31, got 40"},
		},
		{
			name: "bcrypt cost too low from env",
			env:  []string{"PGKEEP_AUTH_BCRYPT_COST=3"},
			want: []string{"config: auth.bcrypt_cost: must be between 4 and 31, got 3 (from environment variable PGKEEP_AUTH_BCRYPT_COST)"},
		},
		{
			name: "scram iterations too low",
			yaml: "auth:\n  scram_iterations: 1000\n",
			want: []string{"config: auth.scram_iterations: must be between 4096 and 10000000, got 1000"},
		},
		{
			name: "zero max connections",
			yaml: "limits:\n  max_connections: 0\n",
			want: []string{"config: limits.max_connections: must be between 1 and 100000, got 0"},
		},
		{
			name: "max message size too small",
			env:  []string{"PGKEEP_LIMITS_MAX_MESSAGE_SIZE=1024"},
			want: []string{"config: limits.max_message_size: must be between 1048576 and 1073741824, got 1024"},
		},
		{
			name: "integer beyond int64",
			yaml: "limits:\n  max_message_size: 99999999999999999999\n",
			want: []string{"config: limits.max_message_size: must be an integer, got "},
		},
		{
			name: "unknown log level",
			yaml: "log:\n  level: verbose\n",
			want: []string{`config: log.level: must be one of debug, info, warn, error, got "verbose"`},
		},
		{
			name: "unknown log format",
			env:  []string{"PGKEEP_LOG_FORMAT=xml"},
			want: []string{`config: log.format: must be one of text, json, got "xml"`},
		},
		{
			name: "unknown password method",
			yaml: "auth:\n  password_method: md5\n",
			want: []string{`config: auth.password_method: must be one of scram-sha-256, password, got "md5"`},
		},
		{
			name: "unknown time zone",
			yaml: "timezone: Mars/Olympus_Mons\n",
			want: []string{`config: timezone: unknown time zone "Mars/Olympus_Mons"`},
		},
		{
			name: "Local time zone",
			env:  []string{"PGKEEP_TIMEZONE=Local"},
			want: []string{"config: timezone: must name a zone, not Local"},
		},
		{
			name: "listen without port",
			args: []string{"--listen", "127.0.0.1"},
			want: []string{`config: listen: must be host:port, for example 127.0.0.1:5432, got "127.0.0.1" (from flag --listen)`},
		},
		{
			name: "listen port out of range",
			args: []string{"--listen", "127.0.0.1:70000"},
			want: []string{`config: listen: port must be a number from 0 to 65535, got "70000"`},
		},
		{
			name: "listen named port",
			args: []string{"--listen", "127.0.0.1:postgresql"},
			want: []string{`config: listen: port must be a number from 0 to 65535, got "postgresql"`},
		},
		{
			name: "listen bad host",
			args: []string{"--listen", "bad host:5432"},
			want: []string{`config: listen: invalid host "bad host"`},
		},
		{
			name: "listen IPv6 without brackets",
			args: []string{"--listen", "::1:5432"},
			want: []string{"config: listen: IPv6 addresses must be in brackets"},
		},
		{
			name: "socket dir too long",
			args: []string{"--socket-dir", "/" + strings.Repeat("d", 120)},
			want: []string{"config: socket_dir: too long for a unix socket", "the limit is 107"},
		},
		{
			name: "empty data dir",
			env:  []string{"PGKEEP_DATA_DIR="},
			want: []string{"config: data_dir: must not be empty (from environment variable PGKEEP_DATA_DIR)"},
		},
		{
			name: "empty database",
			yaml: "database: \"\"\n",
			want: []string{"config: database: must not be empty"},
		},
		{
			name: "database name too long",
			yaml: "database: " + strings.Repeat("x", 64) + "\n",
			want: []string{"config: database: must be at most 63 bytes, got 64"},
		},

		// Command line and file problems.
		{
			name: "unknown flag",
			args: []string{"--lisen", "x"},
			want: []string{"config: unknown flag: --lisen"},
		},
		{
			name: "positional argument",
			args: []string{"extra"},
			want: []string{`config: unexpected argument "extra"`},
		},
		{
			name: "missing config file",
			args: []string{"--config", "/nonexistent/pgkeep.yaml"},
			want: []string{"config: read file:", "/nonexistent/pgkeep.yaml"},
		},
		{
			name: "unsupported extension",
			args: []string{"--config", "/etc/pgkeep.json"},
			want: []string{`config: file /etc/pgkeep.json: unsupported extension ".json"`},
		},
		{
			name: "malformed YAML",
			yaml: "listen: [unclosed\n",
			want: []string{"config: parse file ", " as YAML: yaml: line 1:"},
		},
		{
			name: "YAML list at top level",
			yaml: "- listen\n",
			want: []string{"config: parse file ", " as YAML: yaml: unmarshal errors:"},
		},
		{
			name: "duplicate YAML key",
			yaml: "listen: a:1\nlisten: b:2\n",
			want: []string{"config: parse file ", "already defined"},
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.yaml != "" {
				args = append([]string{"--config", writeConfigFile(t, "pgkeep.yaml", tc.yaml)}, args...)
			}
			cfg, err := LoadConfig(args, tc.env)
			if err == nil {
				t.Fatalf("LoadConfig returned %+v, want an error containing %q", cfg, tc.want)
			}
			if cfg != nil {
				t.Errorf("LoadConfig returned a config together with the error %v", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadConfigTOMLWrongType(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.toml", "[auth]\nbcrypt_cost = \"abc\"\n")
	_, err := LoadConfig([]string{"--config", path}, nil)
	if err == nil {
		t.Fatal("LoadConfig succeeded, want an error")
	}
	want := `config: auth.bcrypt_cost: must be an integer, got "abc" (from file ` + path + `)`
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestLoadConfigReportsAllErrors(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.yaml", "auth:\n  bcrypt_cost: 40\nlimits:\n  max_connections: -1\n")
	_, err := LoadConfig([]string{"--config", path}, nil)
	if err == nil {
		t.Fatal("LoadConfig succeeded, want an error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d error lines, want 2: %q", len(lines), err)
	}
	if !strings.HasPrefix(lines[0], "config: auth.bcrypt_cost: must be between 4 and 31, got 40") {
		t.Errorf("first line = %q, want the auth.bcrypt_cost error", lines[0])
	}
	if !strings.HasPrefix(lines[1], "config: limits.max_connections: must be between 1 and 100000, got -1") {
		t.Errorf("second line = %q, want the limits.max_connections error", lines[1])
	}
}

func TestLoadConfigValidatesEffectiveValue(t *testing.T) {
	// A bad file value that the environment replaces does not stop start-up.
	path := writeConfigFile(t, "pgkeep.yaml", "auth:\n  bcrypt_cost: 40\n")
	cfg := mustLoadConfig(t, []string{"--config", path}, []string{"PGKEEP_AUTH_BCRYPT_COST=8"})
	if cfg.Auth.BcryptCost != 8 {
		t.Errorf("Auth.BcryptCost = %d, want 8", cfg.Auth.BcryptCost)
	}
}

func TestLoadConfigHelp(t *testing.T) {
	_, err := LoadConfig([]string{"--help"}, nil)
	if !errors.Is(err, pflag.ErrHelp) {
		t.Fatalf("LoadConfig(--help) error = %v, want pflag.ErrHelp", err)
	}
	if !strings.HasPrefix(err.Error(), "Usage: pgkeep serve [flags]") {
		t.Errorf("help text starts with %q, want the usage line", strings.SplitN(err.Error(), "\n", 2)[0])
	}
	for _, flag := range []string{"--config", "--listen", "--socket-dir", "--data-dir", "PGKEEP_DATA_DIR"} {
		if !strings.Contains(err.Error(), flag) {
			t.Errorf("help text does not mention %s:\n%s", flag, err)
		}
	}
}

func TestLoadConfigFromFlagsSharedFlagSet(t *testing.T) {
	fs := pflag.NewFlagSet("token", pflag.ContinueOnError)
	AddConfigFlags(fs)
	user := fs.String("user", "", "user name")
	if err := fs.Parse([]string{"--user", "alice", "--data-dir", "/d"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfigFromFlags(fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/d" {
		t.Errorf("DataDir = %q, want /d", cfg.DataDir)
	}
	if *user != "alice" {
		t.Errorf("--user = %q, want alice", *user)
	}
}

func TestConfigValidateNamesKey(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Auth.BcryptCost = 40
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate succeeded, want an error")
	}
	if want := "config: auth.bcrypt_cost: must be between 4 and 31, got 40"; err.Error() != want {
		t.Errorf("Validate() = %q, want %q", err, want)
	}
}

func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"bcrypt_cots", "bcrypt_cost", 2},
		{"listen", "lisen", 1},
		{"kitten", "sitting", 3},
	}
	for _, tc := range cases {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestNewLoggerJSONLevel(t *testing.T) {
	var buf bytes.Buffer
	logger := NewLogger(LogConfig{Level: "warn", Format: "json"}, &buf)
	logger.Info("dropped")
	logger.Warn("kept", "conn_id", 7)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1: %q", len(lines), buf.String())
	}
	var record map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &record); err != nil {
		t.Fatalf("log line is not JSON: %v: %q", err, lines[0])
	}
	if record["msg"] != "kept" {
		t.Errorf("msg = %v, want kept", record["msg"])
	}
	if record["level"] != "WARN" {
		t.Errorf("level = %v, want WARN", record["level"])
	}
	if record["conn_id"] != float64(7) {
		t.Errorf("conn_id = %v, want 7", record["conn_id"])
	}
}

func TestNewLoggerTextDebug(t *testing.T) {
	var buf bytes.Buffer
	logger := NewLogger(LogConfig{Level: "debug", Format: "text"}, &buf)
	logger.Debug("starting", "listen", "127.0.0.1:5432")

	out := buf.String()
	if !strings.Contains(out, "level=DEBUG") {
		t.Errorf("output %q lacks level=DEBUG", out)
	}
	if !strings.Contains(out, "listen=127.0.0.1:5432") {
		t.Errorf("output %q lacks the listen attribute", out)
	}
	if strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("output %q is JSON, want text", out)
	}
}

func TestNewLoggerDefaultLevelInfo(t *testing.T) {
	var buf bytes.Buffer
	logger := NewLogger(DefaultConfig().Log, &buf)
	logger.Debug("dropped")
	if buf.Len() != 0 {
		t.Errorf("debug record written at the default level: %q", buf.String())
	}
	logger.Error("kept")
	if !strings.Contains(buf.String(), "level=ERROR") {
		t.Errorf("output %q lacks the error record", buf.String())
	}
}

func FuzzLoadConfig(f *testing.F) {
	f.Add(fullYAML)
	f.Add("")
	f.Add("listen:\n")
	f.Add("auth:\n  bcrypt_cost: \"abc\"\n")
	f.Add("auth: [1, 2]\n")
	f.Add("log: {level: {x: 1}}\n")
	f.Add("limits:\n  max_message_size: 99999999999999999999\n")
	f.Add("a: &a [*a]\n")
	f.Add("? [a, b]\n: c\n")
	f.Add("1: 2\n")
	f.Add("\"auth.bcrypt_cost\": 8\n")
	f.Add("timezone: ../../etc/passwd\n")
	f.Add("listen: \"[::1%eth0]:5432\"\n")

	f.Fuzz(func(t *testing.T, content string) {
		path := writeConfigFile(t, "fuzz.yaml", content)
		cfg, err := LoadConfig([]string{"--config", path}, nil)
		if err != nil {
			if cfg != nil {
				t.Fatalf("LoadConfig returned a config together with the error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "config: ") {
				t.Fatalf("error %q lacks the config: prefix", err)
			}
			return
		}
		if verr := cfg.Validate(); verr != nil {
			t.Fatalf("LoadConfig accepted a config that Validate rejects: %v", verr)
		}
	})
}
