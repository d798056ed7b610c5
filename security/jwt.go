package security

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

const (
	// DefaultJWTLeeway is the clock skew allowed for exp, nbf and iat when
	// JWTConfig.Leeway is zero.
	DefaultJWTLeeway = 60 * time.Second
	// DefaultJWTMaxTokenBytes is the maximum token length when
	// JWTConfig.MaxTokenBytes is zero.
	DefaultJWTMaxTokenBytes = 16 << 10
	// MinJWTSecretLen is the minimum HS256 secret length in bytes: RFC 7518
	// section 3.2 requires a key at least as long as the 256-bit hash output.
	MinJWTSecretLen = 32
)

// Values of JWTConfig.IdentityClaim.
const (
	IdentityClaimSubject           = "sub"
	IdentityClaimPreferredUsername = "preferred_username"
	IdentityClaimEmail             = "email"
)

// ReasonProvisioned is the reason VerifyToken returns, with ok, after it
// created the unknown user named by a valid token.
const ReasonProvisioned = "user provisioned from token"

// ProvisionFunc creates an OAuth user with the given identity-provider
// issuer and subject and the given role. It succeeds without a change when
// an active OAuth user with the same name, provider and subject exists.
type ProvisionFunc func(ctx context.Context, name, provider, subject, role string) error

// JWTConfig configures a JWTVerifier. At least one of Secret,
// PublicKeyFiles and JWKSFile must be set.
type JWTConfig struct {
	// Secret is the HS256 key. HS256 tokens verify with it alone, never
	// with a public key.
	Secret []byte
	// PublicKeyFiles are PEM files of RSA, ECDSA P-256 or P-384, or Ed25519
	// public keys. Each key verifies one algorithm, fixed by its type:
	// RS256, ES256, ES384 or EdDSA.
	PublicKeyFiles []string
	// JWKSFile is a JWK Set file (RFC 7517), such as an identity provider's
	// jwks_uri document saved to disk. Tokens pick a key by kid. The file is
	// read again when its modification time or size changes.
	JWKSFile string
	// TrustedIssuers lists the accepted iss values. When it is non-empty
	// every token needs one of them. When it is empty, only tokens signed
	// with Secret are accepted, with or without iss.
	TrustedIssuers []string
	// Audience, when set, must be one of the token's aud values.
	Audience string
	// Leeway is the clock skew allowed for exp, nbf and iat. Zero means
	// DefaultJWTLeeway, and a negative value allows none.
	Leeway time.Duration
	// IdentityClaim is the claim that must equal the name of a password or
	// internal user: "sub" (the default), "preferred_username" or "email".
	// OAuth users are matched by iss and sub instead.
	IdentityClaim string
	// MaxTokenBytes is the maximum token length. Zero means
	// DefaultJWTMaxTokenBytes.
	MaxTokenBytes int
	// AutoProvision creates an OAuth user with DefaultRole for a valid token
	// from a trusted issuer that names an unknown user. It needs
	// TrustedIssuers and a Provision hook (see JWTVerifier.SetProvision).
	AutoProvision bool
	// DefaultRole is the role of auto-provisioned users: "user" (the
	// default when empty) or "service".
	DefaultRole string
	// Provision creates auto-provisioned users.
	Provision ProvisionFunc
	// Now is the clock of exp, nbf and iat. Nil means time.Now.
	Now func() time.Time
}

// JWTVerifier verifies JSON Web Tokens (RFC 7519) sent as the password of
// the jwt method. It implements TokenVerifier and is safe for concurrent use.
type JWTVerifier struct {
	cfg     JWTConfig
	logger  *slog.Logger
	pemKeys []verificationKey
	jwks    *jwksFile // nil without JWTConfig.JWKSFile
	parser  *jwt.Parser
}

// NewJWTVerifier validates cfg, fills in its defaults and loads the key
// files. Errors carry SQLSTATE 22023 and name the invalid field.
func NewJWTVerifier(cfg JWTConfig, logger *slog.Logger) (*JWTVerifier, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	v := &JWTVerifier{cfg: cfg, logger: logger}
	var err error
	if v.pemKeys, err = loadPEMKeys(cfg.PublicKeyFiles); err != nil {
		return nil, jwtConfigError("PublicKeyFiles", "%v", err)
	}
	if cfg.JWKSFile != "" {
		if v.jwks, err = newJWKSFile(cfg.JWKSFile, logger); err != nil {
			return nil, jwtConfigError("JWKSFile", "%v", err)
		}
	}

	options := []jwt.ParserOption{
		jwt.WithValidMethods(supportedJWTAlgorithms),
		jwt.WithLeeway(max(v.cfg.Leeway, 0)),
		jwt.WithTimeFunc(v.cfg.Now),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithStrictDecoding(),
	}
	if cfg.Audience != "" {
		options = append(options, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(options...)
	return v, nil
}

// validate checks cfg and fills in the defaults.
func (cfg *JWTConfig) validate() error {
	if len(cfg.Secret) == 0 && len(cfg.PublicKeyFiles) == 0 && cfg.JWKSFile == "" {
		return jwtConfigError("Secret", "no key configured: set Secret, PublicKeyFiles or JWKSFile")
	}
	if len(cfg.Secret) > 0 && len(cfg.Secret) < MinJWTSecretLen {
		return jwtConfigError("Secret", "the secret is %d bytes long but must be at least %d", len(cfg.Secret), MinJWTSecretLen)
	}
	// Tokens signed with a public key must name a trusted issuer, so
	// without one such keys could verify nothing.
	if (len(cfg.PublicKeyFiles) > 0 || cfg.JWKSFile != "") && len(cfg.TrustedIssuers) == 0 {
		return jwtConfigError("TrustedIssuers", "must list the iss of the tokens when PublicKeyFiles or JWKSFile is set")
	}
	for _, iss := range cfg.TrustedIssuers {
		if strings.TrimSpace(iss) == "" {
			return jwtConfigError("TrustedIssuers", "contains an empty issuer")
		}
	}

	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultJWTLeeway
	case cfg.Leeway > time.Hour:
		return jwtConfigError("Leeway", "%v is more than one hour", cfg.Leeway)
	}
	switch cfg.IdentityClaim {
	case "":
		cfg.IdentityClaim = IdentityClaimSubject
	case IdentityClaimSubject, IdentityClaimPreferredUsername, IdentityClaimEmail:
	default:
		return jwtConfigError("IdentityClaim", "%q is not supported: use %q, %q or %q",
			cfg.IdentityClaim, IdentityClaimSubject, IdentityClaimPreferredUsername, IdentityClaimEmail)
	}
	switch {
	case cfg.MaxTokenBytes == 0:
		cfg.MaxTokenBytes = DefaultJWTMaxTokenBytes
	case cfg.MaxTokenBytes < 0:
		return jwtConfigError("MaxTokenBytes", "%d is negative", cfg.MaxTokenBytes)
	}

	if cfg.DefaultRole == "" {
		cfg.DefaultRole = RoleUser.String()
	}
	role, err := ParseRole(cfg.DefaultRole)
	if err != nil {
		return jwtConfigError("DefaultRole", "%q is not a role: use user or service", cfg.DefaultRole)
	}
	if role >= RoleDBA {
		return jwtConfigError("DefaultRole", "%q is not allowed for auto-provisioned users: use user or service", cfg.DefaultRole)
	}
	if cfg.AutoProvision && len(cfg.TrustedIssuers) == 0 {
		return jwtConfigError("AutoProvision", "needs TrustedIssuers, the issuers whose users may be created")
	}

	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

func jwtConfigError(field, format string, args ...any) error {
	return pgerror.Newf(pgcode.InvalidParameterValue, "invalid JWT configuration: %s: %s", field, fmt.Sprintf(format, args...))
}

// SetProvision sets the hook that creates auto-provisioned users, for
// callers that build the user store after the verifier. Call it before the
// first VerifyToken.
func (v *JWTVerifier) SetProvision(provision ProvisionFunc) {
	v.cfg.Provision = provision
}

// AutoProvision reports whether the verifier creates unknown users.
func (v *JWTVerifier) AutoProvision() bool { return v.cfg.AutoProvision }

// HasProvision reports whether the hook that creates users is set.
func (v *JWTVerifier) HasProvision() bool { return v.cfg.Provision != nil }

// tokenClaims are the claims VerifyToken reads.
type tokenClaims struct {
	jwt.RegisteredClaims
	PreferredUsername string `json:"preferred_username,omitempty"`
	Email             string `json:"email,omitempty"`
}

// identity returns the value of the configured identity claim.
func (c *tokenClaims) identity(claim string) string {
	switch claim {
	case IdentityClaimPreferredUsername:
		return c.PreferredUsername
	case IdentityClaimEmail:
		return c.Email
	}
	return c.Subject
}

// VerifyToken implements TokenVerifier. It checks the token completely
// before it looks at the user, so unknown users take as long as known ones.
// A rejection reason names the failed check and the first 8 hex digits of
// the token's SHA-256, never the token.
func (v *JWTVerifier) VerifyToken(ctx context.Context, ci ConnInfo, token string, creds Credentials, found bool) (bool, string, error) {
	claims, signedWithSecret, reason := v.verify(token)
	if reason == "" {
		reason = v.checkIssuer(claims, signedWithSecret)
	}
	if reason != "" {
		return false, rejection(reason, token), nil
	}

	switch {
	case !found && v.cfg.AutoProvision:
		return v.provision(ctx, ci, claims, token)
	case !found:
		return false, ReasonUnknownUser, nil
	case creds.Deleted:
		return false, ReasonUserDeleted, nil
	}
	if reason := v.checkIdentity(ci, creds, claims); reason != "" {
		return false, rejection(reason, token), nil
	}
	return true, "", nil
}

func rejection(reason, token string) string {
	return fmt.Sprintf("invalid token: %s (token sha256 %s)", reason, tokenFingerprint(token))
}

// tokenFingerprint returns the first 8 hex digits of the token's SHA-256,
// enough to match log lines of one token without revealing it.
func tokenFingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:4])
}

// maxClaimInReason is the number of bytes of a client-chosen header or claim
// value that a rejection reason quotes.
const maxClaimInReason = 100

// truncateClaim shortens a header or claim value for a rejection reason, so
// that a client cannot fill the log through it.
func truncateClaim(value string) string {
	if len(value) <= maxClaimInReason {
		return value
	}
	return strings.ToValidUTF8(value[:maxClaimInReason], "") + "..."
}

// verify checks the size, header, signature and time claims of token. It
// returns the claims and whether the HS256 secret signed them, or the
// reason for a rejection.
func (v *JWTVerifier) verify(token string) (*tokenClaims, bool, string) {
	if token == "" {
		return nil, false, "empty token"
	}
	if len(token) > v.cfg.MaxTokenBytes {
		return nil, false, fmt.Sprintf("token is %d bytes, more than the maximum %d", len(token), v.cfg.MaxTokenBytes)
	}
	header, err := decodeJWTHeader(token)
	if err != nil {
		return nil, false, err.Error()
	}

	var claims tokenClaims
	_, err = v.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) {
		return v.selectKey(header)
	})
	if err != nil {
		return nil, false, parseFailure(err, &claims)
	}
	return &claims, header.Alg == algHS256, ""
}

// jwtHeader is the JOSE header (RFC 7515 section 4.1) members that select
// the key.
type jwtHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// decodeJWTHeader decodes the header of a compact JWS and checks its
// algorithm before any key is chosen.
func decodeJWTHeader(token string) (jwtHeader, error) {
	encoded, _, ok := strings.Cut(token, ".")
	if !ok || strings.Count(token, ".") != 2 {
		return jwtHeader{}, errors.New("malformed token: expected three dot-separated parts")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(encoded)
	if err != nil {
		return jwtHeader{}, errors.New("malformed token: header is not base64url")
	}
	var header jwtHeader
	if err := json.Unmarshal(raw, &header); err != nil {
		return jwtHeader{}, errors.New("malformed token: header is not a JSON object")
	}
	switch {
	case header.Alg == "":
		return jwtHeader{}, errors.New("missing alg header")
	case strings.EqualFold(header.Alg, "none"):
		return jwtHeader{}, errors.New("alg none is not accepted")
	case !slices.Contains(supportedJWTAlgorithms, header.Alg):
		return jwtHeader{}, fmt.Errorf("unsupported alg %q", header.Alg)
	case header.Crit != nil:
		// RFC 7515 section 4.1.11: a recipient must reject critical header
		// extensions it does not understand, and it understands none.
		return jwtHeader{}, errors.New("unsupported crit header")
	}
	return header, nil
}

// keySelectionError is a rejection by selectKey, carried through the JWT
// parser to parseFailure.
type keySelectionError struct{ reason string }

func (e *keySelectionError) Error() string { return e.reason }

// selectKey returns the key or keys that may verify a token with header.
// HS256 verifies with the secret only, and every other algorithm with the
// public keys pinned to that algorithm. A kid found in the JWKS file
// restricts the choice to that key.
func (v *JWTVerifier) selectKey(header jwtHeader) (any, error) {
	if header.Alg == algHS256 {
		if len(v.cfg.Secret) == 0 {
			return nil, &keySelectionError{"HS256 token, but no secret is configured"}
		}
		return v.cfg.Secret, nil
	}

	var jwksKeys []verificationKey
	if v.jwks != nil {
		jwksKeys = v.jwks.keys()
	}
	var candidates []verificationKey
	if header.Kid != "" {
		for _, k := range jwksKeys {
			if k.kid == header.Kid {
				candidates = append(candidates, k)
			}
		}
		if len(candidates) > 0 {
			return keysForAlgorithm(candidates, header.Alg, func() string {
				return fmt.Sprintf("alg %s does not match key %q", header.Alg, truncateClaim(header.Kid))
			})
		}
	}

	// Without a kid, or with one the JWKS file does not contain, the PEM
	// keys and the JWKS keys without a kid are candidates.
	candidates = slices.Clone(v.pemKeys)
	for _, k := range jwksKeys {
		if k.kid == "" || header.Kid == "" {
			candidates = append(candidates, k)
		}
	}
	return keysForAlgorithm(candidates, header.Alg, func() string {
		if header.Kid != "" {
			return fmt.Sprintf("unknown key ID %q for alg %s", truncateClaim(header.Kid), header.Alg)
		}
		return fmt.Sprintf("no key configured for alg %s", header.Alg)
	})
}

// keysForAlgorithm returns the keys of candidates pinned to alg, as one key
// or a jwt.VerificationKeySet, or a rejection with noneReason.
func keysForAlgorithm(candidates []verificationKey, alg string, noneReason func() string) (any, error) {
	var set jwt.VerificationKeySet
	for _, k := range candidates {
		if k.alg == alg {
			set.Keys = append(set.Keys, k.key)
		}
	}
	switch len(set.Keys) {
	case 0:
		return nil, &keySelectionError{noneReason()}
	case 1:
		return set.Keys[0], nil
	}
	return set, nil
}

// parseFailure turns an error of the JWT parser into a rejection reason.
// The parser joins several claim errors, so the order below decides which
// one a token that fails several checks reports. claims are the decoded
// claims, which tell a missing exp from a missing aud.
func parseFailure(err error, claims *tokenClaims) string {
	var selection *keySelectionError
	switch {
	case errors.As(err, &selection):
		return selection.reason
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "invalid signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable token"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && claims.ExpiresAt == nil:
		return "missing exp claim"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "missing aud claim"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired (exp)"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token issued in the future (iat)"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "audience does not match (aud)"
	}
	return "invalid claims"
}

// checkIssuer returns why the token's iss is not accepted, or "".
func (v *JWTVerifier) checkIssuer(claims *tokenClaims, signedWithSecret bool) string {
	if len(v.cfg.TrustedIssuers) == 0 {
		if signedWithSecret {
			return ""
		}
		// NOTE: unreachable while validate requires TrustedIssuers for
		// public keys. It stays so that a public key never verifies a
		// token from an unchecked issuer.
		return "no trusted issuers configured for public-key tokens"
	}
	if claims.Issuer == "" {
		return "missing iss claim"
	}
	if !slices.Contains(v.cfg.TrustedIssuers, claims.Issuer) {
		return fmt.Sprintf("issuer %q is not trusted", truncateClaim(claims.Issuer))
	}
	return ""
}

// checkIdentity returns why the token does not name the startup user, or "".
func (v *JWTVerifier) checkIdentity(ci ConnInfo, creds Credentials, claims *tokenClaims) string {
	switch creds.AuthType {
	case AuthOAuth:
		if claims.Issuer == "" || claims.Issuer != creds.OAuthProvider {
			return fmt.Sprintf("issuer %q is not the provider of user %q", truncateClaim(claims.Issuer), ci.User)
		}
		if claims.Subject == "" || claims.Subject != creds.OAuthSubject {
			return fmt.Sprintf("subject is not the subject of user %q", ci.User)
		}
		return ""
	case AuthPassword, AuthInternal:
		if claims.identity(v.cfg.IdentityClaim) != ci.User {
			return fmt.Sprintf("claim %s does not name user %q", v.cfg.IdentityClaim, ci.User)
		}
		return ""
	}
	return ReasonUnknownAuthType
}

// provision creates the unknown user ci.User from a verified token, whose
// identity claim must name that user.
func (v *JWTVerifier) provision(ctx context.Context, ci ConnInfo, claims *tokenClaims, token string) (bool, string, error) {
	if claims.identity(v.cfg.IdentityClaim) != ci.User {
		return false, rejection(fmt.Sprintf("claim %s does not name unknown user %q", v.cfg.IdentityClaim, ci.User), token), nil
	}
	if claims.Subject == "" {
		return false, rejection("missing sub claim, needed to create the user", token), nil
	}
	if v.cfg.Provision == nil {
		v.logger.Error("auto-provisioning is on but no provision hook is set", "user", ci.User)
		return false, ReasonUnknownUser, nil
	}
	// A failure, such as a concurrent first login of the same user that
	// lost a write conflict, fails this login like a wrong token, so the
	// client can retry.
	if err := v.cfg.Provision(ctx, ci.User, claims.Issuer, claims.Subject, v.cfg.DefaultRole); err != nil {
		v.logger.Error("auto-provisioning failed", "user", ci.User, "provider", claims.Issuer, "error", err)
		return false, rejection("auto-provisioning failed", token), nil
	}
	v.logger.Info("auto-provisioned OAuth user", "user", ci.User, "provider", claims.Issuer,
		"role", v.cfg.DefaultRole, "token_sha256", tokenFingerprint(token))
	return true, ReasonProvisioned, nil
}
