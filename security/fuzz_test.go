package security

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// checkSCRAMError fails unless err is a FATAL protocol or feature error, the
// only errors a client message may cause.
func checkSCRAMError(t *testing.T, err error) {
	t.Helper()
	var pe *pgerror.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *pgerror.Error", err, err)
	}
	if pe.Code != pgcode.ProtocolViolation && pe.Code != pgcode.FeatureNotSupported {
		t.Fatalf("SQLSTATE %s for client input, want 08P01 or 0A000", pe.Code)
	}
	if pe.Severity != pgerror.SeverityFatal {
		t.Fatalf("severity %q, want FATAL", pe.Severity)
	}
}

func FuzzSCRAMClientFirst(f *testing.F) {
	for _, seed := range []string{
		"n,,n=,r=abc",
		"y,,n=*,r=)|^?\\",
		"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL,x=ext",
		"p=tls-server-end-point,,n=,r=abc",
		"n,a=admin,n=,r=abc",
		"n,,m=ext,n=,r=abc",
		"n,,n=,r=ab c",
		"n,,n=",
		"n,",
		"",
		"\x00",
		"n,,n=,r=abc,1",
	} {
		f.Add([]byte(seed))
	}
	verifier, err := ParseSCRAMVerifier(pgVerifierASCII)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		conv := &scramConversation{verifier: verifier}
		serverFirst, err := conv.handleClientFirst(data)
		if err != nil {
			checkSCRAMError(t, err)
			return
		}
		msg := conv.clientFirst
		if !strings.HasSuffix(string(data), msg.bare) {
			t.Fatalf("client-first-message-bare %q is not a suffix of %q", msg.bare, data)
		}
		if !isSCRAMPrintable(msg.nonce) {
			t.Fatalf("accepted nonce %q has non-printable characters", msg.nonce)
		}
		if !strings.HasPrefix(string(serverFirst), "r="+msg.nonce) {
			t.Fatalf("server-first-message %q does not extend the client nonce", serverFirst)
		}
	})
}

func FuzzSCRAMClientFinal(f *testing.F) {
	verifier, err := ParseSCRAMVerifier(pgVerifierASCII)
	if err != nil {
		f.Fatal(err)
	}
	clientFirst := &clientFirstMessage{cbindFlag: 'n', bare: "n=,r=abc", nonce: "abc"}
	const serverNonce = "c2VydmVybm9uY2VzZXJ2ZXJu"
	serverFirst := "r=abc" + serverNonce + ",s=xF+eH49CQokP9wSIMX+ebw==,i=4096"

	valid := handClientFinal(f, pgPasswordASCII, "n,,", clientFirst.bare, serverFirst)
	for _, seed := range []string{
		valid,
		valid + ",x=1",
		strings.Replace(valid, "c=biws", "c=eSws", 1),
		strings.Replace(valid, "r=abc", "r=abd", 1),
		"c=biws,r=abc" + serverNonce + ",e=ext,p=AAAA",
		"c=biws,r=abc" + serverNonce,
		"c=biws,r=",
		"c=biws",
		"",
		"c",
		"c=biws,r=x,p=!!!!",
	} {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		conv := &scramConversation{
			verifier:    verifier,
			clientFirst: clientFirst,
			serverNonce: serverNonce,
			serverFirst: serverFirst,
		}
		serverFinal, proofOK, err := conv.handleClientFinal(data)
		if err != nil {
			checkSCRAMError(t, err)
			return
		}
		if !strings.HasPrefix(string(serverFinal), "v=") {
			t.Fatalf("server-final-message %q does not start with v=", serverFinal)
		}
		if string(data) == valid && !proofOK {
			t.Fatal("the valid client-final-message was rejected")
		}
	})
}
