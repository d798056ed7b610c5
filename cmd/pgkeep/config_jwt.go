package main

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/pgkeep/pgkeep/security"
)

// JWTAuthConfig contains the settings of JWT logins, the auth.jwt keys.
// JWT logins are on when Secret, PublicKeyFiles or JWKSFile is set.
type JWTAuthConfig struct {
	// Secret is the HS256 key, at least 32 bytes. It also signs the tokens
	// of pgkeep token.
	Secret string
	// PublicKeyFiles are PEM files of RSA, ECDSA P-256/P-384 or Ed25519
	// public keys.
	PublicKeyFiles []string
	// JWKSFile is a JWK Set file, reread when it changes.
	JWKSFile string
	// TrustedIssuers are the accepted iss values.
	TrustedIssuers []string
	// Audience, when set, must be one of the token's aud values.
	Audience string
	// Leeway is the clock skew allowed for exp, nbf and iat.
	Leeway time.Duration
	// IdentityClaim names password and internal users: sub,
	// preferred_username or email.
	IdentityClaim string
	// AutoProvision creates unknown users from valid tokens, with role
	// DefaultRole.
	AutoProvision bool
	DefaultRole   string
}

// maxJWTLeewaySeconds bounds auth.jwt.leeway_seconds. A larger skew would
// keep expired tokens usable for long.
const maxJWTLeewaySeconds = 3600

func jwtConfigFromViper(v *viper.Viper) JWTAuthConfig {
	return JWTAuthConfig{
		Secret:         v.GetString("auth.jwt.secret"),
		PublicKeyFiles: nilIfEmpty(v.GetStringSlice("auth.jwt.public_key_files")),
		JWKSFile:       v.GetString("auth.jwt.jwks_file"),
		TrustedIssuers: nilIfEmpty(v.GetStringSlice("auth.jwt.trusted_issuers")),
		Audience:       v.GetString("auth.jwt.audience"),
		Leeway:         time.Duration(v.GetInt("auth.jwt.leeway_seconds")) * time.Second,
		IdentityClaim:  strings.ToLower(v.GetString("auth.jwt.identity_claim")),
		AutoProvision:  v.GetBool("auth.jwt.auto_provision"),
		DefaultRole:    strings.ToLower(v.GetString("auth.jwt.default_role")),
	}
}

// Enabled reports whether a key is configured, which turns JWT logins on.
func (c JWTAuthConfig) Enabled() bool {
	return c.Secret != "" || len(c.PublicKeyFiles) > 0 || c.JWKSFile != ""
}

// validate checks the auth.jwt keys and loads the key files, so that a
// missing or invalid file stops start-up.
func (c JWTAuthConfig) validate() []*configError {
	var errs []*configError
	add := func(key, format string, args ...any) {
		errs = append(errs, keyError(key, format, args...))
	}

	if c.Secret != "" && len(c.Secret) < security.MinJWTSecretLen {
		// The message gives the length only, never the secret.
		add("auth.jwt.secret", "must be at least %d bytes, got %d; generate one with: openssl rand -base64 48",
			security.MinJWTSecretLen, len(c.Secret))
	}
	if leeway := int(c.Leeway / time.Second); leeway < 0 || leeway > maxJWTLeewaySeconds {
		add("auth.jwt.leeway_seconds", "must be between 0 and %d, got %d", maxJWTLeewaySeconds, leeway)
	}
	claims := []string{security.IdentityClaimSubject, security.IdentityClaimPreferredUsername, security.IdentityClaimEmail}
	if !slices.Contains(claims, c.IdentityClaim) {
		add("auth.jwt.identity_claim", "must be one of %s, got %s", strings.Join(claims, ", "), describeValue(c.IdentityClaim))
	}
	if c.DefaultRole != "user" && c.DefaultRole != "service" {
		add("auth.jwt.default_role", "must be user or service, got %s; auto-provisioned users never get dba or system",
			describeValue(c.DefaultRole))
	}
	for i, iss := range c.TrustedIssuers {
		if strings.TrimSpace(iss) == "" {
			add("auth.jwt.trusted_issuers", "entry %d is empty", i+1)
		}
	}
	if (len(c.PublicKeyFiles) > 0 || c.JWKSFile != "") && len(c.TrustedIssuers) == 0 {
		add("auth.jwt.trusted_issuers", "must list the iss of the tokens when auth.jwt.public_key_files or auth.jwt.jwks_file is set")
	}
	if c.AutoProvision && len(c.TrustedIssuers) == 0 {
		add("auth.jwt.auto_provision", "requires auth.jwt.trusted_issuers, the issuers whose users may be created")
	}
	if c.AutoProvision && !c.Enabled() {
		add("auth.jwt.auto_provision", "requires a key: auth.jwt.secret, auth.jwt.public_key_files or auth.jwt.jwks_file")
	}

	// The files are loaded one by one with a placeholder issuer, so that
	// each error names the key of its file.
	for _, path := range c.PublicKeyFiles {
		cfg := security.JWTConfig{PublicKeyFiles: []string{path}, TrustedIssuers: []string{"check"}}
		if _, err := security.NewJWTVerifier(cfg, nil); err != nil {
			add("auth.jwt.public_key_files", "%s", strings.TrimPrefix(err.Error(), "invalid JWT configuration: PublicKeyFiles: "))
		}
	}
	if c.JWKSFile != "" {
		cfg := security.JWTConfig{JWKSFile: c.JWKSFile, TrustedIssuers: []string{"check"}}
		if _, err := security.NewJWTVerifier(cfg, nil); err != nil {
			add("auth.jwt.jwks_file", "%s", strings.TrimPrefix(err.Error(), "invalid JWT configuration: JWKSFile: "))
		}
	}
	return errs
}

// VerifierConfig returns the security.JWTConfig of these settings. A leeway
// of zero becomes the negative value with which security.JWTConfig allows
// no skew.
func (c JWTAuthConfig) VerifierConfig() security.JWTConfig {
	leeway := c.Leeway
	if leeway == 0 {
		leeway = -1
	}
	var secret []byte
	if c.Secret != "" {
		secret = []byte(c.Secret)
	}
	return security.JWTConfig{
		Secret:         secret,
		PublicKeyFiles: c.PublicKeyFiles,
		JWKSFile:       c.JWKSFile,
		TrustedIssuers: c.TrustedIssuers,
		Audience:       c.Audience,
		Leeway:         leeway,
		IdentityClaim:  c.IdentityClaim,
		AutoProvision:  c.AutoProvision,
		DefaultRole:    c.DefaultRole,
	}
}

// TokenVerifier returns the verifier of JWT logins, or nil when no key is
// configured. The node sets its auto-provisioning hook.
func (c JWTAuthConfig) TokenVerifier(logger *slog.Logger) (security.TokenVerifier, error) {
	if !c.Enabled() {
		return nil, nil
	}
	v, err := security.NewJWTVerifier(c.VerifierConfig(), logger)
	if err != nil {
		return nil, fmt.Errorf("config: auth.jwt: %w", err)
	}
	return v, nil
}
