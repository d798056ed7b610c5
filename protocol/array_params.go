package protocol

import (
	"encoding/binary"
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// maxArrayDims is PostgreSQL's limit on array dimensions.
const maxArrayDims = 6

// ErrMalformedBinaryArray reports binary array data whose lengths do not
// add up. Callers turn it into their own 22P03 message.
var ErrMalformedBinaryArray = errors.New("malformed binary array")

// DecodeBinaryArray parses PostgreSQL's binary array format: the number of
// dimensions, a has-NULL flag, the element type OID, a length and lower
// bound per dimension, then each element as a length (-1 for NULL) and
// its bytes, which decodeElem converts. The result keeps the dimensions.
// Element types other than elemOID fail with 42804 and lower bounds other
// than 1 with 0A000.
func DecodeBinaryArray(src []byte, elemOID uint32, decodeElem func([]byte) (any, error)) (pgtype.Array[any], error) {
	var none pgtype.Array[any]
	if len(src) < 12 {
		return none, ErrMalformedBinaryArray
	}
	ndims := int32(binary.BigEndian.Uint32(src))
	if ndims < 0 || ndims > maxArrayDims {
		return none, pgerror.Newf(pgcode.InvalidParameterValue, "invalid number of dimensions: %d", ndims)
	}
	if got := binary.BigEndian.Uint32(src[8:]); got != elemOID {
		return none, pgerror.Newf(pgcode.DatatypeMismatch, "binary data has array element type %d instead of expected %d", got, elemOID)
	}
	rest := src[12:]
	if len(rest) < int(ndims)*8 {
		return none, ErrMalformedBinaryArray
	}
	dims := make([]pgtype.ArrayDimension, ndims)
	count := 1
	for d := range dims {
		length := int32(binary.BigEndian.Uint32(rest))
		lower := int32(binary.BigEndian.Uint32(rest[4:]))
		rest = rest[8:]
		// Each element takes at least its 4-byte length, which bounds
		// the count before anything is allocated.
		if length < 0 || count*int(length) > len(rest)/4 {
			return none, ErrMalformedBinaryArray
		}
		if lower != 1 && length > 0 {
			return none, pgerror.NotSupported("array lower bounds other than 1")
		}
		dims[d] = pgtype.ArrayDimension{Length: length, LowerBound: lower}
		count *= int(length)
	}
	if ndims == 0 {
		count = 0
	}

	elems := make([]any, count)
	for k := range elems {
		if len(rest) < 4 {
			return none, ErrMalformedBinaryArray
		}
		n := int32(binary.BigEndian.Uint32(rest))
		rest = rest[4:]
		if n == -1 {
			continue
		}
		if n < 0 || int(n) > len(rest) {
			return none, ErrMalformedBinaryArray
		}
		v, err := decodeElem(rest[:n])
		if err != nil {
			return none, err
		}
		elems[k] = v
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return none, ErrMalformedBinaryArray
	}
	return pgtype.Array[any]{Elements: elems, Dims: dims, Valid: true}, nil
}

// decodeBinaryArray decodes parameter i, a binary array whose elements
// are of type elemOID. Each element goes through decodeParam, so it is
// decoded like a scalar parameter of its type.
func (c *Conn) decodeBinaryArray(i int, elemOID uint32, src []byte) (any, error) {
	a, err := DecodeBinaryArray(src, elemOID, func(b []byte) (any, error) {
		return c.decodeParam(i, elemOID, pgproto3.BinaryFormat, b)
	})
	if errors.Is(err, ErrMalformedBinaryArray) {
		return nil, pgerror.Newf(pgcode.InvalidBinaryRepresentation, "incorrect binary data format in bind parameter %d", i+1)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// arrayElementOID returns the element type of an array type that pgtype
// has a codec for, or false.
func (c *Conn) arrayElementOID(oid uint32) (uint32, bool) {
	typ, ok := c.typeMap.TypeForOID(oid)
	if !ok {
		return 0, false
	}
	codec, ok := typ.Codec.(*pgtype.ArrayCodec)
	if !ok {
		return 0, false
	}
	return codec.ElementType.OID, true
}
