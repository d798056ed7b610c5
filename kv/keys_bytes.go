package kv

import (
	"bytes"
)

// Text and bytea values are escaped so that they end with a terminator and
// still sort bytewise: each 0x00 byte becomes 0x00 0xff and the value ends
// with 0x00 0x01. The terminator sorts below every escaped byte, so a value
// sorts before the values it is a prefix of.
const (
	escapeByte     byte = 0x00
	escapedZero    byte = 0xff
	terminatorByte byte = 0x01
)

// EncodeText appends s, ordered bytewise by its UTF-8 bytes, which is
// PostgreSQL's order under the C collation.
func EncodeText(buf []byte, s string) []byte {
	buf = append(buf, tagText)
	return appendEscaped(buf, s)
}

// DecodeText decodes a text value from the start of buf.
func DecodeText(buf []byte) (string, []byte, error) {
	body, err := expectTag(buf, tagText, 0)
	if err != nil {
		return "", nil, err
	}
	value, rest, err := decodeEscaped(body)
	if err != nil {
		return "", nil, err
	}
	return string(value), rest, nil
}

// EncodeBytes appends b, ordered bytewise as PostgreSQL orders bytea.
func EncodeBytes(buf []byte, b []byte) []byte {
	buf = append(buf, tagBytes)
	return appendEscaped(buf, b)
}

// DecodeBytes decodes a bytea value from the start of buf. The result is a
// new slice that does not alias buf.
func DecodeBytes(buf []byte) ([]byte, []byte, error) {
	body, err := expectTag(buf, tagBytes, 0)
	if err != nil {
		return nil, nil, err
	}
	return decodeEscaped(body)
}

func appendEscaped[T string | []byte](buf []byte, s T) []byte {
	for {
		i := indexZero(s)
		if i < 0 {
			break
		}
		buf = append(buf, s[:i]...)
		buf = append(buf, escapeByte, escapedZero)
		s = s[i+1:]
	}
	buf = append(buf, s...)
	return append(buf, escapeByte, terminatorByte)
}

func indexZero[T string | []byte](s T) int {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return i
		}
	}
	return -1
}

// decodeEscaped unescapes the value at the start of buf and returns it as a
// new slice together with the bytes after its terminator.
func decodeEscaped(buf []byte) ([]byte, []byte, error) {
	value := make([]byte, 0, len(buf))
	for {
		i := bytes.IndexByte(buf, escapeByte)
		if i < 0 || i+1 >= len(buf) {
			return nil, nil, errInvalidKey("missing terminator of text or bytea value")
		}
		value = append(value, buf[:i]...)
		switch buf[i+1] {
		case terminatorByte:
			return value, buf[i+2:], nil
		case escapedZero:
			value = append(value, 0)
			buf = buf[i+2:]
		default:
			return nil, nil, errInvalidKey("escape sequence 0x00 0x%02x in text or bytea value", buf[i+1])
		}
	}
}

// escapedEnd returns the length of the escaped value at the start of buf,
// its terminator included.
func escapedEnd(buf []byte) (int, error) {
	offset := 0
	for {
		i := bytes.IndexByte(buf[offset:], escapeByte)
		if i < 0 || offset+i+1 >= len(buf) {
			return 0, errInvalidKey("missing terminator of text or bytea value")
		}
		offset += i + 2
		switch buf[offset-1] {
		case terminatorByte:
			return offset, nil
		case escapedZero:
		default:
			return 0, errInvalidKey("escape sequence 0x00 0x%02x in text or bytea value", buf[offset-1])
		}
	}
}
