package security

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

const testPassword = "s3cret-Pass"

// testStore returns a store with one user of each kind, all with testPassword
// where they have a password.
func testStore(t *testing.T, a *Authenticator) *mapStore {
	t.Helper()
	bcryptHash, verifier, err := a.HashPassword(testPassword)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	return &mapStore{users: map[string]Credentials{
		"alice":        {AuthType: AuthPassword, BcryptHash: bcryptHash, SCRAMVerifier: verifier},
		"scramonly":    {AuthType: AuthPassword, SCRAMVerifier: verifier},
		"bcryptonly":   {AuthType: AuthPassword, BcryptHash: bcryptHash},
		"nopassword":   {AuthType: AuthPassword},
		"deleted":      {AuthType: AuthPassword, BcryptHash: bcryptHash, SCRAMVerifier: verifier, Deleted: true},
		"oauthuser":    {AuthType: AuthOAuth, SCRAMVerifier: verifier},
		"internal":     {AuthType: AuthInternal, BcryptHash: bcryptHash, SCRAMVerifier: verifier},
		"internalrem":  {AuthType: AuthInternal, BcryptHash: bcryptHash, SCRAMVerifier: verifier, AllowRemote: true},
		"internalnopw": {AuthType: AuthInternal, AllowRemote: true},
		"badverifier":  {AuthType: AuthPassword, SCRAMVerifier: "SCRAM-SHA-256$x"},
		"weirdtype":    {AuthType: "ldap", SCRAMVerifier: verifier},
	}}
}

func remoteConn(user string) ConnInfo {
	return ConnInfo{User: user, Database: "db", Source: SourceRemote, RemoteAddr: "192.0.2.10:5000"}
}

func TestSCRAMCorrectPassword(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	for _, user := range []string{"alice", "scramonly", "internalrem"} {
		t.Run(user, func(t *testing.T) {
			ex := newSCRAMClientExchange(t, "", testPassword)
			res, err := a.Authenticate(context.Background(), remoteConn(user), store, ex)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if res.Method != MethodSCRAMSHA256 || res.Reason != "" {
				t.Errorf("result = %+v, want scram-sha-256 without reason", res)
			}
			if len(ex.offered) != 1 || ex.offered[0] != "SCRAM-SHA-256" {
				t.Errorf("offered mechanisms = %q, want [SCRAM-SHA-256]", ex.offered)
			}
			if !ex.finished {
				t.Fatal("FinishSASL was not called")
			}
			if ex.clientErr != nil {
				t.Errorf("client rejected the server: %v", ex.clientErr)
			}
			if !ex.conv.Valid() {
				t.Error("client did not accept the server signature")
			}
		})
	}
}

// TestFailuresIdentical checks that every failing SCRAM login runs the
// complete exchange and ends in the same error, whatever the reason.
func TestFailuresIdentical(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	cases := []struct {
		name, user, password string
		reason               string
	}{
		{"wrong password", "alice", "wrong", ReasonWrongPassword},
		{"unknown user", "nobody", testPassword, ReasonUnknownUser},
		{"deleted user", "deleted", testPassword, ReasonUserDeleted},
		{"oauth user", "oauthuser", testPassword, ReasonOAuthUser},
		{"internal from remote", "internal", testPassword, ReasonRemoteInternal},
		{"internal without password", "internalnopw", testPassword, ReasonNoPassword},
		{"no password", "nopassword", testPassword, ReasonNoPassword},
		{"bcrypt only", "bcryptonly", testPassword, ReasonNoSCRAMVerifier},
		{"invalid verifier", "badverifier", testPassword, ReasonInvalidSCRAMSecret},
		{"unknown auth type", "weirdtype", testPassword, ReasonUnknownAuthType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex := newSCRAMClientExchange(t, "", tc.password)
			res, err := a.Authenticate(context.Background(), remoteConn(tc.user), store, ex)
			pe := assertPGError(t, err, pgcode.InvalidPassword,
				`password authentication failed for user "`+tc.user+`"`)
			if pe.Detail != "" || pe.Hint != "" {
				t.Errorf("detail %q, hint %q: want both empty", pe.Detail, pe.Hint)
			}
			if res.Method != MethodSCRAMSHA256 {
				t.Errorf("method = %q, want scram-sha-256", res.Method)
			}
			if res.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", res.Reason, tc.reason)
			}
			if ex.serverFirst == "" {
				t.Error("the exchange stopped before the server-first-message")
			}
			if ex.finished {
				t.Error("FinishSASL was called for a failed login")
			}
		})
	}
}

func TestInternalRemoteAccess(t *testing.T) {
	open, err := NewAuthenticator(Config{BcryptCost: 4, ServerSecret: testSecret, AllowRemoteAccess: true})
	if err != nil {
		t.Fatal(err)
	}
	closed := newTestAuthenticator(t, "")
	store := testStore(t, closed)

	cases := []struct {
		name  string
		a     *Authenticator
		user  string
		allow bool
	}{
		{"global switch on", open, "internal", true},
		{"per-user switch on", closed, "internalrem", true},
		{"both off", closed, "internal", false},
		{"on but no password", open, "internalnopw", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex := newSCRAMClientExchange(t, "", testPassword)
			res, err := tc.a.Authenticate(context.Background(), remoteConn(tc.user), store, ex)
			if tc.allow {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if res.Method != MethodSCRAMSHA256 {
					t.Errorf("method = %q, want scram-sha-256", res.Method)
				}
				return
			}
			assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "`+tc.user+`"`)
		})
	}
}

func TestTrustInternalLocal(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	for _, source := range []Source{SourceLocal, SourceLoopback} {
		for _, user := range []string{"internal", "internalnopw"} {
			t.Run(source.String()+"/"+user, func(t *testing.T) {
				ci := ConnInfo{User: user, Database: "db", Source: source}
				res, err := a.Authenticate(context.Background(), ci, store, noExchange{t})
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if res.Method != MethodTrust {
					t.Errorf("method = %q, want trust", res.Method)
				}
			})
		}
	}
}

// TestLocalNonInternalNeedsPassword checks that trust is only for internal
// users: other users and deleted internal users run the password method on a
// unix socket too.
func TestLocalNonInternalNeedsPassword(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)
	store.users["deletedinternal"] = Credentials{AuthType: AuthInternal, Deleted: true}

	for _, user := range []string{"alice", "nobody", "deletedinternal"} {
		t.Run(user, func(t *testing.T) {
			ex := newSCRAMClientExchange(t, "", "wrong")
			ci := ConnInfo{User: user, Source: SourceLocal}
			res, err := a.Authenticate(context.Background(), ci, store, ex)
			assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "`+user+`"`)
			if res.Method != MethodSCRAMSHA256 {
				t.Errorf("method = %q, want scram-sha-256", res.Method)
			}
		})
	}
}

// TestMockExchangeShape checks that the server-first-message for an unknown
// user looks like one for a real user, and that its salt is stable per name.
func TestMockExchangeShape(t *testing.T) {
	a, err := NewAuthenticator(Config{BcryptCost: 4, ServerSecret: testSecret, SCRAMIterations: 5000})
	if err != nil {
		t.Fatal(err)
	}
	store := testStore(t, a)

	serverFirst := func(a *Authenticator, user string) (offered []string, salt []byte, iterations int) {
		t.Helper()
		ex := newSCRAMClientExchange(t, "", "wrong")
		_, _ = a.Authenticate(context.Background(), remoteConn(user), store, ex)
		_, salt, iterations = serverFirstFields(t, ex.serverFirst)
		return ex.offered, salt, iterations
	}

	realOffered, realSalt, realIterations := serverFirst(a, "alice")
	ghostOffered, ghostSalt, ghostIterations := serverFirst(a, "ghost")
	_, ghostSaltAgain, _ := serverFirst(a, "ghost")
	_, otherGhostSalt, _ := serverFirst(a, "ghost2")
	_, deletedSalt, deletedIterations := serverFirst(a, "deleted")

	if strings.Join(ghostOffered, ",") != strings.Join(realOffered, ",") {
		t.Errorf("mechanisms for unknown user %q differ from real user %q", ghostOffered, realOffered)
	}
	if ghostIterations != 5000 || realIterations != 5000 || deletedIterations != 5000 {
		t.Errorf("iterations: unknown %d, real %d, deleted %d; want 5000 for all", ghostIterations, realIterations, deletedIterations)
	}
	if len(ghostSalt) != len(realSalt) {
		t.Errorf("mock salt is %d bytes, real salt %d", len(ghostSalt), len(realSalt))
	}
	if !bytes.Equal(ghostSalt, ghostSaltAgain) {
		t.Error("mock salt changed between two logins of the same name")
	}
	if bytes.Equal(ghostSalt, otherGhostSalt) {
		t.Error("two names got the same mock salt")
	}
	if bytes.Equal(deletedSalt, realSalt) {
		t.Error("deleted user got a real salt instead of a mock one")
	}

	// Another server secret gives other salts.
	other, err := NewAuthenticator(Config{BcryptCost: 4, ServerSecret: bytes.Repeat([]byte{7}, 32), SCRAMIterations: 5000})
	if err != nil {
		t.Fatal(err)
	}
	_, ghostSaltOtherSecret, _ := serverFirst(other, "ghost")
	if bytes.Equal(ghostSalt, ghostSaltOtherSecret) {
		t.Error("mock salt does not depend on the server secret")
	}
}

// TestSCRAMUsernameIgnored checks that the SCRAM username attribute plays no
// part: the startup user is looked up and authenticated.
func TestSCRAMUsernameIgnored(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)
	store.users["mallory"] = Credentials{AuthType: AuthPassword, SCRAMVerifier: store.users["alice"].SCRAMVerifier}

	for _, saslUser := range []string{"", "*", "mallory", "nobody", "a=2Cb"} {
		t.Run("n="+saslUser, func(t *testing.T) {
			store.lookups = nil
			ex := newSCRAMClientExchange(t, saslUser, testPassword)
			if _, err := a.Authenticate(context.Background(), remoteConn("alice"), store, ex); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if len(store.lookups) != 1 || store.lookups[0] != "alice" {
				t.Errorf("lookups = %q, want [alice]", store.lookups)
			}
		})
	}

	// A malformed '=' escape in the ignored attribute is accepted, as in
	// PostgreSQL.
	ex := &scriptedExchange{mechanism: scramSHA256Mechanism, clientFirst: []byte("n,,n=x=zz,r=abc")}
	ex.clientFinal = func(serverFirst string) []byte {
		return []byte(handClientFinal(t, testPassword, "n,,", "n=x=zz,r=abc", serverFirst))
	}
	if _, err := a.Authenticate(context.Background(), remoteConn("alice"), store, ex); err != nil {
		t.Fatalf("Authenticate with n=x=zz: %v", err)
	}
}

func TestSCRAMNoncePunctuation(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	client, err := scram.SHA256.NewClientUnprepped("", testPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	client = client.WithNonceGenerator(func() string { return `)|^?\!"#$%&'()*+-./:;<=>@[]_{}~` })
	ex := newSCRAMClientExchangeWith(t, client)
	if _, err := a.Authenticate(context.Background(), remoteConn("alice"), store, ex); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if !strings.HasPrefix(ex.serverFirst, `r=)|^?\`) {
		t.Errorf("server nonce %q does not extend the client nonce", ex.serverFirst)
	}
	if !ex.conv.Valid() {
		t.Error("client did not accept the server signature")
	}
}

// TestSCRAMFlagY checks the gs2 flag 'y' (client supports channel binding but
// finds none offered), whose final message carries c=eSws.
func TestSCRAMFlagY(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	ex := &scriptedExchange{mechanism: scramSHA256Mechanism, clientFirst: []byte("y,,n=,r=clientnonce")}
	ex.clientFinal = func(serverFirst string) []byte {
		return []byte(handClientFinal(t, testPassword, "y,,", "n=,r=clientnonce", serverFirst))
	}
	res, err := a.Authenticate(context.Background(), remoteConn("alice"), store, ex)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if res.Method != MethodSCRAMSHA256 || !ex.finished {
		t.Errorf("result %+v, finished %v: want a finished scram-sha-256 login", res, ex.finished)
	}
	if !strings.HasPrefix(string(ex.serverFinal), "v=") {
		t.Errorf("server-final-message %q does not start with v=", ex.serverFinal)
	}
}

// TestSCRAMNoInitialResponse checks that a SASLInitialResponse without data
// gets an empty challenge, after which the client-first-message comes.
func TestSCRAMNoInitialResponse(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	ex := &scriptedExchange{mechanism: scramSHA256Mechanism, clientFirst: nil}
	ex.clientFinal = func(serverFirst string) []byte {
		return []byte(handClientFinal(t, testPassword, "n,,", "n=,r=abc", serverFirst))
	}
	if _, err := a.Authenticate(context.Background(), remoteConn("alice"), store, ex); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if len(ex.continues) != 2 {
		t.Fatalf("got %d SASLContinue messages, want 2", len(ex.continues))
	}
	if len(ex.continues[0]) != 0 {
		t.Errorf("first challenge = %q, want empty", ex.continues[0])
	}
	if !strings.HasPrefix(string(ex.continues[1]), "r=abc") {
		t.Errorf("second challenge = %q, want the server-first-message", ex.continues[1])
	}
}

// TestSCRAMProtocolErrors checks the errors for malformed client messages.
// The expected values are what PostgreSQL 15.18 sent for the same input over
// a connection without TLS.
func TestSCRAMProtocolErrors(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	const malformed = "malformed SCRAM message"
	cases := []struct {
		name        string
		mechanism   string
		clientFirst string
		// final rewrites a correct client-final-message; nil means the error
		// comes from the client-first-message.
		final   func(string) string
		code    pgcode.Code
		message string
		detail  string
	}{
		{"channel binding p", "", "p=tls-server-end-point,,n=,r=abc", nil, pgcode.ProtocolViolation, malformed,
			"The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data."},
		{"unknown mechanism", "FOO", "n,,n=,r=abc", nil, pgcode.ProtocolViolation, "client selected an invalid SASL authentication mechanism", ""},
		{"PLUS mechanism", "SCRAM-SHA-256-PLUS", "n,,n=,r=abc", nil, pgcode.ProtocolViolation, "client selected an invalid SASL authentication mechanism", ""},
		{"authzid", "", "n,a=x,n=,r=abc", nil, pgcode.FeatureNotSupported, "client uses authorization identity, but it is not supported", ""},
		{"space in nonce", "", "n,,n=,r=ab c", nil, pgcode.ProtocolViolation, "non-printable characters in SCRAM nonce", ""},
		{"non-ASCII nonce", "", "n,,n=,r=ab\u00e9", nil, pgcode.ProtocolViolation, "non-printable characters in SCRAM nonce", ""},
		{"bad flag", "", "x,,n=,r=abc", nil, pgcode.ProtocolViolation, malformed, `Unexpected channel-binding flag "'x'".`},
		{"flag only", "", "n", nil, pgcode.ProtocolViolation, malformed, `Comma expected, but found character "0x00".`},
		{"empty", "", "", nil, pgcode.ProtocolViolation, malformed, "The message is empty."},
		{"NUL byte", "", "n,,n=\x00,r=abc", nil, pgcode.ProtocolViolation, malformed, "Message length does not match input length."},
		{"mandatory extension", "", "n,,m=x,n=,r=abc", nil, pgcode.FeatureNotSupported, "client requires an unsupported SCRAM extension", ""},
		{"missing username", "", "n,,r=abc", nil, pgcode.ProtocolViolation, malformed, `Expected attribute "n" but found "'r'".`},
		{"bad extension", "", "n,,n=,r=abc,1=x", nil, pgcode.ProtocolViolation, malformed, `Attribute expected, but found invalid character "'1'".`},
		{"missing nonce", "", "n,,n=", nil, pgcode.ProtocolViolation, malformed, `Expected attribute "r" but found "0x00".`},

		{"wrong channel binding", "", "n,,n=,r=abc", func(s string) string { return strings.Replace(s, "c=biws", "c=eSws", 1) },
			pgcode.ProtocolViolation, "unexpected SCRAM channel-binding attribute in client-final-message", ""},
		{"nonce mismatch", "", "n,,n=,r=abc", func(s string) string { return strings.Replace(s, "r=", "r=X", 1) },
			pgcode.ProtocolViolation, "invalid SCRAM response", "Nonce does not match."},
		{"garbage after proof", "", "n,,n=,r=abc", func(s string) string { return s + ",x=1" },
			pgcode.ProtocolViolation, malformed, "Garbage found at the end of client-final-message."},
		{"short proof", "", "n,,n=,r=abc", func(s string) string { return s[:strings.Index(s, ",p=")] + ",p=AAAA" },
			pgcode.ProtocolViolation, malformed, "Malformed proof in client-final-message."},
		{"missing proof", "", "n,,n=,r=abc", func(s string) string { return s[:strings.Index(s, ",p=")] },
			pgcode.ProtocolViolation, malformed, "Attribute expected, but found end of string."},
		{"empty final", "", "n,,n=,r=abc", func(string) string { return "" },
			pgcode.ProtocolViolation, malformed, "The message is empty."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mechanism := tc.mechanism
			if mechanism == "" {
				mechanism = scramSHA256Mechanism
			}
			ex := &scriptedExchange{mechanism: mechanism, clientFirst: []byte(tc.clientFirst)}
			ex.clientFinal = func(serverFirst string) []byte {
				if tc.final == nil {
					t.Error("the client-first-message was accepted")
					return nil
				}
				correct := handClientFinal(t, testPassword, "n,,", "n=,r=abc", serverFirst)
				return []byte(tc.final(correct))
			}
			res, err := a.Authenticate(context.Background(), remoteConn("alice"), store, ex)
			pe := assertPGError(t, err, tc.code, tc.message)
			if pe.Detail != tc.detail {
				t.Errorf("detail = %q, want %q", pe.Detail, tc.detail)
			}
			if res.Reason != tc.message {
				t.Errorf("reason = %q, want %q", res.Reason, tc.message)
			}
			if ex.finished {
				t.Error("FinishSASL was called")
			}
		})
	}
}

func TestLookupError(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := &mapStore{err: errors.New("disk on fire")}

	res, err := a.Authenticate(context.Background(), remoteConn("alice"), store, noExchange{t})
	assertPGError(t, err, pgcode.InternalError, `looking up credentials of user "alice": disk on fire`)
	if res.Reason != ReasonLookupFailed {
		t.Errorf("reason = %q, want %q", res.Reason, ReasonLookupFailed)
	}
}

// eofExchange fails every call as a closed connection would.
type eofExchange struct{}

func (eofExchange) RequestPassword() (string, error)           { return "", io.EOF }
func (eofExchange) StartSASL([]string) (string, []byte, error) { return "", nil, io.EOF }
func (eofExchange) ContinueSASL([]byte) ([]byte, error)        { return nil, io.EOF }
func (eofExchange) FinishSASL([]byte) error                    { return io.EOF }

func TestExchangeErrorWrapped(t *testing.T) {
	for _, method := range []string{PasswordMethodSCRAMSHA256, PasswordMethodPassword} {
		t.Run(method, func(t *testing.T) {
			a := newTestAuthenticator(t, method)
			_, err := a.Authenticate(context.Background(), remoteConn("alice"), testStore(t, a), eofExchange{})
			if !errors.Is(err, io.EOF) {
				t.Errorf("error %v does not wrap io.EOF", err)
			}
			if code := pgerror.GetCode(err); code != pgcode.ProtocolViolation {
				t.Errorf("SQLSTATE = %s, want 08P01", code)
			}
		})
	}

	// An error that already has a SQLSTATE passes through unchanged.
	a := newTestAuthenticator(t, "")
	sent := pgerror.New(pgcode.ProtocolViolation, "expected SASL response, got message type 81")
	ex := &errorExchange{err: sent}
	_, err := a.Authenticate(context.Background(), remoteConn("alice"), testStore(t, a), ex)
	if err != sent {
		t.Errorf("error = %v, want the Exchange error unchanged", err)
	}
}

type errorExchange struct{ err error }

func (e *errorExchange) RequestPassword() (string, error)           { return "", e.err }
func (e *errorExchange) StartSASL([]string) (string, []byte, error) { return "", nil, e.err }
func (e *errorExchange) ContinueSASL([]byte) ([]byte, error)        { return nil, e.err }
func (e *errorExchange) FinishSASL([]byte) error                    { return e.err }

// TestErrorsHideSecrets checks that no failure puts the password, the stored
// forms, the nonces or the proof into the error or the result.
func TestErrorsHideSecrets(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)
	alice := store.users["alice"]
	verifier, err := ParseSCRAMVerifier(alice.SCRAMVerifier)
	if err != nil {
		t.Fatal(err)
	}

	for _, user := range []string{"alice", "nobody", "deleted", "internal"} {
		ex := newSCRAMClientExchange(t, "", "wrong-password-123")
		var clientFinal string
		ex.rewriteFinal = func(s string) string { clientFinal = s; return s }
		res, err := a.Authenticate(context.Background(), remoteConn(user), store, ex)
		pe, _ := pgerror.Flatten(err)
		text := strings.Join([]string{pe.Message, pe.Detail, pe.Hint, res.Reason, res.Method}, "\n")

		nonce, _, _ := serverFirstFields(t, ex.serverFirst)
		proof := clientFinal[strings.Index(clientFinal, ",p=")+3:]
		secrets := []string{"wrong-password-123", testPassword, alice.BcryptHash, alice.SCRAMVerifier,
			verifier.String()[len("SCRAM-SHA-256$4096:"):], nonce, proof}
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("user %s: error or result contains a secret: %q", user, text)
			}
		}
	}
}
