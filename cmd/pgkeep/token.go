package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/pflag"

	"github.com/pgkeep/pgkeep/security"
)

// maxTokenTTL bounds --ttl of pgkeep token.
// NOTE: a sanity bound against typos such as --ttl 8760h, not a policy.
const maxTokenTTL = 30 * 24 * time.Hour

// token runs pgkeep token: it prints an HS256 token for --user, signed with
// auth.jwt.secret, for logins with -c pgkeep.auth=jwt.
func token(args, env []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("pgkeep token", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	AddConfigFlags(fs)
	// Only --config matters for a token, so the server flags are accepted
	// but left out of the help.
	for _, f := range configFlags {
		_ = fs.MarkHidden(f.flag)
	}
	user := fs.String("user", "", "user name the token logs in as; the sub claim")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token, such as 30m or 12h")

	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(stdout, "Usage: pgkeep token --user NAME [--ttl 1h] [--config FILE]\n\nFlags:\n"+fs.FlagUsages())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "pgkeep token: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pgkeep token: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := LoadConfigFromFlags(fs, env)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}

	signed, err := signToken(cfg.Auth.JWT, *user, *ttl, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "pgkeep token: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, signed)
	return 0
}

// signToken returns an HS256 token for user that expires ttl after now. Its
// claims are sub, iat and exp, the identity claim when it is not sub, iss
// when exactly one trusted issuer is configured, and aud when an audience
// is, so that the server's own verifier accepts it.
func signToken(c JWTAuthConfig, user string, ttl time.Duration, now time.Time) (string, error) {
	if c.Secret == "" {
		return "", errors.New("auth.jwt.secret is not set: set it in the config file or in PGKEEP_AUTH_JWT_SECRET")
	}
	if user == "" {
		return "", errors.New("--user is required")
	}
	if ttl <= 0 || ttl > maxTokenTTL {
		return "", fmt.Errorf("--ttl must be between 1s and %v, got %v", maxTokenTTL, ttl)
	}

	claims := jwt.MapClaims{
		"sub": user,
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
	if c.IdentityClaim != "" && c.IdentityClaim != security.IdentityClaimSubject {
		claims[c.IdentityClaim] = user
	}
	if len(c.TrustedIssuers) == 1 {
		claims["iss"] = c.TrustedIssuers[0]
	}
	if c.Audience != "" {
		claims["aud"] = c.Audience
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(c.Secret))
	if err != nil {
		return "", fmt.Errorf("signing the token failed: %w", err)
	}
	return signed, nil
}
