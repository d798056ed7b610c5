package security

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// testSecret is the server secret of test authenticators.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// newTestAuthenticator returns an Authenticator with bcrypt cost 4, so tests
// run fast, and the given password method.
func newTestAuthenticator(t *testing.T, method string) *Authenticator {
	t.Helper()
	a, err := NewAuthenticator(Config{PasswordMethod: method, BcryptCost: 4, ServerSecret: testSecret})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	return a
}

// mapStore is a CredentialStore over a map. It records every name it is
// asked for.
type mapStore struct {
	users   map[string]Credentials
	err     error
	lookups []string
}

func (s *mapStore) LookupCredentials(_ context.Context, user string) (Credentials, bool, error) {
	s.lookups = append(s.lookups, user)
	if s.err != nil {
		return Credentials{}, false, s.err
	}
	creds, ok := s.users[user]
	return creds, ok, nil
}

// scramClientExchange is an Exchange that plays a real SCRAM client, the one
// of github.com/xdg-go/scram, and records what the server sent.
type scramClientExchange struct {
	t    *testing.T
	conv *scram.ClientConversation
	// mechanism is the mechanism the client chooses.
	mechanism string
	// rewriteFinal, when set, changes the client-final-message before it is
	// sent.
	rewriteFinal func(string) string

	offered     []string
	clientFirst string
	serverFirst string
	serverFinal string
	finished    bool
	clientErr   error
}

// newSCRAMClientExchange returns an exchange whose client sends saslUser as
// the SCRAM username attribute and password as the password.
func newSCRAMClientExchange(t *testing.T, saslUser, password string) *scramClientExchange {
	t.Helper()
	client, err := scram.SHA256.NewClientUnprepped(saslUser, password, "")
	if err != nil {
		t.Fatalf("NewClientUnprepped: %v", err)
	}
	return &scramClientExchange{t: t, conv: client.NewConversation(), mechanism: scramSHA256Mechanism}
}

// newSCRAMClientExchangeWith is newSCRAMClientExchange for a configured client.
func newSCRAMClientExchangeWith(t *testing.T, client *scram.Client) *scramClientExchange {
	return &scramClientExchange{t: t, conv: client.NewConversation(), mechanism: scramSHA256Mechanism}
}

func (e *scramClientExchange) RequestPassword() (string, error) {
	e.t.Error("RequestPassword called during a SCRAM exchange")
	return "", errors.New("unexpected RequestPassword")
}

func (e *scramClientExchange) StartSASL(mechanisms []string) (string, []byte, error) {
	e.offered = append([]string(nil), mechanisms...)
	first, err := e.conv.Step("")
	if err != nil {
		e.t.Fatalf("client-first-message: %v", err)
	}
	e.clientFirst = first
	return e.mechanism, []byte(first), nil
}

func (e *scramClientExchange) ContinueSASL(data []byte) ([]byte, error) {
	e.serverFirst = string(data)
	final, err := e.conv.Step(string(data))
	if err != nil {
		e.clientErr = err
		return nil, err
	}
	if e.rewriteFinal != nil {
		final = e.rewriteFinal(final)
	}
	return []byte(final), nil
}

func (e *scramClientExchange) FinishSASL(data []byte) error {
	e.finished = true
	e.serverFinal = string(data)
	if _, err := e.conv.Step(string(data)); err != nil {
		e.clientErr = err
	}
	return nil
}

// scriptedExchange is an Exchange that sends hand-written SCRAM messages.
type scriptedExchange struct {
	mechanism   string
	clientFirst []byte
	// clientFinal builds the client-final-message from the server-first-message.
	clientFinal func(serverFirst string) []byte

	continues   [][]byte
	serverFinal []byte
	finished    bool
}

func (e *scriptedExchange) RequestPassword() (string, error) {
	return "", errors.New("unexpected RequestPassword")
}

func (e *scriptedExchange) StartSASL([]string) (string, []byte, error) {
	return e.mechanism, e.clientFirst, nil
}

func (e *scriptedExchange) ContinueSASL(data []byte) ([]byte, error) {
	e.continues = append(e.continues, append([]byte(nil), data...))
	if len(e.continues) == 1 && e.clientFirst == nil {
		return []byte("n,,n=,r=abc"), nil
	}
	if e.clientFinal == nil {
		return nil, errors.New("no client-final-message scripted")
	}
	return e.clientFinal(string(data)), nil
}

func (e *scriptedExchange) FinishSASL(data []byte) error {
	e.finished = true
	e.serverFinal = data
	return nil
}

// passwordExchange is an Exchange that returns a fixed cleartext password.
type passwordExchange struct {
	password  string
	requested int
	saslCalls int
}

func (e *passwordExchange) RequestPassword() (string, error) {
	e.requested++
	return e.password, nil
}

func (e *passwordExchange) StartSASL([]string) (string, []byte, error) {
	e.saslCalls++
	return "", nil, errors.New("unexpected StartSASL")
}

func (e *passwordExchange) ContinueSASL([]byte) ([]byte, error) {
	e.saslCalls++
	return nil, errors.New("unexpected ContinueSASL")
}

func (e *passwordExchange) FinishSASL([]byte) error {
	e.saslCalls++
	return errors.New("unexpected FinishSASL")
}

// noExchange fails the test on any call: trust must not talk to the client.
type noExchange struct{ t *testing.T }

func (e noExchange) RequestPassword() (string, error) {
	e.t.Error("RequestPassword called")
	return "", errors.New("unexpected")
}

func (e noExchange) StartSASL([]string) (string, []byte, error) {
	e.t.Error("StartSASL called")
	return "", nil, errors.New("unexpected")
}

func (e noExchange) ContinueSASL([]byte) ([]byte, error) {
	e.t.Error("ContinueSASL called")
	return nil, errors.New("unexpected")
}

func (e noExchange) FinishSASL([]byte) error {
	e.t.Error("FinishSASL called")
	return errors.New("unexpected")
}

// serverFirstFields splits a server-first-message into its nonce, salt and
// iteration count.
func serverFirstFields(t testing.TB, serverFirst string) (nonce string, salt []byte, iterations int) {
	t.Helper()
	parts := strings.Split(serverFirst, ",")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "r=") || !strings.HasPrefix(parts[1], "s=") || !strings.HasPrefix(parts[2], "i=") {
		t.Fatalf("server-first-message %q is not r=...,s=...,i=...", serverFirst)
	}
	salt, err := base64.StdEncoding.DecodeString(parts[1][2:])
	if err != nil {
		t.Fatalf("salt of %q: %v", serverFirst, err)
	}
	iterations, err = strconv.Atoi(parts[2][2:])
	if err != nil {
		t.Fatalf("iteration count of %q: %v", serverFirst, err)
	}
	return parts[0][2:], salt, iterations
}

// handClientFinal computes a client-final-message for hand-written client-first
// messages: gs2Header is the header the client sent ("n,," or "y,,") and
// clientFirstBare the rest of its first message.
func handClientFinal(t testing.TB, password, gs2Header, clientFirstBare, serverFirst string) string {
	t.Helper()
	nonce, salt, iterations := serverFirstFields(t, serverFirst)
	derived, err := deriveVerifier(password, salt, iterations)
	if err != nil {
		t.Fatalf("deriveVerifier: %v", err)
	}
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(gs2Header)) + ",r=" + nonce
	authMessage := clientFirstBare + "," + serverFirst + "," + withoutProof

	// Recompute ClientKey, which the verifier only stores hashed.
	salted := pbkdf2Key(t, password, salt, iterations)
	clientKey := computeHMAC(salted, "Client Key")
	if sum := sha256.Sum256(clientKey); subtle.ConstantTimeCompare(sum[:], derived.StoredKey) != 1 {
		t.Fatal("ClientKey does not hash to StoredKey")
	}
	signature := computeHMAC(derived.StoredKey, authMessage)
	proof := make([]byte, len(clientKey))
	subtle.XORBytes(proof, clientKey, signature)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)
}

// assertPGError checks the SQLSTATE and message of err.
func assertPGError(t *testing.T, err error, code pgcode.Code, message string) *pgerror.Error {
	t.Helper()
	var pe *pgerror.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *pgerror.Error", err, err)
	}
	if pe.Code != code {
		t.Errorf("SQLSTATE = %s, want %s (message %q)", pe.Code, code, pe.Message)
	}
	if pe.Message != message {
		t.Errorf("message = %q, want %q", pe.Message, message)
	}
	if pe.Severity != pgerror.SeverityFatal {
		t.Errorf("severity = %q, want FATAL", pe.Severity)
	}
	return pe
}

func pbkdf2Key(t testing.TB, password string, salt []byte, iterations int) []byte {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, prepPassword(password), salt, iterations, scramKeyLen)
	if err != nil {
		t.Fatalf("pbkdf2.Key: %v", err)
	}
	return key
}
