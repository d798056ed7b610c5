package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pgkeep/pgkeep/security"
)

// defaultJWTAuthConfig is the auth.jwt part of the default configuration.
var defaultJWTAuthConfig = JWTAuthConfig{Leeway: 60 * time.Second, IdentityClaim: "sub", DefaultRole: "user"}

const testJWTSecret = "config-test-secret-0123456789abcdefgh"

// writeECPublicKey writes a new P-256 public key as PEM and returns its path.
func writeECPublicKey(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "issuer.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigJWTYAML(t *testing.T) {
	keyPath := writeECPublicKey(t)
	path := writeConfigFile(t, "pgkeep.yaml", `
auth:
  jwt:
    public_key_files:
      - `+keyPath+`
    trusted_issuers: ["https://idp.example.test", "https://other.example.test"]
    audience: pgkeep
    leeway_seconds: 30
    identity_claim: Email
    auto_provision: true
    default_role: service
`)
	cfg := mustLoadConfig(t, []string{"--config", path}, []string{"PGKEEP_AUTH_JWT_SECRET=" + testJWTSecret})

	want := JWTAuthConfig{
		Secret:         testJWTSecret,
		PublicKeyFiles: []string{keyPath},
		TrustedIssuers: []string{"https://idp.example.test", "https://other.example.test"},
		Audience:       "pgkeep",
		Leeway:         30 * time.Second,
		IdentityClaim:  "email",
		AutoProvision:  true,
		DefaultRole:    "service",
	}
	if !reflect.DeepEqual(cfg.Auth.JWT, want) {
		t.Errorf("JWT = %+v, want %+v", cfg.Auth.JWT, want)
	}

	verifier, err := cfg.Auth.JWT.TokenVerifier(nil)
	if err != nil {
		t.Fatalf("TokenVerifier: %v", err)
	}
	jwtVerifier, ok := verifier.(*security.JWTVerifier)
	if !ok || !jwtVerifier.AutoProvision() {
		t.Errorf("TokenVerifier = %#v, want a *security.JWTVerifier with auto-provisioning", verifier)
	}
}

func TestLoadConfigJWTTOMLAndEnvLists(t *testing.T) {
	path := writeConfigFile(t, "pgkeep.toml", `
[auth.jwt]
secret = "`+testJWTSecret+`"
trusted_issuers = ["https://idp.example.test"]
`)
	cfg := mustLoadConfig(t, []string{"--config", path}, nil)
	if cfg.Auth.JWT.Secret != testJWTSecret || !reflect.DeepEqual(cfg.Auth.JWT.TrustedIssuers, []string{"https://idp.example.test"}) {
		t.Errorf("JWT = %+v", cfg.Auth.JWT)
	}

	cfg = mustLoadConfig(t, []string{"--config", path}, []string{"PGKEEP_AUTH_JWT_TRUSTED_ISSUERS=https://a.example.test; https://b.example.test"})
	if want := []string{"https://a.example.test", "https://b.example.test"}; !reflect.DeepEqual(cfg.Auth.JWT.TrustedIssuers, want) {
		t.Errorf("TrustedIssuers from the environment = %q, want %q", cfg.Auth.JWT.TrustedIssuers, want)
	}
}

func TestJWTVerifierOnlyWithKey(t *testing.T) {
	cfg := mustLoadConfig(t, nil, nil)
	verifier, err := cfg.Auth.JWT.TokenVerifier(nil)
	if err != nil || verifier != nil {
		t.Errorf("TokenVerifier without keys = %v, %v; want nil, nil", verifier, err)
	}

	cfg = mustLoadConfig(t, nil, []string{"PGKEEP_AUTH_JWT_SECRET=" + testJWTSecret})
	if verifier, err = cfg.Auth.JWT.TokenVerifier(nil); err != nil || verifier == nil {
		t.Errorf("TokenVerifier with a secret = %v, %v; want a verifier", verifier, err)
	}
}

// A leeway of zero in the file means no skew, not the library default.
func TestJWTLeewayZeroAllowsNoSkew(t *testing.T) {
	c := defaultJWTAuthConfig
	c.Leeway = 0
	if got := c.VerifierConfig().Leeway; got >= 0 {
		t.Errorf("VerifierConfig().Leeway = %v for leeway_seconds 0, want a negative value", got)
	}
	c.Leeway = 45 * time.Second
	if got := c.VerifierConfig().Leeway; got != 45*time.Second {
		t.Errorf("VerifierConfig().Leeway = %v, want 45s", got)
	}
}

func TestLoadConfigJWTErrors(t *testing.T) {
	badPEM := writeConfigFile(t, "bad.pem", "not a key\n")
	cases := []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{"short secret", "", []string{"PGKEEP_AUTH_JWT_SECRET=short-secret"},
			"config: auth.jwt.secret: must be at least 32 bytes, got 12"},
		{"default role dba", "auth:\n  jwt:\n    default_role: dba\n", nil,
			`config: auth.jwt.default_role: must be user or service, got "dba"`},
		{"default role system", "auth:\n  jwt:\n    default_role: system\n", nil,
			`config: auth.jwt.default_role: must be user or service, got "system"`},
		{"identity claim", "auth:\n  jwt:\n    identity_claim: name\n", nil,
			`config: auth.jwt.identity_claim: must be one of sub, preferred_username, email, got "name"`},
		{"leeway", "auth:\n  jwt:\n    leeway_seconds: 7200\n", nil,
			"config: auth.jwt.leeway_seconds: must be between 0 and 3600, got 7200"},
		{"key file list type", "auth:\n  jwt:\n    public_key_files: key.pem\n", nil,
			`config: auth.jwt.public_key_files: must be a list of strings, got "key.pem"`},
		{"public keys without issuers", "auth:\n  jwt:\n    public_key_files: [" + badPEM + "]\n", nil,
			"config: auth.jwt.trusted_issuers: must list the iss of the tokens"},
		{"unreadable key file", "auth:\n  jwt:\n    trusted_issuers: [x]\n    public_key_files: [" + badPEM + "]\n", nil,
			"config: auth.jwt.public_key_files: " + badPEM + ": no PEM block found"},
		{"missing JWKS file", "auth:\n  jwt:\n    trusted_issuers: [x]\n    jwks_file: /nonexistent/jwks.json\n", nil,
			"config: auth.jwt.jwks_file: reading JWKS file"},
		{"auto-provision without issuers", "auth:\n  jwt:\n    auto_provision: true\n",
			[]string{"PGKEEP_AUTH_JWT_SECRET=" + testJWTSecret},
			"config: auth.jwt.auto_provision: requires auth.jwt.trusted_issuers"},
		{"unknown key", "auth:\n  jwt:\n    issuers: [x]\n", nil,
			`config: unknown key "auth.jwt.issuers"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			if tc.yaml != "" {
				args = []string{"--config", writeConfigFile(t, "pgkeep.yaml", tc.yaml)}
			}
			_, err := LoadConfig(args, tc.env)
			if err == nil {
				t.Fatalf("LoadConfig succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
			for _, e := range tc.env {
				if _, secret, _ := strings.Cut(e, "="); strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains the secret", err)
				}
			}
		})
	}
}

func TestSignTokenVerifies(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := defaultJWTAuthConfig
	c.Secret = testJWTSecret
	c.TrustedIssuers = []string{"https://pgkeep.example.test"}
	c.Audience = "pgkeep"
	c.IdentityClaim = "preferred_username"

	signed, err := signToken(c, "alice", time.Hour, now)
	if err != nil {
		t.Fatalf("signToken: %v", err)
	}
	vcfg := c.VerifierConfig()
	vcfg.Now = func() time.Time { return now.Add(30 * time.Minute) }
	verifier, err := security.NewJWTVerifier(vcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ci := security.ConnInfo{User: "alice"}
	creds := security.Credentials{AuthType: security.AuthPassword}
	if ok, reason, err := verifier.VerifyToken(context.Background(), ci, signed, creds, true); !ok || err != nil {
		t.Errorf("token rejected: %s %v", reason, err)
	}

	vcfg.Now = func() time.Time { return now.Add(2 * time.Hour) }
	if verifier, err = security.NewJWTVerifier(vcfg, nil); err != nil {
		t.Fatal(err)
	}
	if ok, reason, _ := verifier.VerifyToken(context.Background(), ci, signed, creds, true); ok || !strings.Contains(reason, "expired") {
		t.Errorf("token after its ttl: ok = %v, reason %q", ok, reason)
	}
}

func TestSignTokenErrors(t *testing.T) {
	c := defaultJWTAuthConfig
	if _, err := signToken(c, "alice", time.Hour, time.Now()); err == nil || !strings.Contains(err.Error(), "auth.jwt.secret is not set") {
		t.Errorf("without a secret: %v", err)
	}
	c.Secret = testJWTSecret
	if _, err := signToken(c, "", time.Hour, time.Now()); err == nil || !strings.Contains(err.Error(), "--user is required") {
		t.Errorf("without a user: %v", err)
	}
	if _, err := signToken(c, "alice", -time.Minute, time.Now()); err == nil || !strings.Contains(err.Error(), "--ttl must be between") {
		t.Errorf("negative ttl: %v", err)
	}
}

func TestTokenCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := token([]string{"--user", "alice", "--ttl", "10m"}, []string{"PGKEEP_AUTH_JWT_SECRET=" + testJWTSecret}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr.String())
	}
	if parts := strings.Split(strings.TrimSpace(stdout.String()), "."); len(parts) != 3 {
		t.Errorf("output %q is not a compact JWT", stdout.String())
	}

	stdout.Reset()
	stderr.Reset()
	code = token([]string{"--user", "alice"}, nil, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "auth.jwt.secret is not set") || stdout.Len() != 0 {
		t.Errorf("without a secret: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
