package security

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzJWTFront feeds arbitrary strings through the header and claims
// decoding that runs before any signature check, and through VerifyToken
// with HS256, PEM and JWKS keys configured. It asserts that nothing panics
// and that no such string is accepted or echoed in the reason.
func FuzzJWTFront(f *testing.F) {
	k := keys(f)
	jwksPath := filepath.Join(f.TempDir(), "jwks.json")
	writeJWKS(f, jwksPath, jwkOf("rsa-1", &k.rsa1.PublicKey), jwkOf("ec-1", &k.p256.PublicKey))
	v := newTestVerifier(f, JWTConfig{
		Secret:         testJWTSecret,
		PublicKeyFiles: []string{writePublicPEM(f, k.ed.Public())},
		JWKSFile:       jwksPath,
		TrustedIssuers: []string{testIssuer},
		Audience:       "pgkeep",
	})

	valid := sign(f, jwt.SigningMethodHS256, testJWTSecret, "", validClaims())
	f.Add(valid)
	f.Add(sign(f, jwt.SigningMethodRS256, k.rsa1, "rsa-1", validClaims()))
	f.Add(sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", validClaims()))
	f.Add("")
	f.Add("..")
	f.Add("e30.e30.")
	f.Add(b64([]byte(`{"alg":"RS256","kid":["x"]}`)) + ".e30.c2ln")
	f.Add(b64([]byte(`{"alg":"ES256","kid":"ec-1"}`)) + "." + b64([]byte(`{"exp":1e400,"aud":[1]}`)) + ".AAAA")
	f.Add(b64([]byte(`{"alg":"HS256","crit":null}`)) + "." + b64([]byte(`{"exp":"x"}`)) + ".")

	f.Fuzz(func(t *testing.T, token string) {
		if header, err := decodeJWTHeader(token); err == nil && header.Alg == "" {
			t.Fatalf("decodeJWTHeader(%q) accepted a header without alg", token)
		}
		var claims tokenClaims
		_, _, _ = jwt.NewParser().ParseUnverified(token, &claims)

		ok, reason, err := v.VerifyToken(context.Background(), userConn("alice"), token, passwordUser, true)
		if err != nil {
			t.Fatalf("VerifyToken(%q) error: %v", token, err)
		}
		// The seeds include one valid token. Anything else a fuzzer builds
		// without the keys must fail.
		if ok && token != valid {
			t.Fatalf("VerifyToken accepted %q", token)
		}
		if !ok && len(token) >= 16 && strings.Contains(reason, token) {
			t.Fatalf("reason %q contains the token", reason)
		}
	})
}
