package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

const (
	// Startup packet length limits, including the length word, as in
	// PostgreSQL: the smallest packet is a length and a request code, and
	// MAX_STARTUP_PACKET_LENGTH is 10,000 bytes.
	minStartupPacketLen = 8
	maxStartupPacketLen = 10_000

	// Request codes in place of a protocol version, from PostgreSQL's
	// pqcomm.h.
	cancelRequestCode = 80877102
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104

	protocolMajor = 3
	// protocolMinor is the newest minor version pgkeep speaks.
	protocolMinor = 0
	// protocolOptionPrefix starts the names of protocol options in the
	// startup packet, such as "_pq_.command_logging".
	protocolOptionPrefix = "_pq_."
)

// errInvalidStartupLength ends a connection without a reply, as PostgreSQL
// does for a startup packet of an invalid length.
var errInvalidStartupLength = errors.New("invalid length of startup packet")

// startupMessage is a parsed StartupMessage.
type startupMessage struct {
	minorVersion uint16
	params       map[string]string
	// unrecognizedOptions lists the "_pq_." options the client asked for,
	// sorted. pgkeep supports none.
	unrecognizedOptions []string
}

// cancelRequest is a parsed CancelRequest.
type cancelRequest struct {
	pid    uint32
	secret []byte
}

// readStartup reads startup packets until a StartupMessage or CancelRequest
// arrives. It replies 'N' to GSSENCRequest. It replies 'N' to SSLRequest when
// startTLS is nil, and otherwise replies 'S' and calls startTLS, whose
// connection carries the rest of the startup. It returns the connection to
// continue on. Exactly one of the messages is non-nil when err is nil.
func readStartup(conn net.Conn, startTLS func(net.Conn) (net.Conn, error)) (net.Conn, *startupMessage, *cancelRequest, error) {
	sslDone, gssDone := false, false
	for {
		packet, err := readStartupPacket(conn)
		if err != nil {
			return conn, nil, nil, err
		}

		code := binary.BigEndian.Uint32(packet)
		switch code {
		case sslRequestCode, gssEncRequestCode:
			if (code == sslRequestCode && sslDone) || (code == gssEncRequestCode && gssDone) {
				return conn, nil, nil, fatalStartupError(pgerror.New(pgcode.ProtocolViolation,
					"encryption negotiation already done on this connection"))
			}
			sslDone = sslDone || code == sslRequestCode
			gssDone = gssDone || code == gssEncRequestCode
			if code == gssEncRequestCode || startTLS == nil {
				if _, err := conn.Write([]byte{'N'}); err != nil {
					return conn, nil, nil, err
				}
				continue
			}

			if _, err := conn.Write([]byte{'S'}); err != nil {
				return conn, nil, nil, err
			}
			tlsConn, err := startTLS(conn)
			if err != nil {
				return conn, nil, nil, err
			}
			conn = tlsConn
			// As in PostgreSQL, GSSAPI encryption cannot follow TLS.
			gssDone = true
		case cancelRequestCode:
			if len(packet) < 8+secretKeyLen {
				return conn, nil, nil, errInvalidStartupLength
			}
			return conn, nil, &cancelRequest{pid: binary.BigEndian.Uint32(packet[4:]), secret: packet[8:]}, nil
		default:
			msg, err := parseStartupMessage(code, packet[4:])
			if err != nil {
				return conn, nil, nil, err
			}
			return conn, msg, nil, nil
		}
	}
}

// readStartupPacket reads one length-prefixed packet and returns it without
// its length word.
func readStartupPacket(conn net.Conn) ([]byte, error) {
	var header [4]byte
	if _, err := io.ReadFull(conn, header[:]); err != nil {
		return nil, err
	}
	length := int32(binary.BigEndian.Uint32(header[:]))
	if length < minStartupPacketLen || length > maxStartupPacketLen {
		return nil, fmt.Errorf("%w: %d bytes", errInvalidStartupLength, length)
	}

	packet := make([]byte, length-4)
	if _, err := io.ReadFull(conn, packet); err != nil {
		return nil, err
	}
	return packet, nil
}

// parseStartupMessage parses the body of a StartupMessage after the
// protocol version.
func parseStartupMessage(version uint32, body []byte) (*startupMessage, error) {
	major, minor := version>>16, uint16(version)
	if major != protocolMajor {
		return nil, fatalStartupError(pgerror.Newf(pgcode.FeatureNotSupported,
			"unsupported frontend protocol %d.%d: server supports %d.0 to %d.%d",
			major, minor, protocolMajor, protocolMajor, protocolMinor))
	}

	// The body is a sequence of NUL-terminated name and value strings,
	// ended by an empty name.
	if len(body) == 0 || body[len(body)-1] != 0 {
		return nil, fatalStartupError(pgerror.New(pgcode.ProtocolViolation,
			"invalid startup packet layout: expected terminator as last byte"))
	}
	msg := &startupMessage{minorVersion: minor, params: make(map[string]string)}
	rest := body[:len(body)-1]
	for len(rest) > 0 {
		name, afterName, ok := bytes.Cut(rest, []byte{0})
		if !ok {
			return nil, fatalStartupError(pgerror.New(pgcode.ProtocolViolation,
				"invalid startup packet layout: expected terminator as last byte"))
		}
		value, afterValue, ok := bytes.Cut(afterName, []byte{0})
		if !ok {
			return nil, fatalStartupError(pgerror.New(pgcode.ProtocolViolation,
				"invalid startup packet layout: expected terminator as last byte"))
		}
		rest = afterValue

		if strings.HasPrefix(string(name), protocolOptionPrefix) {
			msg.unrecognizedOptions = append(msg.unrecognizedOptions, string(name))
			continue
		}
		msg.params[string(name)] = string(value)
	}
	slices.Sort(msg.unrecognizedOptions)

	if msg.params["user"] == "" {
		return nil, fatalStartupError(pgerror.New(pgcode.InvalidAuthorizationSpecification,
			"no PostgreSQL user name specified in startup packet"))
	}
	if msg.params["database"] == "" {
		// libpq and PostgreSQL default the database to the user name.
		msg.params["database"] = msg.params["user"]
	}
	return msg, nil
}

// needsNegotiation reports whether the client asked for a newer minor
// version or for protocol options, so the server must reply with
// NegotiateProtocolVersion.
func (m *startupMessage) needsNegotiation() bool {
	return m.minorVersion > protocolMinor || len(m.unrecognizedOptions) > 0
}

func (m *startupMessage) negotiateProtocolVersion() *pgproto3.NegotiateProtocolVersion {
	return &pgproto3.NegotiateProtocolVersion{
		NewestMinorProtocol: protocolMinor,
		UnrecognizedOptions: m.unrecognizedOptions,
	}
}

// sessionParams returns the startup parameters for SessionInfo.Params.
func (m *startupMessage) sessionParams() map[string]string {
	params := make(map[string]string, len(m.params))
	for name, value := range m.params {
		if name == "user" || name == "database" {
			continue
		}
		params[name] = value
	}
	return params
}

// startupError is an error of the startup phase that is sent to the client
// as an ErrorResponse before the connection closes.
type startupError struct {
	err *pgerror.Error
}

func (e *startupError) Error() string { return e.err.Message }
func (e *startupError) Unwrap() error { return e.err }

func fatalStartupError(err *pgerror.Error) error {
	return &startupError{err: err.WithSeverity(pgerror.SeverityFatal)}
}
