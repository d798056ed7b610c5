package node_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgkeep/pgkeep/security"
	"github.com/pgkeep/pgkeep/server"
)

const (
	e2eIssuer   = "https://idp.pgkeep.test"
	e2eAudience = "pgkeep-e2e"
	jwtOptions  = "-c pgkeep.auth=jwt"
)

var e2eSecret = []byte("e2e-jwt-secret-0123456789abcdefghijkl")

// jwtConfig returns a pgx configuration that sends password as a token
// under the jwt method.
func (tn *testNode) jwtConfig(t *testing.T, user, password string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(tn.tcpConnString(user, ""))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = password
	cfg.RuntimeParams["options"] = jwtOptions
	return cfg
}

// connectJWT logs in as user with token and returns the current user.
func (tn *testNode) connectJWT(t *testing.T, user, token string) (string, error) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, tn.jwtConfig(t, user, token))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var current string
	err = conn.QueryRow(ctx, "SELECT current_user").Scan(&current)
	return current, err
}

func e2eClaims(sub string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": e2eIssuer,
		"sub": sub,
		"aud": e2eAudience,
		"iat": now.Add(-time.Minute).Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

func signE2E(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	token := jwt.NewWithClaims(method, claims)
	if kid != "" {
		token.Header["kid"] = kid
	}
	s, err := token.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeRSAJWKS(t *testing.T, path string, keys map[string]*rsa.PrivateKey) {
	t.Helper()
	var entries []map[string]string
	for kid, k := range keys {
		entries = append(entries, map[string]string{
			"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
		})
	}
	data, err := json.Marshal(map[string]any{"keys": entries})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustExec(t *testing.T, tn *testNode, sql string) {
	t.Helper()
	ctx := context.Background()
	admin := tn.connect(ctx, tn.socketConnString("root"))
	if _, err := admin.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// e2eKeys are the asymmetric keys of the JWT end-to-end test.
type e2eKeys struct {
	rsaOld, rsaNew *rsa.PrivateKey
	ec             *ecdsa.PrivateKey
	jwksPath       string
	ecPEMPath      string
}

func newE2EKeys(t *testing.T) *e2eKeys {
	t.Helper()
	k := &e2eKeys{jwksPath: filepath.Join(t.TempDir(), "jwks.json"), ecPEMPath: filepath.Join(t.TempDir(), "ec.pem")}
	var err error
	if k.rsaOld, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.rsaNew, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.ecPEMPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	writeRSAJWKS(t, k.jwksPath, map[string]*rsa.PrivateKey{"old": k.rsaOld})
	return k
}

// startJWTNode starts a node whose verifier accepts HS256 tokens signed with
// e2eSecret, ES256 tokens of keys.ec and RS256 tokens of the JWKS file.
func startJWTNode(t *testing.T, keys *e2eKeys, autoProvision bool) *testNode {
	t.Helper()
	verifier, err := security.NewJWTVerifier(security.JWTConfig{
		Secret:         e2eSecret,
		PublicKeyFiles: []string{keys.ecPEMPath},
		JWKSFile:       keys.jwksPath,
		TrustedIssuers: []string{e2eIssuer},
		Audience:       e2eAudience,
		AutoProvision:  autoProvision,
	}, nil)
	if err != nil {
		t.Fatalf("NewJWTVerifier: %v", err)
	}
	return startNodeWithAuth(t, server.TestingKnobs{}, security.Config{TokenVerifier: verifier})
}

func TestJWTLoginPgx(t *testing.T) {
	keys := newE2EKeys(t)
	tn := startJWTNode(t, keys, false)
	mustExec(t, tn, "CREATE USER alice WITH PASSWORD 'Alice-pass-12345'")

	hs := signE2E(t, jwt.SigningMethodHS256, e2eSecret, "", e2eClaims("alice"))
	if user, err := tn.connectJWT(t, "alice", hs); err != nil || user != "alice" {
		t.Fatalf("HS256 login: user %q, err %v", user, err)
	}

	es := signE2E(t, jwt.SigningMethodES256, keys.ec, "", e2eClaims("alice"))
	if user, err := tn.connectJWT(t, "alice", es); err != nil || user != "alice" {
		t.Fatalf("ES256 login: user %q, err %v", user, err)
	}

	// RS256 from the JWKS file, with the keys rotated between logins.
	oldToken := signE2E(t, jwt.SigningMethodRS256, keys.rsaOld, "old", e2eClaims("alice"))
	newToken := signE2E(t, jwt.SigningMethodRS256, keys.rsaNew, "new", e2eClaims("alice"))
	if _, err := tn.connectJWT(t, "alice", oldToken); err != nil {
		t.Fatalf("RS256 login with the old key: %v", err)
	}
	assertWrongPassword(t, "new key before rotation", "alice", tn.connectJWTErr(t, "alice", newToken))

	writeRSAJWKS(t, keys.jwksPath, map[string]*rsa.PrivateKey{"new": keys.rsaNew})
	if _, err := tn.connectJWT(t, "alice", newToken); err != nil {
		t.Fatalf("RS256 login with the new key after rotation: %v", err)
	}
	assertWrongPassword(t, "old key after rotation", "alice", tn.connectJWTErr(t, "alice", oldToken))

	// The password still works with the default method.
	conn := tn.connect(context.Background(), tn.tcpConnString("alice", "Alice-pass-12345"))
	_ = conn.Close(context.Background())

	if strings.Contains(tn.logs.String(), hs) || strings.Contains(tn.logs.String(), strings.Split(newToken, ".")[2]) {
		t.Error("the server log contains a token")
	}
}

func (tn *testNode) connectJWTErr(t *testing.T, user, token string) error {
	t.Helper()
	_, err := tn.connectJWT(t, user, token)
	return err
}

// assertWrongPassword checks that err is the FATAL 28P01 error of a wrong
// password for user, with nothing more.
func assertWrongPassword(t *testing.T, name, user string, err error) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("%s: error %v is not a server error", name, err)
	}
	want := pgconn.PgError{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "28P01",
		Message: `password authentication failed for user "` + user + `"`}
	got := *pgErr
	// Where the error was raised in the server's source is allowed to differ.
	got.File, got.Line, got.Routine = "", 0, ""
	if got != want {
		t.Errorf("%s: error = %+v, want %+v", name, got, want)
	}
}

func TestJWTRejectionsLookLikeWrongPassword(t *testing.T) {
	keys := newE2EKeys(t)
	tn := startJWTNode(t, keys, false)
	mustExec(t, tn, "CREATE USER alice WITH PASSWORD 'Alice-pass-12345'")
	mustExec(t, tn, "CREATE USER bob WITH PASSWORD 'Bob-pass-123456'")

	// The reference: a wrong password under the default method.
	_, err := pgx.Connect(context.Background(), tn.tcpConnString("alice", "wrong-password-1"))
	var reference *pgconn.PgError
	if !errors.As(err, &reference) {
		t.Fatalf("wrong password: %v", err)
	}
	reference.File, reference.Line, reference.Routine = "", 0, ""

	expired := e2eClaims("alice")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	notYet := e2eClaims("alice")
	notYet["nbf"] = time.Now().Add(time.Hour).Unix()
	wrongIssuer := e2eClaims("alice")
	wrongIssuer["iss"] = "https://evil.pgkeep.test"
	wrongAudience := e2eClaims("alice")
	wrongAudience["aud"] = "other"
	noExp := e2eClaims("alice")
	delete(noExp, "exp")
	der, err := x509.MarshalPKIXPublicKey(&keys.rsaOld.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	valid := signE2E(t, jwt.SigningMethodHS256, e2eSecret, "", e2eClaims("alice"))

	cases := []struct{ name, user, token string }{
		{"expired", "alice", signE2E(t, jwt.SigningMethodHS256, e2eSecret, "", expired)},
		{"nbf in future", "alice", signE2E(t, jwt.SigningMethodHS256, e2eSecret, "", notYet)},
		{"wrong issuer", "alice", signE2E(t, jwt.SigningMethodHS256, e2eSecret, "", wrongIssuer)},
		{"wrong audience", "alice", signE2E(t, jwt.SigningMethodHS256, e2eSecret, "", wrongAudience)},
		{"missing exp", "alice", signE2E(t, jwt.SigningMethodHS256, e2eSecret, "", noExp)},
		{"alg none", "alice", signE2E(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", e2eClaims("alice"))},
		{"HS256 with the RSA public key", "alice", signE2E(t, jwt.SigningMethodHS256, rsaPEM, "", e2eClaims("alice"))},
		{"wrong secret", "alice", signE2E(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdefghijk"), "", e2eClaims("alice"))},
		{"oversized", "alice", strings.Repeat("a", 20<<10)},
		{"malformed", "alice", "not.a.token"},
		{"token for another user", "bob", valid},
		{"unknown user", "nobody", valid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tn.connectJWTErr(t, tc.user, tc.token)
			assertWrongPassword(t, tc.name, tc.user, err)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				got := *pgErr
				got.File, got.Line, got.Routine = "", 0, ""
				want := *reference
				want.Message = strings.Replace(want.Message, `"alice"`, `"`+tc.user+`"`, 1)
				if got != want {
					t.Errorf("error = %+v, want the wrong-password error %+v", got, want)
				}
			}
		})
	}
	if strings.Contains(tn.logs.String(), strings.Split(valid, ".")[2]) {
		t.Error("the server log contains a token signature")
	}
	if !strings.Contains(tn.logs.String(), "token expired (exp)") {
		t.Error("the server log does not name the failed check of the expired token")
	}
}

func TestJWTLoginPsql(t *testing.T) {
	keys := newE2EKeys(t)
	tn := startJWTNode(t, keys, false)
	mustExec(t, tn, "CREATE USER alice WITH PASSWORD 'Alice-pass-12345'")

	token := signE2E(t, jwt.SigningMethodHS256, e2eSecret, "", e2eClaims("alice"))
	conn := fmt.Sprintf("host=127.0.0.1 port=%d user=alice dbname=postgres sslmode=disable", tn.port)
	out, err := tn.psql([]string{"PGOPTIONS=" + jwtOptions, "PGPASSWORD=" + token}, "-d", conn, "-c", "SELECT current_user")
	if err != nil || strings.TrimSpace(out) != "alice" {
		t.Fatalf("psql with a token: %v, output %q", err, out)
	}

	// A rejected token prints exactly what a wrong password prints.
	expired := e2eClaims("alice")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	badOut, err := tn.psql([]string{"PGOPTIONS=" + jwtOptions, "PGPASSWORD=" + signE2E(t, jwt.SigningMethodHS256, e2eSecret, "", expired)},
		"-d", conn, "-c", "SELECT 1")
	if err == nil {
		t.Fatalf("psql with an expired token succeeded: %q", badOut)
	}
	wrongOut, err := tn.psql([]string{"PGPASSWORD=wrong-password-1"}, "-d", conn, "-c", "SELECT 1")
	if err == nil {
		t.Fatalf("psql with a wrong password succeeded: %q", wrongOut)
	}
	if badOut != wrongOut {
		t.Errorf("psql output for an expired token:\n%s\nfor a wrong password:\n%s", badOut, wrongOut)
	}
	if !strings.Contains(badOut, `FATAL:  password authentication failed for user "alice"`) {
		t.Errorf("psql output %q lacks the 28P01 message", badOut)
	}
}

func TestJWTOAuthUser(t *testing.T) {
	keys := newE2EKeys(t)
	tn := startJWTNode(t, keys, false)
	mustExec(t, tn, `CREATE USER gina WITH OAUTH '{"provider": "`+e2eIssuer+`", "subject": "idp|4711"}'`)

	es := signE2E(t, jwt.SigningMethodES256, keys.ec, "", e2eClaims("idp|4711"))
	if user, err := tn.connectJWT(t, "gina", es); err != nil || user != "gina" {
		t.Fatalf("OAuth login: user %q, err %v", user, err)
	}

	// A token whose sub is the user name is not gina's.
	assertWrongPassword(t, "sub equal to the name", "gina",
		tn.connectJWTErr(t, "gina", signE2E(t, jwt.SigningMethodES256, keys.ec, "", e2eClaims("gina"))))
	// Without the jwt option gina has no password to log in with.
	_, err := pgx.Connect(context.Background(), tn.tcpConnString("gina", es))
	assertWrongPassword(t, "without the jwt option", "gina", err)
}

func TestJWTAutoProvision(t *testing.T) {
	keys := newE2EKeys(t)
	ctx := context.Background()

	off := startJWTNode(t, keys, false)
	token := signE2E(t, jwt.SigningMethodES256, keys.ec, "", e2eClaims("hana"))
	assertWrongPassword(t, "provisioning off", "hana", off.connectJWTErr(t, "hana", token))

	on := startJWTNode(t, keys, true)
	for i := range 2 {
		if user, err := on.connectJWT(t, "hana", token); err != nil || user != "hana" {
			t.Fatalf("login %d with provisioning: user %q, err %v", i+1, user, err)
		}
	}
	admin := on.connect(ctx, on.socketConnString("root"))
	var role, authType, provider, subject string
	err := admin.QueryRow(ctx, "SELECT role, auth_type, oauth_provider, oauth_subject FROM system.users WHERE username = 'hana'").
		Scan(&role, &authType, &provider, &subject)
	if err != nil {
		t.Fatal(err)
	}
	if role != "user" || authType != "oauth" || provider != e2eIssuer || subject != "hana" {
		t.Errorf("provisioned user: role %q, auth_type %q, provider %q, subject %q", role, authType, provider, subject)
	}

	// An invalid token creates nobody.
	expired := e2eClaims("ivan")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	assertWrongPassword(t, "expired token", "ivan",
		on.connectJWTErr(t, "ivan", signE2E(t, jwt.SigningMethodES256, keys.ec, "", expired)))
	var count int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM system.users WHERE username = 'ivan'").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 0 {
		t.Errorf("an expired token created user ivan")
	}
}
