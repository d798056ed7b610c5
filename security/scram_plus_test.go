package security

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// testChannelBinding stands for the tls-server-end-point data of a
// connection: the SHA-256 hash of a server certificate.
var testChannelBinding = func() []byte {
	sum := sha256.Sum256([]byte("DER of a test server certificate"))
	return sum[:]
}()

// tlsConn is remoteConn over TLS with testChannelBinding.
func tlsConn(user string) ConnInfo {
	ci := remoteConn(user)
	ci.TLS = true
	ci.ChannelBinding = testChannelBinding
	return ci
}

// newSCRAMPlusExchange returns an exchange whose client selects
// SCRAM-SHA-256-PLUS and binds to data.
func newSCRAMPlusExchange(t *testing.T, password string, data []byte) *scramClientExchange {
	t.Helper()
	client, err := scram.SHA256.NewClientUnprepped("", password, "")
	if err != nil {
		t.Fatalf("NewClientUnprepped: %v", err)
	}
	binding := scram.ChannelBinding{Type: scram.ChannelBindingTLSServerEndpoint, Data: data}
	return &scramClientExchange{
		t:         t,
		conv:      client.NewConversationWithChannelBinding(binding),
		mechanism: scramSHA256PlusMechanism,
	}
}

func TestSCRAMPlusSuccess(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	ex := newSCRAMPlusExchange(t, testPassword, testChannelBinding)
	res, err := a.Authenticate(context.Background(), tlsConn("alice"), store, ex)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if res.Method != MethodSCRAMSHA256Plus || res.Reason != "" {
		t.Errorf("result = %+v, want scram-sha-256-plus without reason", res)
	}
	if want := []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}; !slices.Equal(ex.offered, want) {
		t.Errorf("offered mechanisms = %q, want %q", ex.offered, want)
	}
	if !strings.HasPrefix(ex.clientFirst, "p=tls-server-end-point,,") {
		t.Errorf("client-first-message %q does not request channel binding", ex.clientFirst)
	}
	if !ex.finished {
		t.Fatal("FinishSASL was not called")
	}
	if ex.clientErr != nil || !ex.conv.Valid() {
		t.Errorf("client did not accept the server signature: %v", ex.clientErr)
	}
}

// TestSCRAMWithoutPlusOverTLS checks that a client without channel binding
// support may still choose SCRAM-SHA-256 on a TLS connection.
func TestSCRAMWithoutPlusOverTLS(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	ex := newSCRAMClientExchange(t, "", testPassword)
	res, err := a.Authenticate(context.Background(), tlsConn("alice"), store, ex)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if res.Method != MethodSCRAMSHA256 {
		t.Errorf("method = %q, want %q", res.Method, MethodSCRAMSHA256)
	}
	if !ex.conv.Valid() {
		t.Error("client did not accept the server signature")
	}
}

// TestSCRAMPlusNotOfferedWithoutBindingData checks a TLS connection whose
// certificate has no defined channel binding, such as an Ed25519 one.
func TestSCRAMPlusNotOfferedWithoutBindingData(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)
	ci := tlsConn("alice")
	ci.ChannelBinding = nil

	// A client that supports channel binding sends 'y' when the server
	// offers no -PLUS mechanism, and that is accepted.
	client, err := scram.SHA256.NewClientUnprepped("", testPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	ex := &scramClientExchange{t: t, conv: client.NewConversationAdvertisingChannelBinding(), mechanism: scramSHA256Mechanism}
	res, err := a.Authenticate(context.Background(), ci, store, ex)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if want := []string{"SCRAM-SHA-256"}; !slices.Equal(ex.offered, want) {
		t.Errorf("offered mechanisms = %q, want %q", ex.offered, want)
	}
	if !strings.HasPrefix(ex.clientFirst, "y,,") {
		t.Errorf("client-first-message %q, want the flag y", ex.clientFirst)
	}
	if res.Method != MethodSCRAMSHA256 {
		t.Errorf("method = %q, want %q", res.Method, MethodSCRAMSHA256)
	}
}

func TestSCRAMPlusWrongBindingData(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)
	other := sha256.Sum256([]byte("DER of another certificate"))

	// The check comes before the proof, so an unknown user fails the same way.
	for _, user := range []string{"alice", "ghost"} {
		t.Run(user, func(t *testing.T) {
			ex := newSCRAMPlusExchange(t, testPassword, other[:])
			res, err := a.Authenticate(context.Background(), tlsConn(user), store, ex)
			assertPGError(t, err, pgcode.InvalidAuthorizationSpecification, "SCRAM channel binding check failed")
			if res.Method != MethodSCRAMSHA256Plus {
				t.Errorf("method = %q, want %q", res.Method, MethodSCRAMSHA256Plus)
			}
			if ex.finished {
				t.Error("FinishSASL was called")
			}
		})
	}
}

// TestSCRAMFlagYRejectedWhenPlusOffered checks the downgrade protection of
// RFC 5802 section 6: a client that supports channel binding but did not see
// SCRAM-SHA-256-PLUS in the list may be the victim of an attacker who removed
// it.
func TestSCRAMFlagYRejectedWhenPlusOffered(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	client, err := scram.SHA256.NewClientUnprepped("", testPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	ex := &scramClientExchange{t: t, conv: client.NewConversationAdvertisingChannelBinding(), mechanism: scramSHA256Mechanism}
	_, err = a.Authenticate(context.Background(), tlsConn("alice"), store, ex)
	pe := assertPGError(t, err, pgcode.InvalidAuthorizationSpecification, "SCRAM channel binding negotiation error")
	wantDetail := "The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding."
	if pe.Detail != wantDetail {
		t.Errorf("detail = %q, want %q", pe.Detail, wantDetail)
	}
	if ex.serverFirst != "" {
		t.Error("the server sent a server-first-message")
	}
}

// TestSCRAMPlusProtocolErrors checks the errors for malformed messages of
// SCRAM-SHA-256-PLUS, with PostgreSQL 16's SQLSTATEs and texts.
func TestSCRAMPlusProtocolErrors(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	const malformed = "malformed SCRAM message"
	const plusHeader = "p=tls-server-end-point,,"
	validBinding := base64.StdEncoding.EncodeToString(append([]byte(plusHeader), testChannelBinding...))
	headerOnly := base64.StdEncoding.EncodeToString([]byte(plusHeader))
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
		{"PLUS with flag n", scramSHA256PlusMechanism, "n,,n=,r=abc", nil, pgcode.ProtocolViolation, malformed,
			"The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data."},
		{"PLUS with flag y", scramSHA256PlusMechanism, "y,,n=,r=abc", nil, pgcode.ProtocolViolation, malformed,
			"The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data."},
		{"flag p without PLUS", scramSHA256Mechanism, plusHeader + "n=,r=abc", nil, pgcode.ProtocolViolation, malformed,
			"The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data."},
		{"tls-unique", scramSHA256PlusMechanism, "p=tls-unique,,n=,r=abc", nil, pgcode.ProtocolViolation,
			`unsupported SCRAM channel-binding type "tls-unique"`, ""},
		{"long binding type", scramSHA256PlusMechanism, "p=" + strings.Repeat("x", 40) + ",,n=,r=abc", nil, pgcode.ProtocolViolation,
			`unsupported SCRAM channel-binding type "` + strings.Repeat("x", 30) + `"`, ""},
		{"p without type", scramSHA256PlusMechanism, "p,,n=,r=abc", nil, pgcode.ProtocolViolation, malformed,
			`Expected character "=" for attribute "p".`},
		{"authzid", scramSHA256PlusMechanism, "p=tls-server-end-point,a=x,n=,r=abc", nil, pgcode.FeatureNotSupported,
			"client uses authorization identity, but it is not supported", ""},
		{"unknown mechanism", "SCRAM-SHA-512-PLUS", plusHeader + "n=,r=abc", nil, pgcode.ProtocolViolation,
			"client selected an invalid SASL authentication mechanism", ""},

		{"binding without data", scramSHA256PlusMechanism, plusHeader + "n=,r=abc",
			func(s string) string { return strings.Replace(s, "c="+validBinding, "c="+headerOnly, 1) },
			pgcode.InvalidAuthorizationSpecification, "SCRAM channel binding check failed", ""},
		{"binding biws", scramSHA256PlusMechanism, plusHeader + "n=,r=abc",
			func(s string) string { return strings.Replace(s, "c="+validBinding, "c=biws", 1) },
			pgcode.InvalidAuthorizationSpecification, "SCRAM channel binding check failed", ""},
		{"nonce mismatch", scramSHA256PlusMechanism, plusHeader + "n=,r=abc",
			func(s string) string { return strings.Replace(s, "r=", "r=X", 1) },
			pgcode.ProtocolViolation, "invalid SCRAM response", "Nonce does not match."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex := &scriptedExchange{mechanism: tc.mechanism, clientFirst: []byte(tc.clientFirst)}
			ex.clientFinal = func(serverFirst string) []byte {
				if tc.final == nil {
					t.Error("the client-first-message was accepted")
					return nil
				}
				// handClientFinal sends its gs2Header argument as the
				// channel-binding attribute, so pass the binding input.
				correct := handClientFinal(t, testPassword, plusHeader+string(testChannelBinding), "n=,r=abc", serverFirst)
				if !strings.HasPrefix(correct, "c="+validBinding+",") {
					t.Fatalf("test client-final-message %q lacks the binding %q", correct, validBinding)
				}
				return []byte(tc.final(correct))
			}
			_, err := a.Authenticate(context.Background(), tlsConn("alice"), store, ex)
			pe := assertPGError(t, err, tc.code, tc.message)
			if pe.Detail != tc.detail {
				t.Errorf("detail = %q, want %q", pe.Detail, tc.detail)
			}
			if ex.finished {
				t.Error("FinishSASL was called")
			}
		})
	}

	// The hand-written messages pass when nothing is changed.
	ex := &scriptedExchange{mechanism: scramSHA256PlusMechanism, clientFirst: []byte(plusHeader + "n=,r=abc")}
	ex.clientFinal = func(serverFirst string) []byte {
		return []byte(handClientFinal(t, testPassword, plusHeader+string(testChannelBinding), "n=,r=abc", serverFirst))
	}
	if _, err := a.Authenticate(context.Background(), tlsConn("alice"), store, ex); err != nil {
		t.Fatalf("Authenticate with hand-written messages: %v", err)
	}
}

// TestSCRAMPlusMockExchangeShape checks that a login that cannot succeed
// receives the same mechanisms as a real one on the same connection, runs the whole
// SCRAM-SHA-256-PLUS exchange, and fails like a wrong password.
func TestSCRAMPlusMockExchangeShape(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	real := newSCRAMPlusExchange(t, testPassword, testChannelBinding)
	if _, err := a.Authenticate(context.Background(), tlsConn("alice"), store, real); err != nil {
		t.Fatalf("Authenticate alice: %v", err)
	}

	for _, user := range []string{"ghost", "deleted", "oauthuser", "internal"} {
		t.Run(user, func(t *testing.T) {
			ex := newSCRAMPlusExchange(t, testPassword, testChannelBinding)
			res, err := a.Authenticate(context.Background(), tlsConn(user), store, ex)
			if !slices.Equal(ex.offered, real.offered) {
				t.Errorf("offered mechanisms = %q, want %q as for a real user", ex.offered, real.offered)
			}
			if ex.serverFirst == "" {
				t.Fatal("the exchange stopped before the server-first-message")
			}
			assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "`+user+`"`)
			if res.Method != MethodSCRAMSHA256Plus || res.Reason == "" {
				t.Errorf("result = %+v, want scram-sha-256-plus with a reason", res)
			}
		})
	}

	// A wrong password fails the same way.
	ex := newSCRAMPlusExchange(t, "wrong-password", testChannelBinding)
	res, err := a.Authenticate(context.Background(), tlsConn("alice"), store, ex)
	assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "alice"`)
	if res.Reason != ReasonWrongPassword {
		t.Errorf("reason = %q, want %q", res.Reason, ReasonWrongPassword)
	}
}
