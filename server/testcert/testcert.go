// Package testcert generates a certificate authority and a server certificate
// for tests of TLS connections. It is for tests only: the keys are written
// unencrypted and the certificates are valid for one day.
package testcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// KeyType selects the key algorithm of the CA and the server certificate. The
// CA key decides the signature algorithm of the server certificate.
type KeyType int

const (
	// ECDSAP256 signs with ECDSA on P-256 and SHA-256.
	ECDSAP256 KeyType = iota
	// ECDSAP384 signs with ECDSA on P-384 and SHA-384.
	ECDSAP384
	// Ed25519 signs with Ed25519, which uses no separate hash function.
	Ed25519
)

// Files contains the generated certificates and their PEM files.
type Files struct {
	// CAFile is the CA certificate, for sslrootcert.
	CAFile string
	// CertFile and KeyFile are the server certificate and its PKCS #8 key.
	CertFile string
	KeyFile  string
	// CAPool contains the CA certificate, for a client's tls.Config.
	CAPool *x509.CertPool
	// Certificate is the server certificate with its key.
	Certificate tls.Certificate
}

// ServerConfig returns a tls.Config that serves the certificate.
func (f *Files) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{f.Certificate}}
}

// Generate creates a CA and a server certificate for localhost, 127.0.0.1
// and ::1 with ECDSA P-256 keys, and writes them to dir.
func Generate(t testing.TB, dir string) *Files {
	t.Helper()
	return GenerateKeyType(t, dir, ECDSAP256)
}

// GenerateKeyType is Generate with keys of the given type.
func GenerateKeyType(t testing.TB, dir string, keyType KeyType) *Files {
	t.Helper()
	caKey := newKey(t, keyType)
	serverKey := newKey(t, keyType)
	now := time.Now()

	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pgkeep test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, caKey.Public(), caKey)
	if err != nil {
		t.Fatalf("creating the CA certificate: %v", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("parsing the CA certificate: %v", err)
	}

	serverTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, serverTemplate, caCert, serverKey.Public(), caKey)
	if err != nil {
		t.Fatalf("creating the server certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		t.Fatalf("encoding the server key: %v", err)
	}

	files := &Files{
		CAFile:   filepath.Join(dir, "ca.crt"),
		CertFile: filepath.Join(dir, "server.crt"),
		KeyFile:  filepath.Join(dir, "server.key"),
		CAPool:   x509.NewCertPool(),
	}
	writePEM(t, files.CAFile, "CERTIFICATE", caDER, 0o644)
	writePEM(t, files.CertFile, "CERTIFICATE", serverDER, 0o644)
	writePEM(t, files.KeyFile, "PRIVATE KEY", keyDER, 0o600)
	files.CAPool.AddCert(caCert)

	files.Certificate, err = tls.LoadX509KeyPair(files.CertFile, files.KeyFile)
	if err != nil {
		t.Fatalf("loading the generated key pair: %v", err)
	}
	return files
}

func newKey(t testing.TB, keyType KeyType) crypto.Signer {
	t.Helper()
	var key crypto.Signer
	var err error
	switch keyType {
	case ECDSAP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case Ed25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("unknown key type %d", keyType)
	}
	if err != nil {
		t.Fatalf("generating a key: %v", err)
	}
	return key
}

func writePEM(t testing.TB, path, blockType string, der []byte, mode os.FileMode) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
}
