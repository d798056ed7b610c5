package kv

import (
	"encoding/binary"
	"math"

	"github.com/cockroachdb/apd/v3"
)

// Classes of numeric values, the byte after tagNumeric, in PostgreSQL's
// order: -Infinity, negative numbers, zero, positive numbers, Infinity and
// NaN. PostgreSQL treats NaN as equal to itself and larger than every
// other value.
const (
	numericNegInf byte = 0x01
	numericNeg    byte = 0x02
	numericZero   byte = 0x03
	numericPos    byte = 0x04
	numericPosInf byte = 0x05
	numericNaN    byte = 0x06
)

// numericEnd ends the digits of a positive number. The inverted encoding of
// a negative number ends with its complement, 0xff.
const numericEnd byte = 0x00

// maxRestoredZeros bounds the trailing zeros DecodeNumeric appends to a
// coefficient whose exponent does not fit in an int32 otherwise, so that
// corrupt input cannot make it allocate without limit.
const maxRestoredZeros = 1 << 16

// EncodeNumeric appends d, ordered by value: numbers that differ only in
// trailing zeros, such as 1.0 and 1.00, encode the same. Signaling NaN
// encodes like NaN, and -0 like 0.
//
// A finite nonzero number is written as 0.d1d2d3... × 10^e with d1 != 0 and
// no trailing zeros: the class byte, e as a sign-flipped big-endian int64,
// one byte per pair of digits (value + 1, so 1 to 100, with a lone last
// digit padded by a 0), and numericEnd. For a negative number every byte
// after the class byte is inverted, so a larger magnitude sorts first.
func EncodeNumeric(buf []byte, d *apd.Decimal) []byte {
	buf = append(buf, tagNumeric)
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return append(buf, numericNaN)
	case apd.Infinite:
		if d.Negative {
			return append(buf, numericNegInf)
		}
		return append(buf, numericPosInf)
	}
	if d.Coeff.Sign() == 0 {
		return append(buf, numericZero)
	}

	var scratch [64]byte
	digits := d.Coeff.Append(scratch[:0], 10)
	exponent := int64(d.Exponent)
	for digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exponent++
	}
	e := exponent + int64(len(digits))

	if d.Negative {
		buf = append(buf, numericNeg)
	} else {
		buf = append(buf, numericPos)
	}
	start := len(buf)
	buf = binary.BigEndian.AppendUint64(buf, uint64(e)^signBit)
	for i := 0; i < len(digits); i += 2 {
		pair := (digits[i] - '0') * 10
		if i+1 < len(digits) {
			pair += digits[i+1] - '0'
		}
		buf = append(buf, pair+1)
	}
	buf = append(buf, numericEnd)
	if d.Negative {
		for i := start; i < len(buf); i++ {
			buf[i] = ^buf[i]
		}
	}
	return buf
}

// DecodeNumeric decodes a numeric value from the start of buf. The result
// equals the encoded value but carries no trailing zeros: 1.50 decodes as
// 1.5 and 100 as 1E+2.
func DecodeNumeric(buf []byte) (*apd.Decimal, []byte, error) {
	body, err := expectTag(buf, tagNumeric, 1)
	if err != nil {
		return nil, nil, err
	}
	class, body := body[0], body[1:]
	switch class {
	case numericNaN:
		return &apd.Decimal{Form: apd.NaN}, body, nil
	case numericNegInf:
		return &apd.Decimal{Form: apd.Infinite, Negative: true}, body, nil
	case numericPosInf:
		return &apd.Decimal{Form: apd.Infinite}, body, nil
	case numericZero:
		return &apd.Decimal{}, body, nil
	case numericNeg, numericPos:
	default:
		return nil, nil, errInvalidKey("numeric class byte 0x%02x", class)
	}

	// flip undoes the inversion of a negative number's bytes.
	var flip byte
	if class == numericNeg {
		flip = 0xff
	}
	if len(body) < 8 {
		return nil, nil, errKeyTruncated("numeric")
	}
	var eBytes [8]byte
	for i := range eBytes {
		eBytes[i] = body[i] ^ flip
	}
	e := int64(binary.BigEndian.Uint64(eBytes[:]) ^ signBit)
	body = body[8:]

	digits := make([]byte, 0, 2*len(body))
	for {
		if len(body) == 0 {
			return nil, nil, errKeyTruncated("numeric")
		}
		b := body[0] ^ flip
		body = body[1:]
		if b == numericEnd {
			break
		}
		if b < 1 || b > 100 {
			return nil, nil, errInvalidKey("numeric digit byte 0x%02x", b)
		}
		pair := b - 1
		digits = append(digits, '0'+pair/10, '0'+pair%10)
	}
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 || digits[0] == '0' {
		return nil, nil, errInvalidKey("numeric digits are not normalized")
	}

	exponent := e - int64(len(digits))
	if exponent > math.MaxInt32 && exponent-math.MaxInt32 <= maxRestoredZeros {
		// Stripping the trailing zeros of a coefficient raised the exponent
		// past the int32 range of apd.Decimal, so put enough of them back.
		for ; exponent > math.MaxInt32; exponent-- {
			digits = append(digits, '0')
		}
	}
	if exponent < math.MinInt32 || exponent > math.MaxInt32 {
		return nil, nil, errInvalidKey("numeric exponent %d is out of range", exponent)
	}
	d := &apd.Decimal{Negative: class == numericNeg, Exponent: int32(exponent)}
	if _, ok := d.Coeff.SetString(string(digits), 10); !ok {
		return nil, nil, errInvalidKey("numeric digits %q", digits)
	}
	return d, body, nil
}
