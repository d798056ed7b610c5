package server

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"net"
)

// tlsState describes the TLS session of a connection.
type tlsState struct {
	version     uint16
	cipherSuite uint16
	// channelBinding is the tls-server-end-point channel binding data of
	// RFC 5929, or nil when it is undefined for the certificate.
	channelBinding []byte
}

// errTLSHandshake wraps a failed handshake after the server replied 'S'.
// The connection then closes without an ErrorResponse, because the client
// expects TLS records and cannot read one in plaintext.
var errTLSHandshake = errors.New("TLS handshake failed")

// prepareTLSConfig validates the TLS configuration of the server and returns
// the copy the server uses. It raises MinVersion to TLS 1.2 and disables
// session resumption.
func prepareTLSConfig(cfg *tls.Config) (*tls.Config, error) {
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil {
		return nil, errors.New("invalid server config: TLS has no certificate; set Certificates or GetCertificate")
	}
	// The server must see the certificate it sends, to compute the channel
	// binding data, and GetConfigForClient would hide it.
	if cfg.GetConfigForClient != nil {
		return nil, errors.New("invalid server config: TLS.GetConfigForClient is not supported; set Certificates or GetCertificate")
	}
	if cfg.MaxVersion != 0 && cfg.MaxVersion < tls.VersionTLS12 {
		return nil, fmt.Errorf("invalid server config: TLS.MaxVersion %s is below TLS 1.2", tls.VersionName(cfg.MaxVersion))
	}

	prepared := cfg.Clone()
	prepared.MinVersion = max(prepared.MinVersion, tls.VersionTLS12)
	// A resumed session skips GetCertificate, so the server would not know
	// which certificate the client binds to. PostgreSQL disables session
	// tickets and the session cache as well.
	prepared.SessionTicketsDisabled = true
	return prepared, nil
}

// startTLS runs the server side of the TLS handshake on conn, after the server
// replied 'S' to an SSLRequest.
func (s *Server) startTLS(ctx context.Context, conn net.Conn) (*tls.Conn, tlsState, error) {
	// Each connection gets its own copy of the config so that the
	// GetCertificate callback can record the certificate it chose.
	var served *tls.Certificate
	config := s.cfg.TLS.Clone()
	config.Certificates = nil // so that crypto/tls always calls GetCertificate
	config.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		cert, err := selectCertificate(s.cfg.TLS, hello)
		served = cert
		return cert, err
	}

	tlsConn := tls.Server(conn, config)
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		return nil, tlsState{}, fmt.Errorf("%w: %w", errTLSHandshake, err)
	}
	state := tlsConn.ConnectionState()
	return tlsConn, tlsState{
		version:        state.Version,
		cipherSuite:    state.CipherSuite,
		channelBinding: serverEndPointBinding(served),
	}, nil
}

// selectCertificate chooses the certificate for a handshake the way crypto/tls
// does for cfg: GetCertificate first when it applies, then the only
// certificate, then the first one the client supports, then the first one.
func selectCertificate(cfg *tls.Config, hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if cfg.GetCertificate != nil && (len(cfg.Certificates) == 0 || hello.ServerName != "") {
		cert, err := cfg.GetCertificate(hello)
		if cert != nil || err != nil {
			return cert, err
		}
	}
	if len(cfg.Certificates) == 0 {
		return nil, errors.New("no TLS certificate configured")
	}
	for i := range cfg.Certificates {
		if hello.SupportsCertificate(&cfg.Certificates[i]) == nil {
			return &cfg.Certificates[i], nil
		}
	}
	return &cfg.Certificates[0], nil
}

// serverEndPointBinding returns the tls-server-end-point channel binding data
// of cert (RFC 5929 section 4.1): the hash of its leaf certificate in DER. The
// hash is the one of the certificate's signature algorithm, except that MD5
// and SHA-1 are replaced by SHA-256. It returns nil when the binding is
// undefined, as for Ed25519, which signs without a separate hash function.
// The server then does not offer SCRAM-SHA-256-PLUS.
func serverEndPointBinding(cert *tls.Certificate) []byte {
	if cert == nil || len(cert.Certificate) == 0 {
		return nil
	}
	leaf := cert.Leaf
	if leaf == nil {
		parsed, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil
		}
		leaf = parsed
	}

	var h hash.Hash
	switch leaf.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.DSAWithSHA256, x509.ECDSAWithSHA256:
		h = sha256.New()
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		h = sha512.New384()
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		h = sha512.New()
	default:
		return nil
	}
	h.Write(leaf.Raw)
	return h.Sum(nil)
}
