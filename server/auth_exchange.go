package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/security"
)

// maxAuthMessageSize limits the body of a password or SASL message, as
// PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH does.
const maxAuthMessageSize = 65535

// errClientGone is returned by wireExchange when the client closed the
// connection or sent Terminate instead of replying. libpq clients such as
// psql do that when they learn that a password is needed and must first
// prompt for it, so it is not logged as a failed login.
var errClientGone = errors.New("client closed the connection during authentication")

// wireExchange implements security.Exchange over the wire with the
// authentication messages of protocol 3.0.
type wireExchange struct {
	backend *pgproto3.Backend
	// clientGone is set once the client has closed the connection.
	clientGone bool
}

var _ security.Exchange = (*wireExchange)(nil)

func newWireExchange(backend *pgproto3.Backend) *wireExchange {
	backend.SetMaxBodyLen(maxAuthMessageSize)
	return &wireExchange{backend: backend}
}

// RequestPassword sends AuthenticationCleartextPassword and returns the
// password from the client's PasswordMessage.
func (e *wireExchange) RequestPassword() (string, error) {
	msg, err := e.request(&pgproto3.AuthenticationCleartextPassword{}, pgproto3.AuthTypeCleartextPassword)
	if err != nil {
		return "", err
	}
	pw, ok := msg.(*pgproto3.PasswordMessage)
	if !ok {
		return "", unexpectedAuthMessage("password", msg)
	}
	return pw.Password, nil
}

// StartSASL sends AuthenticationSASL and returns the mechanism and initial
// response of the client's SASLInitialResponse.
func (e *wireExchange) StartSASL(mechanisms []string) (string, []byte, error) {
	msg, err := e.request(&pgproto3.AuthenticationSASL{AuthMechanisms: mechanisms}, pgproto3.AuthTypeSASL)
	if err != nil {
		return "", nil, err
	}
	initial, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		return "", nil, unexpectedAuthMessage("SASL", msg)
	}

	// NB: pgproto3 v5.13.0 ignores the length word of the initial response,
	// so a length of -1 (no initial response) and an empty response both
	// arrive as empty data. Both are reported as nil; neither can start a
	// valid SCRAM exchange.
	var clientFirst []byte
	if len(initial.Data) > 0 {
		// The message buffer is reused by the next Receive.
		clientFirst = slices.Clone(initial.Data)
	}
	return initial.AuthMechanism, clientFirst, nil
}

// ContinueSASL sends AuthenticationSASLContinue and returns the data of
// the client's SASLResponse.
func (e *wireExchange) ContinueSASL(data []byte) ([]byte, error) {
	msg, err := e.request(&pgproto3.AuthenticationSASLContinue{Data: data}, pgproto3.AuthTypeSASLContinue)
	if err != nil {
		return nil, err
	}
	resp, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return nil, unexpectedAuthMessage("SASL", msg)
	}
	return slices.Clone(resp.Data), nil
}

// FinishSASL queues AuthenticationSASLFinal. It goes out together with
// AuthenticationOk, as PostgreSQL sends them.
func (e *wireExchange) FinishSASL(data []byte) error {
	e.backend.Send(&pgproto3.AuthenticationSASLFinal{Data: data})
	return e.backend.SetAuthType(pgproto3.AuthTypeSASLFinal)
}

// request sends an authentication request and returns the client's reply.
// authType selects how pgproto3 decodes the reply, because all
// authentication replies share the message type 'p'.
func (e *wireExchange) request(msg pgproto3.BackendMessage, authType uint32) (pgproto3.FrontendMessage, error) {
	if err := e.backend.SetAuthType(authType); err != nil {
		return nil, err
	}
	e.backend.Send(msg)
	if err := e.backend.Flush(); err != nil {
		e.clientGone = true
		return nil, errClientGone
	}

	reply, err := e.backend.Receive()
	if err != nil {
		return nil, e.receiveError(err)
	}
	if _, ok := reply.(*pgproto3.Terminate); ok {
		e.clientGone = true
		return nil, errClientGone
	}
	return reply, nil
}

// receiveError classifies a failed Receive: the client went away, the
// connection timed out, or the message was invalid.
func (e *wireExchange) receiveError(err error) error {
	var tooLong *pgproto3.ExceededMaxBodyLenErr
	switch {
	case errors.As(err, &tooLong):
		return pgerror.New(pgcode.ProtocolViolation, "invalid message length").
			WithDetailf("The message body has %d bytes, more than the maximum of %d.",
				tooLong.ActualBodyLen, tooLong.MaxExpectedBodyLen).
			WithSeverity(pgerror.SeverityFatal)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return err
	case isIOError(err):
		e.clientGone = true
		return fmt.Errorf("%w: %w", errClientGone, err)
	default:
		return pgerror.New(pgcode.ProtocolViolation, "invalid message format").
			WithDetail(err.Error()).
			WithSeverity(pgerror.SeverityFatal)
	}
}

// isIOError reports whether err comes from the connection rather than from
// decoding a message.
func isIOError(err error) bool {
	var netErr net.Error
	return errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.As(err, &netErr)
}

func unexpectedAuthMessage(expected string, msg pgproto3.FrontendMessage) error {
	name := strings.TrimPrefix(fmt.Sprintf("%T", msg), "*pgproto3.")
	return pgerror.Newf(pgcode.ProtocolViolation, "expected %s response, got %s message", expected, name).
		WithSeverity(pgerror.SeverityFatal)
}
