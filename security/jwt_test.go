package security

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

const testIssuer = "https://idp.example.test"

var (
	testJWTSecret = []byte("jwt-test-secret-0123456789abcdefghij")
	// testJWTNow is the fixed clock of the verifier tests.
	testJWTNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// testKeys are generated once per test binary, because RSA generation
// takes a noticeable fraction of a second.
type testKeys struct {
	rsa1, rsa2 *rsa.PrivateKey
	p256, p384 *ecdsa.PrivateKey
	ed         ed25519.PrivateKey
}

var (
	testKeysOnce sync.Once
	testKeySet   testKeys
)

func keys(t testing.TB) *testKeys {
	t.Helper()
	testKeysOnce.Do(func() {
		var err error
		k := &testKeySet
		if k.rsa1, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if k.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
			panic(err)
		}
		if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	})
	return &testKeySet
}

// writePublicPEM writes the PKIX PEM form of pub to a new file and returns
// its path.
func writePublicPEM(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwkOf returns the JWK of a public key with the given kid.
func jwkOf(kid string, pub crypto.PublicKey) map[string]string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		raw, err := k.Bytes()
		if err != nil {
			panic(err)
		}
		return map[string]string{"kty": "EC", "kid": kid, "crv": k.Curve.Params().Name,
			"x": b64(raw[1 : 1+size]), "y": b64(raw[1+size:])}
	case ed25519.PublicKey:
		return map[string]string{"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(k)}
	}
	panic("unsupported key type")
}

// writeJWKS writes a JWK Set of the given entries to path.
func writeJWKS(t testing.TB, path string, entries ...map[string]string) {
	t.Helper()
	if entries == nil {
		entries = []map[string]string{}
	}
	data, err := json.Marshal(map[string]any{"keys": entries})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// validClaims returns claims that the default test verifier accepts for
// user alice.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIssuer,
		"sub": "alice",
		"iat": testJWTNow.Add(-time.Minute).Unix(),
		"exp": testJWTNow.Add(time.Hour).Unix(),
	}
}

// sign signs claims with method and key, setting kid when it is not empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	token := jwt.NewWithClaims(method, claims)
	if kid != "" {
		token.Header["kid"] = kid
	}
	s, err := token.SignedString(key)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return s
}

// newTestVerifier returns a verifier on the fixed test clock.
func newTestVerifier(t testing.TB, cfg JWTConfig) *JWTVerifier {
	t.Helper()
	cfg.Now = func() time.Time { return testJWTNow }
	v, err := NewJWTVerifier(cfg, nil)
	if err != nil {
		t.Fatalf("NewJWTVerifier: %v", err)
	}
	return v
}

var passwordUser = Credentials{AuthType: AuthPassword}

func userConn(user string) ConnInfo {
	return ConnInfo{User: user, Database: "postgres", Source: SourceRemote, RemoteAddr: "192.0.2.10:5000"}
}

// assertAccepted checks that v accepts token for a password user alice.
func assertAccepted(t *testing.T, v *JWTVerifier, token string) {
	t.Helper()
	ok, reason, err := v.VerifyToken(context.Background(), userConn("alice"), token, passwordUser, true)
	if err != nil {
		t.Fatalf("VerifyToken error: %v", err)
	}
	if !ok {
		t.Fatalf("token rejected: %s", reason)
	}
}

// assertRejected checks that v rejects token for a password user alice
// with a reason that contains want and not the token.
func assertRejected(t *testing.T, v *JWTVerifier, token, want string) {
	t.Helper()
	ok, reason, err := v.VerifyToken(context.Background(), userConn("alice"), token, passwordUser, true)
	if err != nil {
		t.Fatalf("VerifyToken error: %v", err)
	}
	if ok {
		t.Fatalf("token accepted, want a rejection containing %q", want)
	}
	if !strings.Contains(reason, want) {
		t.Errorf("reason = %q, want it to contain %q", reason, want)
	}
	if token != "" && strings.Contains(reason, token) {
		t.Errorf("reason %q contains the token", reason)
	}
	if parts := strings.Split(token, "."); len(parts) == 3 && parts[2] != "" && strings.Contains(reason, parts[2]) {
		t.Errorf("reason %q contains the signature", reason)
	}
}

func TestJWTHS256Accepted(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, TrustedIssuers: []string{testIssuer}})
	assertAccepted(t, v, sign(t, jwt.SigningMethodHS256, testJWTSecret, "", validClaims()))
}

func TestJWTHS256WithoutIssuer(t *testing.T) {
	claims := validClaims()
	delete(claims, "iss")
	token := sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims)

	open := newTestVerifier(t, JWTConfig{Secret: testJWTSecret})
	assertAccepted(t, open, token)

	pinned := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, TrustedIssuers: []string{testIssuer}})
	assertRejected(t, pinned, token, "missing iss claim")
}

func TestJWTHS256WrongSecret(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret})
	other := []byte("another-secret-0123456789abcdefghijk")
	assertRejected(t, v, sign(t, jwt.SigningMethodHS256, other, "", validClaims()), "invalid signature")
}

func TestJWTRS256FromPEM(t *testing.T) {
	k := keys(t)
	v := newTestVerifier(t, JWTConfig{
		PublicKeyFiles: []string{writePublicPEM(t, &k.rsa1.PublicKey)},
		TrustedIssuers: []string{testIssuer},
	})
	assertAccepted(t, v, sign(t, jwt.SigningMethodRS256, k.rsa1, "", validClaims()))
	assertRejected(t, v, sign(t, jwt.SigningMethodRS256, k.rsa2, "", validClaims()), "invalid signature")
	// The key is pinned to RS256, so RS512 and PS256 find no key.
	assertRejected(t, v, sign(t, jwt.SigningMethodRS512, k.rsa1, "", validClaims()), "no key configured for alg RS512")
	assertRejected(t, v, sign(t, jwt.SigningMethodPS256, k.rsa1, "", validClaims()), "no key configured for alg PS256")
}

func TestJWTES256AndES384FromPEM(t *testing.T) {
	k := keys(t)
	v := newTestVerifier(t, JWTConfig{
		PublicKeyFiles: []string{writePublicPEM(t, &k.p256.PublicKey), writePublicPEM(t, &k.p384.PublicKey)},
		TrustedIssuers: []string{testIssuer},
	})
	assertAccepted(t, v, sign(t, jwt.SigningMethodES256, k.p256, "", validClaims()))
	assertAccepted(t, v, sign(t, jwt.SigningMethodES384, k.p384, "", validClaims()))

	onlyP256 := newTestVerifier(t, JWTConfig{
		PublicKeyFiles: []string{writePublicPEM(t, &k.p256.PublicKey)},
		TrustedIssuers: []string{testIssuer},
	})
	assertRejected(t, onlyP256, sign(t, jwt.SigningMethodES384, k.p384, "", validClaims()), "no key configured for alg ES384")
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	assertRejected(t, onlyP256, sign(t, jwt.SigningMethodES256, other, "", validClaims()), "invalid signature")
}

func TestJWTEdDSAFromPEM(t *testing.T) {
	k := keys(t)
	v := newTestVerifier(t, JWTConfig{
		PublicKeyFiles: []string{writePublicPEM(t, k.ed.Public())},
		TrustedIssuers: []string{testIssuer},
	})
	assertAccepted(t, v, sign(t, jwt.SigningMethodEdDSA, k.ed, "", validClaims()))
}

func TestJWTJWKSKeyByKid(t *testing.T) {
	k := keys(t)
	path := filepath.Join(t.TempDir(), "jwks.json")
	writeJWKS(t, path, jwkOf("rsa-1", &k.rsa1.PublicKey), jwkOf("rsa-2", &k.rsa2.PublicKey),
		jwkOf("ec-1", &k.p256.PublicKey), jwkOf("ed-1", k.ed.Public()))
	v := newTestVerifier(t, JWTConfig{JWKSFile: path, TrustedIssuers: []string{testIssuer}})

	assertAccepted(t, v, sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa-1", validClaims()))
	assertAccepted(t, v, sign(t, jwt.SigningMethodRS256, k.rsa2, "rsa-2", validClaims()))
	assertAccepted(t, v, sign(t, jwt.SigningMethodES256, k.p256, "ec-1", validClaims()))
	assertAccepted(t, v, sign(t, jwt.SigningMethodEdDSA, k.ed, "ed-1", validClaims()))
	// Without kid every RS256 key is tried.
	assertAccepted(t, v, sign(t, jwt.SigningMethodRS256, k.rsa2, "", validClaims()))

	assertRejected(t, v, sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa-2", validClaims()), "invalid signature")
	assertRejected(t, v, sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa-9", validClaims()), `unknown key ID "rsa-9"`)
	// The kid names an EC key, which verifies ES256 only.
	assertRejected(t, v, sign(t, jwt.SigningMethodRS256, k.rsa1, "ec-1", validClaims()), `alg RS256 does not match key "ec-1"`)
}

func TestJWTJWKSRotation(t *testing.T) {
	k := keys(t)
	path := filepath.Join(t.TempDir(), "jwks.json")
	writeJWKS(t, path, jwkOf("old", &k.rsa1.PublicKey))
	v := newTestVerifier(t, JWTConfig{JWKSFile: path, TrustedIssuers: []string{testIssuer}})

	oldToken := sign(t, jwt.SigningMethodRS256, k.rsa1, "old", validClaims())
	newToken := sign(t, jwt.SigningMethodRS256, k.rsa2, "new", validClaims())
	assertAccepted(t, v, oldToken)
	assertRejected(t, v, newToken, `unknown key ID "new"`)

	writeJWKS(t, path, jwkOf("new", &k.rsa2.PublicKey))
	assertAccepted(t, v, newToken)
	assertRejected(t, v, oldToken, `unknown key ID "old"`)

	// A broken rewrite keeps the last good keys.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	assertAccepted(t, v, newToken)
}

func TestParseJWKSSkipsUnusableEntries(t *testing.T) {
	k := keys(t)
	good := jwkOf("ok", &k.p256.PublicKey)
	enc := jwkOf("enc", &k.rsa1.PublicKey)
	enc["use"] = "enc"
	private := jwkOf("priv", &k.p256.PublicKey)
	private["d"] = "AAAA"
	wrongAlg := jwkOf("mismatch", &k.p256.PublicKey)
	wrongAlg["alg"] = "ES384"
	offCurve := jwkOf("offcurve", &k.p256.PublicKey)
	offCurve["y"] = offCurve["x"]
	data, err := json.Marshal(map[string]any{"keys": []any{
		good, enc, private, wrongAlg, offCurve,
		map[string]string{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
		map[string]string{"kty": "RSA", "kid": "small", "n": b64(big.NewInt(65537).Bytes()), "e": "AQAB"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, skipped, err := parseJWKS(data)
	if err != nil {
		t.Fatalf("parseJWKS: %v", err)
	}
	if len(got) != 1 || got[0].kid != "ok" || got[0].alg != algES256 {
		t.Errorf("keys = %+v, want only ok with ES256", got)
	}
	if len(skipped) != 6 {
		t.Errorf("skipped %d entries, want 6: %q", len(skipped), skipped)
	}
	for _, s := range skipped {
		if strings.Contains(s, "AAAA") {
			t.Errorf("skip message %q contains key material", s)
		}
	}
}

func TestJWTAlgNoneRejected(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret})
	token := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", validClaims())
	assertRejected(t, v, token, "alg none is not accepted")

	// The same with a forged signature part and another spelling.
	header := b64([]byte(`{"alg":"NONE","typ":"JWT"}`))
	body := strings.Split(token, ".")[1]
	assertRejected(t, v, header+"."+body+".c2ln", "alg none is not accepted")
}

// An HS256 token whose key is the RSA public key file, the classic
// algorithm-confusion attack, must never verify.
func TestJWTAlgorithmConfusion(t *testing.T) {
	k := keys(t)
	pemPath := writePublicPEM(t, &k.rsa1.PublicKey)
	pemBytes, err := os.ReadFile(pemPath)
	if err != nil {
		t.Fatal(err)
	}
	forged := sign(t, jwt.SigningMethodHS256, pemBytes, "", validClaims())

	withoutSecret := newTestVerifier(t, JWTConfig{PublicKeyFiles: []string{pemPath}, TrustedIssuers: []string{testIssuer}})
	assertRejected(t, withoutSecret, forged, "HS256 token, but no secret is configured")

	withSecret := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, PublicKeyFiles: []string{pemPath}, TrustedIssuers: []string{testIssuer}})
	assertRejected(t, withSecret, forged, "invalid signature")

	// The DER bytes of the key fare no better.
	der, err := x509.MarshalPKIXPublicKey(&k.rsa1.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	assertRejected(t, withSecret, sign(t, jwt.SigningMethodHS256, der, "", validClaims()), "invalid signature")
}

func TestJWTTimeClaims(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, TrustedIssuers: []string{testIssuer}})
	cases := []struct {
		name   string
		edit   func(jwt.MapClaims)
		reason string // "" when the token is accepted
	}{
		{"expired", func(c jwt.MapClaims) { c["exp"] = testJWTNow.Add(-2 * time.Minute).Unix() }, "token expired (exp)"},
		{"expired within leeway", func(c jwt.MapClaims) { c["exp"] = testJWTNow.Add(-30 * time.Second).Unix() }, ""},
		{"missing exp", func(c jwt.MapClaims) { delete(c, "exp") }, "missing exp claim"},
		{"nbf in future", func(c jwt.MapClaims) { c["nbf"] = testJWTNow.Add(5 * time.Minute).Unix() }, "token not valid yet (nbf)"},
		{"nbf within leeway", func(c jwt.MapClaims) { c["nbf"] = testJWTNow.Add(30 * time.Second).Unix() }, ""},
		{"iat in future", func(c jwt.MapClaims) { c["iat"] = testJWTNow.Add(5 * time.Minute).Unix() }, "token issued in the future (iat)"},
		{"exp not a number", func(c jwt.MapClaims) { c["exp"] = "tomorrow" }, "malformed token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claims := validClaims()
			tc.edit(claims)
			token := sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims)
			if tc.reason == "" {
				assertAccepted(t, v, token)
			} else {
				assertRejected(t, v, token, tc.reason)
			}
		})
	}
}

func TestJWTNegativeLeewayAllowsNoSkew(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, Leeway: -1})
	claims := validClaims()
	claims["exp"] = testJWTNow.Add(-time.Second).Unix()
	assertRejected(t, v, sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims), "token expired (exp)")
}

func TestJWTIssuer(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, TrustedIssuers: []string{testIssuer, "https://other.example.test"}})
	claims := validClaims()
	claims["iss"] = "https://evil.example.test"
	assertRejected(t, v, sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims), `issuer "https://evil.example.test" is not trusted`)

	claims["iss"] = "https://other.example.test"
	assertAccepted(t, v, sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims))

	claims["iss"] = strings.Repeat("i", 5000)
	_, reason, _ := v.VerifyToken(context.Background(), userConn("alice"), sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims), passwordUser, true)
	if len(reason) > 200 || !strings.Contains(reason, `iiii..." is not trusted`) {
		t.Errorf("reason for a long issuer = %q, want it cut to %d bytes", reason, maxClaimInReason)
	}
}

func TestJWTAudience(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, Audience: "pgkeep"})
	claims := validClaims()
	assertRejected(t, v, sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims), "missing aud claim")

	claims["aud"] = "other-service"
	assertRejected(t, v, sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims), "audience does not match (aud)")

	claims["aud"] = []string{"other-service", "pgkeep"}
	assertAccepted(t, v, sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims))

	claims["aud"] = "pgkeep"
	assertAccepted(t, v, sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims))
}

func TestJWTSizeAndShape(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, MaxTokenBytes: 1024})
	claims := validClaims()
	claims["padding"] = strings.Repeat("x", 2000)
	assertRejected(t, v, sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims), "more than the maximum 1024")
	assertRejected(t, v, "", "empty token")
	assertRejected(t, v, "not-a-token", "malformed token")
	assertRejected(t, v, "a.b.c.d", "malformed token")
	assertRejected(t, v, "e30.e30.", "missing alg header")

	critical := b64([]byte(`{"alg":"HS256","crit":["exp"]}`))
	token := sign(t, jwt.SigningMethodHS256, testJWTSecret, "", validClaims())
	assertRejected(t, v, critical+token[strings.Index(token, "."):], "unsupported crit header")

	hs512 := sign(t, jwt.SigningMethodHS512, testJWTSecret, "", validClaims())
	assertRejected(t, v, hs512, `unsupported alg "HS512"`)
}

func TestJWTReasonHasFingerprint(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret})
	token := sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdefghijk"), "", validClaims())
	_, reason, _ := v.VerifyToken(context.Background(), userConn("alice"), token, passwordUser, true)
	if want := "(token sha256 " + tokenFingerprint(token) + ")"; !strings.HasSuffix(reason, want) {
		t.Errorf("reason = %q, want suffix %q", reason, want)
	}
	if len(tokenFingerprint(token)) != 8 {
		t.Errorf("fingerprint %q is not 8 hex digits", tokenFingerprint(token))
	}
}

func TestJWTIdentity(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, TrustedIssuers: []string{testIssuer}})
	token := sign(t, jwt.SigningMethodHS256, testJWTSecret, "", validClaims()) // sub alice
	ctx := context.Background()

	cases := []struct {
		name   string
		user   string
		creds  Credentials
		found  bool
		reason string // "" when accepted
	}{
		{"password user", "alice", passwordUser, true, ""},
		{"internal user", "alice", Credentials{AuthType: AuthInternal}, true, ""},
		{"token for another user", "bob", passwordUser, true, `claim sub does not name user "bob"`},
		{"unknown user", "alice", Credentials{}, false, ReasonUnknownUser},
		{"deleted user", "alice", Credentials{AuthType: AuthPassword, Deleted: true}, true, ReasonUserDeleted},
		{"oauth user with other subject", "alice",
			Credentials{AuthType: AuthOAuth, OAuthProvider: testIssuer, OAuthSubject: "u-123"}, true,
			`subject is not the subject of user "alice"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason, err := v.VerifyToken(ctx, userConn(tc.user), token, tc.creds, tc.found)
			if err != nil {
				t.Fatalf("VerifyToken error: %v", err)
			}
			if ok != (tc.reason == "") {
				t.Fatalf("ok = %v (reason %q), want reason %q", ok, reason, tc.reason)
			}
			if !strings.Contains(reason, tc.reason) {
				t.Errorf("reason = %q, want it to contain %q", reason, tc.reason)
			}
		})
	}
}

func TestJWTIdentityClaimPreferredUsername(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, IdentityClaim: IdentityClaimPreferredUsername})
	claims := validClaims()
	claims["sub"] = "7c1e9f"
	claims["preferred_username"] = "alice"
	assertAccepted(t, v, sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims))

	delete(claims, "preferred_username")
	claims["sub"] = "alice"
	assertRejected(t, v, sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims), `claim preferred_username does not name user "alice"`)
}

func TestJWTOAuthUserByIssuerAndSubject(t *testing.T) {
	k := keys(t)
	path := filepath.Join(t.TempDir(), "jwks.json")
	writeJWKS(t, path, jwkOf("k1", &k.p256.PublicKey))
	const otherIssuer = "https://other.example.test"
	v := newTestVerifier(t, JWTConfig{JWKSFile: path, TrustedIssuers: []string{testIssuer, otherIssuer}})
	gina := Credentials{AuthType: AuthOAuth, OAuthProvider: testIssuer, OAuthSubject: "u-42"}
	ctx := context.Background()

	claims := validClaims()
	claims["sub"] = "u-42"
	ok, reason, err := v.VerifyToken(ctx, userConn("gina"), sign(t, jwt.SigningMethodES256, k.p256, "k1", claims), gina, true)
	if err != nil || !ok {
		t.Fatalf("matching iss and sub: ok = %v, reason %q, err %v", ok, reason, err)
	}

	// The same subject from another trusted issuer is someone else.
	claims["iss"] = otherIssuer
	ok, reason, _ = v.VerifyToken(ctx, userConn("gina"), sign(t, jwt.SigningMethodES256, k.p256, "k1", claims), gina, true)
	if ok || !strings.Contains(reason, `issuer "https://other.example.test" is not the provider of user "gina"`) {
		t.Errorf("other issuer: ok = %v, reason %q", ok, reason)
	}

	// A sub equal to the user name does not identify an OAuth user.
	claims["iss"] = testIssuer
	claims["sub"] = "gina"
	ok, reason, _ = v.VerifyToken(ctx, userConn("gina"), sign(t, jwt.SigningMethodES256, k.p256, "k1", claims), gina, true)
	if ok || !strings.Contains(reason, `subject is not the subject of user "gina"`) {
		t.Errorf("sub equal to name: ok = %v, reason %q", ok, reason)
	}
}

// provisionCall records one call of a test ProvisionFunc.
type provisionCall struct{ name, provider, subject, role string }

func TestJWTAutoProvision(t *testing.T) {
	var calls []provisionCall
	provision := func(_ context.Context, name, provider, subject, role string) error {
		calls = append(calls, provisionCall{name, provider, subject, role})
		return nil
	}
	claims := validClaims()
	claims["sub"] = "u-77"
	claims["email"] = "nina@example.test"
	token := sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims)
	ctx := context.Background()

	off := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, TrustedIssuers: []string{testIssuer}, Provision: provision})
	ok, reason, _ := off.VerifyToken(ctx, userConn("nina@example.test"), token, Credentials{}, false)
	if ok || reason != ReasonUnknownUser || len(calls) != 0 {
		t.Fatalf("provisioning off: ok = %v, reason %q, %d calls", ok, reason, len(calls))
	}

	on := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, TrustedIssuers: []string{testIssuer},
		AutoProvision: true, DefaultRole: "service", IdentityClaim: IdentityClaimEmail, Provision: provision})
	ok, reason, err := on.VerifyToken(ctx, userConn("nina@example.test"), token, Credentials{}, false)
	if err != nil || !ok || reason != ReasonProvisioned {
		t.Fatalf("provisioning on: ok = %v, reason %q, err %v", ok, reason, err)
	}
	want := provisionCall{"nina@example.test", testIssuer, "u-77", "service"}
	if len(calls) != 1 || calls[0] != want {
		t.Errorf("calls = %+v, want [%+v]", calls, want)
	}

	// A valid token naming someone else creates nobody.
	calls = nil
	ok, reason, _ = on.VerifyToken(ctx, userConn("mallory"), token, Credentials{}, false)
	if ok || !strings.Contains(reason, `claim email does not name unknown user "mallory"`) || len(calls) != 0 {
		t.Errorf("other name: ok = %v, reason %q, %d calls", ok, reason, len(calls))
	}

	// An invalid token creates nobody either.
	ok, _, _ = on.VerifyToken(ctx, userConn("nina@example.test"), token[:len(token)-4]+"AAAA", Credentials{}, false)
	if ok || len(calls) != 0 {
		t.Errorf("forged token: ok = %v, %d calls", ok, len(calls))
	}

	failing := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, TrustedIssuers: []string{testIssuer}, AutoProvision: true,
		IdentityClaim: IdentityClaimEmail,
		Provision: func(context.Context, string, string, string, string) error {
			return errors.New("store unavailable")
		}})
	ok, reason, err = failing.VerifyToken(ctx, userConn("nina@example.test"), token, Credentials{}, false)
	if ok || err != nil || !strings.Contains(reason, "auto-provisioning failed") {
		t.Errorf("failing hook: ok = %v, reason %q, err %v; want a rejection", ok, reason, err)
	}
}

func TestJWTConfigValidation(t *testing.T) {
	k := keys(t)
	pemPath := writePublicPEM(t, &k.p256.PublicKey)
	privateDER, err := x509.MarshalPKCS8PrivateKey(k.p256)
	if err != nil {
		t.Fatal(err)
	}
	privatePath := filepath.Join(t.TempDir(), "private.pem")
	if err := os.WriteFile(privatePath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privateDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPath := writePublicPEM(t, &small.PublicKey)
	emptyJWKS := filepath.Join(t.TempDir(), "empty.json")
	writeJWKS(t, emptyJWKS)

	cases := []struct {
		name string
		cfg  JWTConfig
		want string
	}{
		{"no key", JWTConfig{}, "Secret: no key configured"},
		{"short secret", JWTConfig{Secret: []byte("short")}, "Secret: the secret is 5 bytes long but must be at least 32"},
		{"default role dba", JWTConfig{Secret: testJWTSecret, DefaultRole: "dba"}, `DefaultRole: "dba" is not allowed`},
		{"default role system", JWTConfig{Secret: testJWTSecret, DefaultRole: "system"}, `DefaultRole: "system" is not allowed`},
		{"default role unknown", JWTConfig{Secret: testJWTSecret, DefaultRole: "admin"}, `DefaultRole: "admin" is not a role`},
		{"identity claim", JWTConfig{Secret: testJWTSecret, IdentityClaim: "name"}, `IdentityClaim: "name" is not supported`},
		{"max token bytes", JWTConfig{Secret: testJWTSecret, MaxTokenBytes: -1}, "MaxTokenBytes: -1 is negative"},
		{"leeway", JWTConfig{Secret: testJWTSecret, Leeway: 2 * time.Hour}, "Leeway: 2h0m0s is more than one hour"},
		{"public key without issuers", JWTConfig{PublicKeyFiles: []string{pemPath}}, "TrustedIssuers: must list"},
		{"empty issuer", JWTConfig{Secret: testJWTSecret, TrustedIssuers: []string{" "}}, "TrustedIssuers: contains an empty issuer"},
		{"auto-provision without issuers", JWTConfig{Secret: testJWTSecret, AutoProvision: true}, "AutoProvision: needs TrustedIssuers"},
		{"private key file", JWTConfig{PublicKeyFiles: []string{privatePath}, TrustedIssuers: []string{testIssuer}}, "PublicKeyFiles: " + privatePath + " block 1: the file contains a PRIVATE KEY block"},
		{"small RSA key", JWTConfig{PublicKeyFiles: []string{smallPath}, TrustedIssuers: []string{testIssuer}}, "RSA key has 1024 bits"},
		{"missing key file", JWTConfig{PublicKeyFiles: []string{"/nonexistent/key.pem"}, TrustedIssuers: []string{testIssuer}}, "PublicKeyFiles: reading public key file"},
		{"JWKS without keys", JWTConfig{JWKSFile: emptyJWKS, TrustedIssuers: []string{testIssuer}}, "JWKSFile: JWKS file " + emptyJWKS + " contains no usable signing key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewJWTVerifier(tc.cfg, nil)
			if err == nil {
				t.Fatalf("NewJWTVerifier succeeded, want an error containing %q", tc.want)
			}
			assertPGErrorContains(t, err, pgcode.InvalidParameterValue, tc.want)
			if strings.Contains(err.Error(), string(testJWTSecret)) {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}

func assertPGErrorContains(t *testing.T, err error, code pgcode.Code, want string) {
	t.Helper()
	if got := pgerror.GetCode(err); got != code {
		t.Errorf("SQLSTATE = %s, want %s (error %v)", got, code, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
}

// jwtExchange is an Exchange that sends a token as the cleartext password.
type jwtExchange struct{ token string }

func (e jwtExchange) RequestPassword() (string, error) { return e.token, nil }
func (jwtExchange) StartSASL([]string) (string, []byte, error) {
	return "", nil, errors.New("unexpected SASL")
}
func (jwtExchange) ContinueSASL([]byte) ([]byte, error) { return nil, errors.New("unexpected SASL") }
func (jwtExchange) FinishSASL([]byte) error             { return errors.New("unexpected SASL") }

// The Authenticator applies the source rule of internal users to tokens:
// a valid token for root from a remote address needs remote access.
func TestJWTInternalUserFromRemote(t *testing.T) {
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret})
	store := &mapStore{users: map[string]Credentials{
		"root":   {AuthType: AuthInternal},
		"helper": {AuthType: AuthInternal, AllowRemote: true},
	}}
	token := func(user string) string {
		claims := validClaims()
		claims["sub"] = user
		return sign(t, jwt.SigningMethodHS256, testJWTSecret, "", claims)
	}

	for _, allowRemote := range []bool{false, true} {
		a, err := NewAuthenticator(Config{BcryptCost: 4, ServerSecret: testSecret, TokenVerifier: v, AllowRemoteAccess: allowRemote})
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Authenticate(context.Background(), jwtConn("root"), store, jwtExchange{token("root")})
		if allowRemote {
			if err != nil {
				t.Errorf("root with remote access on: %v (%+v)", err, res)
			}
			continue
		}
		assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "root"`)
		if res.Reason != ReasonRemoteInternal {
			t.Errorf("root without remote access: reason %q, want %q", res.Reason, ReasonRemoteInternal)
		}

		if _, err := a.Authenticate(context.Background(), jwtConn("helper"), store, jwtExchange{token("helper")}); err != nil {
			t.Errorf("helper with allow_remote: %v", err)
		}
	}
}

// A provisioned user logs in, and an unknown user whose token the verifier
// accepts without provisioning does not.
func TestJWTAuthenticateProvisioned(t *testing.T) {
	provisioned := map[string]bool{}
	v := newTestVerifier(t, JWTConfig{Secret: testJWTSecret, TrustedIssuers: []string{testIssuer}, AutoProvision: true,
		Provision: func(_ context.Context, name, _, _, _ string) error {
			provisioned[name] = true
			return nil
		}})
	a, err := NewAuthenticator(Config{BcryptCost: 4, ServerSecret: testSecret, TokenVerifier: v})
	if err != nil {
		t.Fatal(err)
	}
	store := &mapStore{users: map[string]Credentials{}}
	token := sign(t, jwt.SigningMethodHS256, testJWTSecret, "", validClaims())

	res, err := a.Authenticate(context.Background(), jwtConn("alice"), store, jwtExchange{token})
	if err != nil {
		t.Fatalf("provisioned login failed: %v (%+v)", err, res)
	}
	if !provisioned["alice"] {
		t.Error("alice was not provisioned")
	}

	res, err = a.Authenticate(context.Background(), jwtConn("bob"), store, jwtExchange{token})
	assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "bob"`)
	if res.Reason != ReasonUnknownUser {
		t.Errorf("bob: reason %q, want %q", res.Reason, ReasonUnknownUser)
	}
}
