package security

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"os"
	"slices"
	"sync"
	"time"
)

// JWT signing algorithms (RFC 7518 section 3.1, RFC 8037 for EdDSA) that
// JWTVerifier accepts. HS256 verifies only with JWTConfig.Secret, and every
// other algorithm only with a public key pinned to that algorithm.
const (
	algHS256 = "HS256"
	algRS256 = "RS256"
	algES256 = "ES256"
	algES384 = "ES384"
	algEdDSA = "EdDSA"
)

// rsaJWKSAlgorithms are the algorithms a JWKS entry may pin an RSA key to
// with its "alg" member. An RSA key without "alg" and every RSA key from a
// PEM file gets RS256.
var rsaJWKSAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}

// supportedJWTAlgorithms is the allow-list handed to the JWT parser. "none"
// and the HMAC variants other than HS256 are absent.
var supportedJWTAlgorithms = append([]string{algHS256, algES256, algES384, algEdDSA}, rsaJWKSAlgorithms...)

// minRSAKeyBits is the smallest RSA modulus accepted, the minimum that
// RFC 7518 section 3.3 requires for RS256.
const minRSAKeyBits = 2048

// maxJWKSFileBytes bounds the JWKS file read on each reload. Identity
// providers publish a few keys, a few KiB in all.
const maxJWKSFileBytes = 1 << 20

// verificationKey is one public key with the one algorithm it verifies.
type verificationKey struct {
	// kid is the JWKS key ID, empty for keys from PEM files.
	kid string
	alg string
	// key is *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey, the
	// types the golang-jwt signing methods expect.
	key any
	// source names the file and entry for logs, such as "keys.pem block 1".
	source string
}

// loadPEMKeys reads the public keys of PEM files. A file may contain several
// blocks of type PUBLIC KEY (PKIX), RSA PUBLIC KEY (PKCS #1) or CERTIFICATE.
// A private key block is an error, so that a key pair copied by mistake does
// not sit in the server's configuration.
func loadPEMKeys(paths []string) ([]verificationKey, error) {
	var keys []verificationKey
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading public key file: %w", err)
		}
		rest := data
		blockNumber := 0
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			blockNumber++
			source := fmt.Sprintf("%s block %d", path, blockNumber)
			key, err := parsePEMBlock(block)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", source, err)
			}
			alg, err := algorithmForKey(key)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", source, err)
			}
			keys = append(keys, verificationKey{alg: alg, key: key, source: source})
		}
		if blockNumber == 0 {
			return nil, fmt.Errorf("%s: no PEM block found: expected a PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE block", path)
		}
	}
	return keys, nil
}

func parsePEMBlock(block *pem.Block) (any, error) {
	switch block.Type {
	case "PUBLIC KEY":
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("invalid PUBLIC KEY block: %w", err)
		}
		return key, nil
	case "RSA PUBLIC KEY":
		key, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("invalid RSA PUBLIC KEY block: %w", err)
		}
		return key, nil
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("invalid CERTIFICATE block: %w", err)
		}
		return cert.PublicKey, nil
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("the file contains a %s block; give only the public key (openssl pkey -pubout)", block.Type)
	default:
		return nil, fmt.Errorf("unsupported PEM block type %q: expected PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
	}
}

// algorithmForKey returns the one algorithm a PEM key verifies: RS256 for
// RSA, ES256 for P-256, ES384 for P-384 and EdDSA for Ed25519.
func algorithmForKey(key any) (string, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if err := checkRSAKey(k); err != nil {
			return "", err
		}
		return algRS256, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return algES256, nil
		case elliptic.P384():
			return algES384, nil
		}
		return "", fmt.Errorf("unsupported elliptic curve %s: use P-256 (ES256) or P-384 (ES384)", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return algEdDSA, nil
	}
	return "", fmt.Errorf("unsupported public key type %T: use RSA, ECDSA P-256 or P-384, or Ed25519", key)
}

func checkRSAKey(k *rsa.PublicKey) error {
	if bits := k.N.BitLen(); bits < minRSAKeyBits {
		return fmt.Errorf("RSA key has %d bits, fewer than the minimum %d", bits, minRSAKeyBits)
	}
	return nil
}

// jsonWebKey is the subset of an RFC 7517 JSON Web Key that describes a
// public signing key. D is read only to reject private keys.
type jsonWebKey struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
	D   string `json:"d"`
}

// parseJWKS parses a JWK Set document (RFC 7517 section 5). Entries that are
// not public signing keys of a supported type, such as encryption keys,
// symmetric "oct" keys or keys with a private part, are skipped. The second
// result describes each skipped entry by position and kid, for the log.
func parseJWKS(data []byte) ([]verificationKey, []string, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, nil, fmt.Errorf("invalid JWKS JSON: %w", err)
	}
	if set.Keys == nil {
		return nil, nil, errors.New(`invalid JWKS: missing "keys" array`)
	}

	var keys []verificationKey
	var skipped []string
	for i, raw := range set.Keys {
		var jwk jsonWebKey
		if err := json.Unmarshal(raw, &jwk); err != nil {
			skipped = append(skipped, fmt.Sprintf("entry %d: invalid JSON object: %v", i+1, err))
			continue
		}
		key, err := jwk.verificationKey()
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("entry %d (kid %q): %v", i+1, jwk.Kid, err))
			continue
		}
		key.source = fmt.Sprintf("JWKS entry %d", i+1)
		keys = append(keys, key)
	}
	return keys, skipped, nil
}

// verificationKey converts the entry to a key pinned to one algorithm. An
// "alg" member that does not fit the key type is an error.
func (j *jsonWebKey) verificationKey() (verificationKey, error) {
	if j.Use != "" && j.Use != "sig" {
		return verificationKey{}, fmt.Errorf("use %q is not a signature key", j.Use)
	}
	if j.D != "" {
		return verificationKey{}, errors.New(`the entry contains a private key ("d"); publish only public keys`)
	}

	var key any
	var alg string
	var err error
	switch j.Kty {
	case "RSA":
		key, alg, err = j.rsaKey()
	case "EC":
		key, alg, err = j.ecKey()
	case "OKP":
		key, alg, err = j.okpKey()
	case "oct":
		return verificationKey{}, errors.New(`symmetric "oct" keys are not accepted; HS256 uses the configured secret only`)
	default:
		return verificationKey{}, fmt.Errorf("unsupported key type %q", j.Kty)
	}
	if err != nil {
		return verificationKey{}, err
	}
	return verificationKey{kid: j.Kid, alg: alg, key: key}, nil
}

func (j *jsonWebKey) rsaKey() (any, string, error) {
	alg := j.Alg
	if alg == "" {
		alg = algRS256
	}
	if !slices.Contains(rsaJWKSAlgorithms, alg) {
		return nil, "", fmt.Errorf("alg %q does not fit an RSA key", j.Alg)
	}
	n, err := decodeJWKInt(j.N, "n")
	if err != nil {
		return nil, "", err
	}
	e, err := decodeJWKInt(j.E, "e")
	if err != nil {
		return nil, "", err
	}
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > math.MaxInt32 || e.Bit(0) == 0 {
		return nil, "", errors.New(`invalid RSA exponent "e": it must be an odd number from 3 to 2^31-1`)
	}
	key := &rsa.PublicKey{N: n, E: int(e.Int64())}
	if err := checkRSAKey(key); err != nil {
		return nil, "", err
	}
	return key, alg, nil
}

func (j *jsonWebKey) ecKey() (any, string, error) {
	var curve elliptic.Curve
	var alg string
	switch j.Crv {
	case "P-256":
		curve, alg = elliptic.P256(), algES256
	case "P-384":
		curve, alg = elliptic.P384(), algES384
	default:
		return nil, "", fmt.Errorf("unsupported curve %q: use P-256 or P-384", j.Crv)
	}
	if j.Alg != "" && j.Alg != alg {
		return nil, "", fmt.Errorf("alg %q does not fit curve %s, which needs %s", j.Alg, j.Crv, alg)
	}

	size := (curve.Params().BitSize + 7) / 8
	x, err := decodeJWKBytes(j.X, "x")
	if err != nil {
		return nil, "", err
	}
	y, err := decodeJWKBytes(j.Y, "y")
	if err != nil {
		return nil, "", err
	}
	// RFC 7518 section 6.2.1.2 fixes the coordinate length to the field size.
	if len(x) != size || len(y) != size {
		return nil, "", fmt.Errorf("coordinates of a %s key must be %d bytes each, got %d and %d", j.Crv, size, len(x), len(y))
	}
	point := append(append([]byte{4}, x...), y...)
	key, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, "", fmt.Errorf("invalid %s point: %w", j.Crv, err)
	}
	return key, alg, nil
}

func (j *jsonWebKey) okpKey() (any, string, error) {
	if j.Crv != "Ed25519" {
		return nil, "", fmt.Errorf("unsupported OKP curve %q: use Ed25519", j.Crv)
	}
	if j.Alg != "" && j.Alg != algEdDSA {
		return nil, "", fmt.Errorf("alg %q does not fit an Ed25519 key, which needs EdDSA", j.Alg)
	}
	x, err := decodeJWKBytes(j.X, "x")
	if err != nil {
		return nil, "", err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, "", fmt.Errorf("an Ed25519 key must be %d bytes, got %d", ed25519.PublicKeySize, len(x))
	}
	return ed25519.PublicKey(x), algEdDSA, nil
}

// decodeJWKBytes decodes a base64url member without padding (RFC 7517
// section 2, "Base64url Encoding").
func decodeJWKBytes(value, member string) ([]byte, error) {
	if value == "" {
		return nil, fmt.Errorf("missing member %q", member)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("member %q is not valid base64url: %w", member, err)
	}
	return b, nil
}

func decodeJWKInt(value, member string) (*big.Int, error) {
	b, err := decodeJWKBytes(value, member)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}

// jwksFile is a JWKS file that is reloaded when it changes. Each login
// calls keys, which stats the file. When its modification time or size
// differ from the last load, it reads the file and replaces the keys
// if the content changed. A file that fails to load keeps the previous keys.
//
// NOTE: a rewrite that keeps size and modification time, possible on file
// systems with coarse timestamps, is only noticed after a later change.
type jwksFile struct {
	path   string
	logger *slog.Logger

	mu      sync.Mutex
	current []verificationKey
	// stat is the file information of the last load attempt, so that a
	// broken file is not reread and logged on every login.
	stat    fileStamp
	content [sha256.Size]byte
}

// fileStamp contains the fields of a stat that change when a file is
// rewritten or replaced.
type fileStamp struct {
	modTime time.Time
	size    int64
}

func stampOf(info os.FileInfo) fileStamp {
	return fileStamp{modTime: info.ModTime(), size: info.Size()}
}

func (s fileStamp) equal(other fileStamp) bool {
	return s.modTime.Equal(other.modTime) && s.size == other.size
}

func newJWKSFile(path string, logger *slog.Logger) (*jwksFile, error) {
	f := &jwksFile{path: path, logger: logger}
	stamp, data, err := readJWKSFile(path)
	if err != nil {
		return nil, err
	}
	keys, skipped, err := parseJWKS(data)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("JWKS file %s contains no usable signing key (%d skipped)", path, len(skipped))
	}
	f.logSkipped(skipped)
	f.current, f.stat, f.content = keys, stamp, sha256.Sum256(data)
	return f, nil
}

// keys returns the current keys, reloading the file first when it changed.
func (f *jwksFile) keys() []verificationKey {
	f.mu.Lock()
	defer f.mu.Unlock()

	info, err := os.Stat(f.path)
	if err != nil {
		if !f.stat.equal(fileStamp{}) {
			f.logger.Error("JWKS file is unreadable; keeping the previous keys", "file", f.path, "error", err)
			f.stat = fileStamp{}
		}
		return f.current
	}
	if stampOf(info).equal(f.stat) {
		return f.current
	}

	stamp, data, err := readJWKSFile(f.path)
	if err != nil {
		f.logger.Error("reloading JWKS file failed; keeping the previous keys", "file", f.path, "error", err)
		f.stat = stampOf(info)
		return f.current
	}
	f.stat = stamp
	sum := sha256.Sum256(data)
	if sum == f.content {
		return f.current
	}
	keys, skipped, err := parseJWKS(data)
	if err == nil && len(keys) == 0 {
		err = fmt.Errorf("no usable signing key (%d skipped)", len(skipped))
	}
	if err != nil {
		f.logger.Error("reloading JWKS file failed; keeping the previous keys", "file", f.path, "error", err)
		return f.current
	}
	f.logSkipped(skipped)
	f.current, f.content = keys, sum
	f.logger.Info("reloaded JWKS file", "file", f.path, "keys", len(keys), "key_ids", keyIDs(keys))
	return f.current
}

func (f *jwksFile) logSkipped(skipped []string) {
	for _, s := range skipped {
		f.logger.Warn("skipping JWKS entry", "file", f.path, "entry", s)
	}
}

func keyIDs(keys []verificationKey) []string {
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		ids = append(ids, k.kid)
	}
	return ids
}

// readJWKSFile reads at most maxJWKSFileBytes of path and the stamp of the
// opened file.
func readJWKSFile(path string) (fileStamp, []byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return fileStamp{}, nil, fmt.Errorf("reading JWKS file: %w", err)
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return fileStamp{}, nil, fmt.Errorf("reading JWKS file: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(file, maxJWKSFileBytes+1))
	if err != nil {
		return fileStamp{}, nil, fmt.Errorf("reading JWKS file %s: %w", path, err)
	}
	if len(data) > maxJWKSFileBytes {
		return fileStamp{}, nil, fmt.Errorf("JWKS file %s is larger than %d bytes", path, maxJWKSFileBytes)
	}
	return stampOf(info), bytes.TrimSpace(data), nil
}
