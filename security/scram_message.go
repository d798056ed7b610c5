package security

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// The parsers in this file follow the grammar of RFC 5802 section 7 and reject
// input with the SQLSTATE, message and detail of PostgreSQL 16's
// src/backend/libpq/auth-scram.c, so clients see the same errors.

// clientFirstMessage is a parsed client-first-message.
type clientFirstMessage struct {
	// cbindFlag is the gs2-cbind-flag: 'n', 'y' or 'p'. 'p' always comes with
	// the channel binding type tls-server-end-point.
	cbindFlag byte
	// bare is the client-first-message-bare, part of the AuthMessage.
	bare string
	// username is the SCRAM username attribute. PostgreSQL ignores it and
	// authenticates the user of the startup message, so nothing reads it
	// except tests.
	username string
	nonce    string
}

// clientFinalMessage is a parsed client-final-message.
type clientFinalMessage struct {
	// withoutProof is the client-final-message-without-proof, part of the
	// AuthMessage.
	withoutProof string
	nonce        string
	proof        []byte
}

// parseClientFirst parses a client-first-message. bindingInUse is set when the
// client selected SCRAM-SHA-256-PLUS, which requires the flag 'p'.
// bindingOffered is set when the server offered SCRAM-SHA-256-PLUS, so a
// client that sends 'y' (it supports channel binding but thinks the server
// does not) is rejected as RFC 5802 section 6 requires.
func parseClientFirst(data []byte, bindingInUse, bindingOffered bool) (*clientFirstMessage, error) {
	if err := checkSCRAMMessage(data); err != nil {
		return nil, err
	}
	r := &scramReader{s: string(data)}
	msg := &clientFirstMessage{}

	switch flag := r.peek(); flag {
	case 'n', 'y':
		if bindingInUse {
			return nil, malformedSCRAM("The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data.")
		}
		// A client that sends 'y' after the server offered channel binding
		// may have seen a mechanism list that an attacker stripped of
		// SCRAM-SHA-256-PLUS.
		if flag == 'y' && bindingOffered {
			return nil, fatal(pgerror.New(pgcode.InvalidAuthorizationSpecification,
				"SCRAM channel binding negotiation error").
				WithDetail("The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding."))
		}
		msg.cbindFlag = flag
		r.pos++
		if c := r.peek(); c != ',' {
			return nil, malformedSCRAM(fmt.Sprintf("Comma expected, but found character \"%s\".", sanitizeChar(c)))
		}
		r.pos++
	case 'p':
		if !bindingInUse {
			return nil, malformedSCRAM("The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.")
		}
		// readAttrValue also steps over the comma that ends the flag.
		bindingType, err := r.readAttrValue('p')
		if err != nil {
			return nil, err
		}
		if bindingType != tlsServerEndPoint {
			return nil, fatal(pgerror.Newf(pgcode.ProtocolViolation,
				"unsupported SCRAM channel-binding type \"%s\"", sanitizeString(bindingType)))
		}
		msg.cbindFlag = flag
	default:
		return nil, malformedSCRAM(fmt.Sprintf("Unexpected channel-binding flag \"%s\".", sanitizeChar(flag)))
	}

	// PostgreSQL does not support an authorization identity.
	if r.peek() == 'a' {
		return nil, fatal(pgerror.New(pgcode.FeatureNotSupported,
			"client uses authorization identity, but it is not supported"))
	}
	if c := r.peek(); c != ',' {
		return nil, malformedSCRAM(fmt.Sprintf("Unexpected attribute \"%s\" in client-first-message.", sanitizeChar(c)))
	}
	r.pos++

	msg.bare = r.s[r.pos:]
	if r.peek() == 'm' {
		return nil, fatal(pgerror.New(pgcode.FeatureNotSupported,
			"client requires an unsupported SCRAM extension"))
	}

	username, err := r.readAttrValue('n')
	if err != nil {
		return nil, err
	}
	msg.username = username

	nonce, err := r.readAttrValue('r')
	if err != nil {
		return nil, err
	}
	if !isSCRAMPrintable(nonce) {
		return nil, fatal(pgerror.New(pgcode.ProtocolViolation, "non-printable characters in SCRAM nonce"))
	}
	msg.nonce = nonce

	// Optional extensions may follow. None is supported, so they are only
	// checked for syntax.
	for !r.atEnd() {
		if _, _, err := r.readAnyAttr(); err != nil {
			return nil, err
		}
	}
	return msg, nil
}

// parseClientFinal parses a client-final-message. cbindFlag is the flag of the
// client-first-message, which the channel-binding attribute must repeat.
// channelBinding is the tls-server-end-point data of the connection, which the
// attribute must carry after the flag 'p'.
func parseClientFinal(data []byte, cbindFlag byte, channelBinding []byte) (*clientFinalMessage, error) {
	if err := checkSCRAMMessage(data); err != nil {
		return nil, err
	}
	r := &scramReader{s: string(data)}
	msg := &clientFinalMessage{}

	// The attribute is the gs2-header in base64, followed after the flag 'p'
	// by the channel binding data: "biws" for "n,," and "eSws" for "y,,".
	attribute, err := r.readAttrValue('c')
	if err != nil {
		return nil, err
	}
	if cbindFlag == 'p' {
		cbindInput := append([]byte("p="+tlsServerEndPoint+",,"), channelBinding...)
		expected := base64.StdEncoding.EncodeToString(cbindInput)
		if subtle.ConstantTimeCompare([]byte(attribute), []byte(expected)) != 1 {
			return nil, fatal(pgerror.New(pgcode.InvalidAuthorizationSpecification,
				"SCRAM channel binding check failed"))
		}
	} else if !(attribute == "biws" && cbindFlag == 'n') && !(attribute == "eSws" && cbindFlag == 'y') {
		return nil, fatal(pgerror.New(pgcode.ProtocolViolation,
			"unexpected SCRAM channel-binding attribute in client-final-message"))
	}

	nonce, err := r.readAttrValue('r')
	if err != nil {
		return nil, err
	}
	msg.nonce = nonce

	// Skip extensions up to the proof, which must be the last attribute.
	var proofStart int
	var attr byte
	var proofText string
	for attr != 'p' {
		proofStart = r.pos - 1
		attr, proofText, err = r.readAnyAttr()
		if err != nil {
			return nil, err
		}
	}

	proof, err := base64.StdEncoding.DecodeString(proofText)
	if err != nil || len(proof) != scramKeyLen {
		return nil, malformedSCRAM("Malformed proof in client-final-message.")
	}
	msg.proof = proof

	if !r.atEnd() {
		return nil, malformedSCRAM("Garbage found at the end of client-final-message.")
	}
	msg.withoutProof = r.s[:proofStart]
	return msg, nil
}

// checkSCRAMMessage rejects an empty message and one with a NUL byte, which
// PostgreSQL detects as a length that does not match the C string.
func checkSCRAMMessage(data []byte) error {
	if len(data) == 0 {
		return malformedSCRAM("The message is empty.")
	}
	if strings.IndexByte(string(data), 0) >= 0 {
		return malformedSCRAM("Message length does not match input length.")
	}
	return nil
}

func malformedSCRAM(detail string) *pgerror.Error {
	return fatal(pgerror.New(pgcode.ProtocolViolation, "malformed SCRAM message").WithDetail(detail))
}

// scramReader reads comma-separated attr=value pairs from a SCRAM message.
type scramReader struct {
	s   string
	pos int
}

// peek returns the next byte, or 0 at the end of the message as C code reading
// the NUL terminator would see it.
func (r *scramReader) peek() byte {
	if r.pos >= len(r.s) {
		return 0
	}
	return r.s[r.pos]
}

func (r *scramReader) atEnd() bool {
	return r.pos >= len(r.s)
}

// readAttrValue reads the attribute attr and returns its value.
func (r *scramReader) readAttrValue(attr byte) (string, error) {
	if c := r.peek(); c != attr {
		return "", malformedSCRAM(fmt.Sprintf("Expected attribute \"%c\" but found \"%s\".", attr, sanitizeChar(c)))
	}
	r.pos++
	if r.peek() != '=' {
		return "", malformedSCRAM(fmt.Sprintf("Expected character \"=\" for attribute \"%c\".", attr))
	}
	r.pos++
	return r.readValue(), nil
}

// readAnyAttr reads an attribute whose name is any ASCII letter.
func (r *scramReader) readAnyAttr() (byte, string, error) {
	attr := r.peek()
	if r.atEnd() {
		return 0, "", malformedSCRAM("Attribute expected, but found end of string.")
	}
	if !('A' <= attr && attr <= 'Z' || 'a' <= attr && attr <= 'z') {
		return 0, "", malformedSCRAM(fmt.Sprintf("Attribute expected, but found invalid character \"%s\".", sanitizeChar(attr)))
	}
	r.pos++
	if r.peek() != '=' {
		return 0, "", malformedSCRAM(fmt.Sprintf("Expected character \"=\" for attribute \"%c\".", attr))
	}
	r.pos++
	return attr, r.readValue(), nil
}

// readValue reads up to the next comma, or to the end, and steps over the
// comma.
func (r *scramReader) readValue() string {
	rest := r.s[r.pos:]
	value, _, found := strings.Cut(rest, ",")
	r.pos += len(value)
	if found {
		r.pos++
	}
	return value
}

// isSCRAMPrintable reports whether s contains only the RFC 5802 "printable"
// characters: ASCII 0x21 to 0x7E except ','.
func isSCRAMPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}

// sanitizeString formats a string of client input for an error message the
// way PostgreSQL does: at most 30 bytes, with '?' for each byte that is not
// printable ASCII.
func sanitizeString(s string) string {
	const maxLen = 30
	if len(s) > maxLen {
		s = s[:maxLen]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x21 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// sanitizeChar formats a byte of client input for an error detail the way
// PostgreSQL does: a printable character in single quotes, anything else in
// hex.
func sanitizeChar(c byte) string {
	if c >= 0x21 && c <= 0x7e {
		return fmt.Sprintf("'%c'", c)
	}
	return fmt.Sprintf("0x%02x", c)
}
