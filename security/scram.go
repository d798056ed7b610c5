package security

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"slices"
	"strconv"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// SASL mechanism names of RFC 7677. The -PLUS variant adds channel binding.
const (
	scramSHA256Mechanism     = "SCRAM-SHA-256"
	scramSHA256PlusMechanism = "SCRAM-SHA-256-PLUS"
)

// tlsServerEndPoint is the one channel binding type the server supports, as
// in PostgreSQL: the hash of the server certificate (RFC 5929 section 4).
const tlsServerEndPoint = "tls-server-end-point"

// MethodSCRAMSHA256Plus is the Result.Method of a SCRAM-SHA-256-PLUS login.
const MethodSCRAMSHA256Plus = "scram-sha-256-plus"

// scramNonceLen is the number of random bytes in the server nonce, as
// PostgreSQL's SCRAM_RAW_NONCE_LEN. The nonce is sent in base64.
const scramNonceLen = 18

// authenticateSCRAM runs a SCRAM-SHA-256 exchange (RFC 5802, RFC 7677). On a
// TLS connection with channel binding data it offers SCRAM-SHA-256-PLUS first,
// as PostgreSQL 16 does. When doomReason is set, or the user has no usable
// verifier, it runs the exchange against a mock verifier and fails at the end
// like a wrong password.
func (a *Authenticator) authenticateSCRAM(ci ConnInfo, creds Credentials, doomReason string, ex Exchange) (Result, error) {
	user := ci.User
	method := MethodSCRAMSHA256
	verifier, doomReason, err := a.scramVerifierFor(user, creds, doomReason)
	if err != nil {
		return failure(method, err)
	}

	// The list depends on the connection alone, so the mock exchange offers
	// the same mechanisms as a real one.
	mechanisms := []string{scramSHA256Mechanism}
	var channelBinding []byte
	if ci.TLS && len(ci.ChannelBinding) > 0 {
		channelBinding = ci.ChannelBinding
		mechanisms = []string{scramSHA256PlusMechanism, scramSHA256Mechanism}
	}
	mechanism, clientFirst, err := ex.StartSASL(mechanisms)
	if err != nil {
		return failure(method, exchangeError(err))
	}
	if !slices.Contains(mechanisms, mechanism) {
		return failure(method, fatal(pgerror.New(pgcode.ProtocolViolation,
			"client selected an invalid SASL authentication mechanism")))
	}
	if mechanism == scramSHA256PlusMechanism {
		method = MethodSCRAMSHA256Plus
	}

	// A SASLInitialResponse without data requests an empty challenge, after
	// which the client sends its first message (RFC 4422 section 5).
	if clientFirst == nil {
		clientFirst, err = ex.ContinueSASL([]byte{})
		if err != nil {
			return failure(method, exchangeError(err))
		}
	}

	conv := &scramConversation{
		verifier:       verifier,
		channelBinding: channelBinding,
		bindingInUse:   mechanism == scramSHA256PlusMechanism,
	}
	serverFirst, err := conv.handleClientFirst(clientFirst)
	if err != nil {
		return failure(method, err)
	}
	clientFinal, err := ex.ContinueSASL(serverFirst)
	if err != nil {
		return failure(method, exchangeError(err))
	}
	serverFinal, proofOK, err := conv.handleClientFinal(clientFinal)
	if err != nil {
		return failure(method, err)
	}

	// As PostgreSQL does, a failed proof ends the exchange with the error and
	// no server-final-message.
	if doomReason != "" {
		return Result{Method: method, Reason: doomReason}, authFailed(user)
	}
	if !proofOK {
		return Result{Method: method, Reason: ReasonWrongPassword}, authFailed(user)
	}

	if err := ex.FinishSASL(serverFinal); err != nil {
		return failure(method, exchangeError(err))
	}
	return Result{Method: method}, nil
}

// scramVerifierFor returns the verifier to run the exchange with, and the
// updated doom reason. Every login that cannot succeed gets the mock verifier
// of the user name, so the salt and iteration count the client receives do not
// depend on why it fails.
func (a *Authenticator) scramVerifierFor(user string, creds Credentials, doomReason string) (*Verifier, string, error) {
	if doomReason == "" {
		switch {
		case creds.SCRAMVerifier == "":
			// The user has only a bcrypt hash, which SCRAM cannot use.
			doomReason = ReasonNoSCRAMVerifier
		default:
			verifier, err := ParseSCRAMVerifier(creds.SCRAMVerifier)
			if err == nil {
				return verifier, "", nil
			}
			doomReason = ReasonInvalidSCRAMSecret
		}
	}

	verifier, err := mockVerifier(a.cfg.ServerSecret, user, a.cfg.SCRAMIterations)
	if err != nil {
		return nil, doomReason, fatal(pgerror.Wrapf(err, pgcode.InternalError, "building mock SCRAM verifier"))
	}
	return verifier, doomReason, nil
}

// scramConversation is the server state of one SCRAM exchange between the
// client-first-message and the client-final-message.
type scramConversation struct {
	verifier *Verifier
	// channelBinding is the tls-server-end-point data of the connection when
	// the server offered SCRAM-SHA-256-PLUS, and nil otherwise.
	channelBinding []byte
	// bindingInUse is set when the client selected SCRAM-SHA-256-PLUS.
	bindingInUse bool

	clientFirst *clientFirstMessage
	serverNonce string
	serverFirst string
}

// handleClientFirst parses the client-first-message and returns the
// server-first-message: the combined nonce, the salt and the iteration count.
func (c *scramConversation) handleClientFirst(data []byte) ([]byte, error) {
	msg, err := parseClientFirst(data, c.bindingInUse, c.channelBinding != nil)
	if err != nil {
		return nil, err
	}
	c.clientFirst = msg

	raw := make([]byte, scramNonceLen)
	if _, err := rand.Read(raw); err != nil {
		return nil, fatal(pgerror.Wrapf(err, pgcode.InternalError, "generating SCRAM nonce"))
	}
	c.serverNonce = base64.StdEncoding.EncodeToString(raw)

	c.serverFirst = "r=" + msg.nonce + c.serverNonce +
		",s=" + base64.StdEncoding.EncodeToString(c.verifier.Salt) +
		",i=" + strconv.Itoa(c.verifier.Iterations)
	return []byte(c.serverFirst), nil
}

// handleClientFinal parses the client-final-message, checks the nonce and the
// proof, and returns the server-final-message. proofOK is false for a wrong
// password. A nonce that does not match is a protocol error, as in PostgreSQL.
func (c *scramConversation) handleClientFinal(data []byte) (serverFinal []byte, proofOK bool, err error) {
	msg, err := parseClientFinal(data, c.clientFirst.cbindFlag, c.channelBinding)
	if err != nil {
		return nil, false, err
	}

	expectedNonce := c.clientFirst.nonce + c.serverNonce
	if subtle.ConstantTimeCompare([]byte(msg.nonce), []byte(expectedNonce)) != 1 {
		return nil, false, fatal(pgerror.New(pgcode.ProtocolViolation, "invalid SCRAM response").
			WithDetail("Nonce does not match."))
	}

	authMessage := c.clientFirst.bare + "," + c.serverFirst + "," + msg.withoutProof

	// ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), and the proof
	// is valid when H(ClientKey) equals StoredKey (RFC 5802 section 3).
	clientSignature := computeHMAC(c.verifier.StoredKey, authMessage)
	clientKey := make([]byte, scramKeyLen)
	subtle.XORBytes(clientKey, msg.proof, clientSignature)
	storedKey := sha256.Sum256(clientKey)
	proofOK = hmac.Equal(storedKey[:], c.verifier.StoredKey)

	serverSignature := computeHMAC(c.verifier.ServerKey, authMessage)
	serverFinal = []byte("v=" + base64.StdEncoding.EncodeToString(serverSignature))
	return serverFinal, proofOK, nil
}
