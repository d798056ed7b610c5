package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pgkeep/pgkeep/security"
)

func TestLoadConfigAuthRulesYAML(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.yaml", `
auth:
  rules:
    - "local all all trust"
    - "host all +dba 10.0.0.0/8 scram-sha-256"
  throttle:
    max_failures_per_user: 3
    max_failures_per_address: 0
    window_seconds: 60
    local: true
`)
	cfg := mustLoadConfig(t, []string{"--config", path}, nil)

	wantRules := []string{"local all all trust", "host all +dba 10.0.0.0/8 scram-sha-256"}
	if !reflect.DeepEqual(cfg.Auth.Rules, wantRules) {
		t.Errorf("Rules = %q, want %q", cfg.Auth.Rules, wantRules)
	}
	if cfg.Auth.MaxFailuresPerUser != 3 || cfg.Auth.MaxFailuresPerAddress != 0 {
		t.Errorf("limits = %d per user, %d per address; want 3 and 0", cfg.Auth.MaxFailuresPerUser, cfg.Auth.MaxFailuresPerAddress)
	}
	if cfg.Auth.FailureWindow != time.Minute {
		t.Errorf("FailureWindow = %s, want 1m", cfg.Auth.FailureWindow)
	}
	if !cfg.Auth.ThrottleLocal {
		t.Error("ThrottleLocal = false, want true")
	}

	sec, err := cfg.Auth.SecurityConfig()
	if err != nil {
		t.Fatalf("SecurityConfig: %v", err)
	}
	if len(sec.Rules) != 2 || sec.Rules[1].Method != security.MethodSCRAMSHA256 || sec.Rules[1].Roles[0] != security.RoleDBA {
		t.Errorf("parsed rules = %+v", sec.Rules)
	}
	if sec.MaxFailuresPerUser != 3 {
		t.Errorf("security MaxFailuresPerUser = %d, want 3", sec.MaxFailuresPerUser)
	}
	if sec.MaxFailuresPerAddress >= 0 {
		t.Errorf("security MaxFailuresPerAddress = %d, want a negative value (off) for 0", sec.MaxFailuresPerAddress)
	}
	if !sec.ThrottleLocal || sec.FailureWindow != time.Minute {
		t.Errorf("ThrottleLocal %v, FailureWindow %s; want true and 1m", sec.ThrottleLocal, sec.FailureWindow)
	}
}

func TestLoadConfigAuthRulesTOML(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.toml", `
[auth]
rules = ["hostssl all all all scram-sha-256", "host all all all reject"]

[auth.throttle]
max_failures_per_user = 7
`)
	cfg := mustLoadConfig(t, []string{"--config", path}, nil)
	if len(cfg.Auth.Rules) != 2 || cfg.Auth.Rules[1] != "host all all all reject" {
		t.Errorf("Rules = %q", cfg.Auth.Rules)
	}
	if cfg.Auth.MaxFailuresPerUser != 7 || cfg.Auth.MaxFailuresPerAddress != 20 {
		t.Errorf("limits = %d, %d; want 7 and the default 20", cfg.Auth.MaxFailuresPerUser, cfg.Auth.MaxFailuresPerAddress)
	}
}

func TestLoadConfigAuthRulesEnv(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.yaml", "auth:\n  rules: [\"local all all trust\"]\n  throttle:\n    window_seconds: 60\n")
	env := []string{
		"PGKEEP_AUTH_RULES=local all all trust; host all all loopback password ;",
		"PGKEEP_AUTH_THROTTLE_LOCAL=true",
		"PGKEEP_AUTH_THROTTLE_MAX_FAILURES_PER_ADDRESS=50",
	}
	cfg := mustLoadConfig(t, []string{"--config", path}, env)

	wantRules := []string{"local all all trust", "host all all loopback password"}
	if !reflect.DeepEqual(cfg.Auth.Rules, wantRules) {
		t.Errorf("Rules = %q, want %q", cfg.Auth.Rules, wantRules)
	}
	if !cfg.Auth.ThrottleLocal || cfg.Auth.MaxFailuresPerAddress != 50 {
		t.Errorf("ThrottleLocal %v, MaxFailuresPerAddress %d; want true and 50", cfg.Auth.ThrottleLocal, cfg.Auth.MaxFailuresPerAddress)
	}
	// The environment replaces keys, not the whole section.
	if cfg.Auth.FailureWindow != time.Minute {
		t.Errorf("FailureWindow = %s, want the file's 1m", cfg.Auth.FailureWindow)
	}
}

func TestLoadConfigAuthErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{
			name: "invalid rule names its number",
			yaml: "auth:\n  rules:\n    - local all all trust\n    - host all all 10.0.0.0/33 trust\n",
			want: `config: auth.rules: rule 2: invalid address "10.0.0.0/33": use a CIDR prefix such as 10.0.0.0/8 or ::1/128, all or loopback (from file `,
		},
		{
			name: "invalid rule from the environment",
			env:  []string{"PGKEEP_AUTH_RULES=local all all trust;local all all md5"},
			want: `config: auth.rules: rule 2: invalid method "md5": use trust, scram-sha-256, password, jwt or reject (from environment variable PGKEEP_AUTH_RULES)`,
		},
		{
			name: "rules as a string",
			yaml: "auth:\n  rules: local all all trust\n",
			want: `config: auth.rules: must be a list of strings, got "local all all trust"`,
		},
		{
			name: "rule that is not a string",
			yaml: "auth:\n  rules: [\"local all all trust\", 5]\n",
			want: "config: auth.rules: must be a list of strings, but entry 2 is 5",
		},
		{
			name: "negative failure limit",
			yaml: "auth:\n  throttle:\n    max_failures_per_user: -1\n",
			want: "config: auth.throttle.max_failures_per_user: must be between 0 and 1000000, got -1",
		},
		{
			name: "zero window",
			yaml: "auth:\n  throttle:\n    window_seconds: 0\n",
			want: "config: auth.throttle.window_seconds: must be between 1 and 604800, got 0",
		},
		{
			name: "throttle as a value",
			yaml: "auth:\n  throttle: 5\n",
			want: "config: auth.throttle: must be a section of keys, got 5",
		},
		{
			name: "unknown throttle key",
			yaml: "auth:\n  throttle:\n    max_failures: 5\n",
			want: `config: unknown key "auth.throttle.max_failures"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			if tc.yaml != "" {
				args = []string{"--config", writeConfigFile(t, "pgkeep.yaml", tc.yaml)}
			}
			cfg, err := LoadConfig(args, tc.env)
			if err == nil {
				t.Fatalf("LoadConfig returned %+v, want an error", cfg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestAuthSecurityConfigInvalidRule(t *testing.T) {
	_, err := AuthConfig{Rules: []string{"local all all trust", "local all all trust", "hots all all all trust"}}.SecurityConfig()
	if err == nil || !strings.HasPrefix(err.Error(), "config: auth.rules: rule 3: ") {
		t.Errorf("error = %v, want one naming rule 3", err)
	}
}
