package kv

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Type tags, the first byte of every encoded key value. tagNull is the
// smallest, so NULL sorts before every other value of a column.
const (
	tagNull      byte = 0x01
	tagBool      byte = 0x02
	tagInt       byte = 0x03
	tagFloat     byte = 0x04
	tagNumeric   byte = 0x05
	tagText      byte = 0x06
	tagBytes     byte = 0x07
	tagTimestamp byte = 0x08
	tagDate      byte = 0x09
	tagUUID      byte = 0x0a
	tagTime      byte = 0x0b
)

// Kind is the type of an encoded key value.
type Kind byte

// The kinds of encoded key values, in the order their encodings sort.
const (
	KindNull      = Kind(tagNull)
	KindBool      = Kind(tagBool)
	KindInt       = Kind(tagInt)
	KindFloat     = Kind(tagFloat)
	KindNumeric   = Kind(tagNumeric)
	KindText      = Kind(tagText)
	KindBytes     = Kind(tagBytes)
	KindTimestamp = Kind(tagTimestamp)
	KindDate      = Kind(tagDate)
	KindUUID      = Kind(tagUUID)
	KindTime      = Kind(tagTime)
)

var kindNames = map[Kind]string{
	KindNull:      "null",
	KindBool:      "bool",
	KindInt:       "int",
	KindFloat:     "float",
	KindNumeric:   "numeric",
	KindText:      "text",
	KindBytes:     "bytea",
	KindTimestamp: "timestamp",
	KindDate:      "date",
	KindUUID:      "uuid",
	KindTime:      "time",
}

// String returns the name of the kind.
func (k Kind) String() string {
	if name, ok := kindNames[k]; ok {
		return name
	}
	return fmt.Sprintf("Kind(0x%02x)", byte(k))
}

// signBit flips the sign of a two's complement integer so that its
// big-endian bytes sort like the signed value.
const signBit = 1 << 63

// PeekKind returns the kind of the value at the start of buf.
func PeekKind(buf []byte) (Kind, error) {
	if len(buf) == 0 {
		return 0, errKeyTruncated("value")
	}
	kind := Kind(buf[0])
	if _, ok := kindNames[kind]; !ok {
		return 0, errInvalidKey("unknown type tag 0x%02x", buf[0])
	}
	return kind, nil
}

// SkipValue returns buf after the value at its start.
func SkipValue(buf []byte) ([]byte, error) {
	kind, err := PeekKind(buf)
	if err != nil {
		return nil, err
	}
	switch kind {
	case KindNull:
		return DecodeNull(buf)
	case KindText, KindBytes:
		end, err := escapedEnd(buf[1:])
		if err != nil {
			return nil, err
		}
		return buf[1+end:], nil
	case KindNumeric:
		_, rest, err := DecodeNumeric(buf)
		return rest, err
	}
	size := fixedSizes[kind]
	if len(buf) < 1+size {
		return nil, errKeyTruncated(kind.String())
	}
	return buf[1+size:], nil
}

// fixedSizes contains the size after the tag of the fixed-size kinds.
var fixedSizes = map[Kind]int{
	KindBool:      1,
	KindInt:       8,
	KindFloat:     8,
	KindTimestamp: 8,
	KindDate:      4,
	KindUUID:      16,
	KindTime:      8,
}

// EncodeNull appends a NULL, which sorts before every other value.
func EncodeNull(buf []byte) []byte {
	return append(buf, tagNull)
}

// IsNull reports whether buf starts with an encoded NULL.
func IsNull(buf []byte) bool {
	return len(buf) > 0 && buf[0] == tagNull
}

// DecodeNull consumes a NULL from the start of buf.
func DecodeNull(buf []byte) ([]byte, error) {
	rest, err := expectTag(buf, tagNull, 0)
	if err != nil {
		return nil, err
	}
	return rest, nil
}

// EncodeBool appends b. False sorts before true.
func EncodeBool(buf []byte, b bool) []byte {
	if b {
		return append(buf, tagBool, 1)
	}
	return append(buf, tagBool, 0)
}

// DecodeBool decodes a bool from the start of buf.
func DecodeBool(buf []byte) (bool, []byte, error) {
	body, err := expectTag(buf, tagBool, 1)
	if err != nil {
		return false, nil, err
	}
	if body[0] > 1 {
		return false, nil, errInvalidKey("bool byte 0x%02x", body[0])
	}
	return body[0] == 1, body[1:], nil
}

// EncodeInt64 appends v, which covers smallint, integer and bigint.
func EncodeInt64(buf []byte, v int64) []byte {
	buf = append(buf, tagInt)
	return binary.BigEndian.AppendUint64(buf, uint64(v)^signBit)
}

// DecodeInt64 decodes an integer from the start of buf.
func DecodeInt64(buf []byte) (int64, []byte, error) {
	body, err := expectTag(buf, tagInt, 8)
	if err != nil {
		return 0, nil, err
	}
	return int64(binary.BigEndian.Uint64(body) ^ signBit), body[8:], nil
}

// EncodeFloat64 appends f in PostgreSQL's order for double precision:
// -Inf, negative numbers, zero (-0 and +0 encode the same), positive
// numbers, +Inf and then NaN. Every NaN encodes the same.
func EncodeFloat64(buf []byte, f float64) []byte {
	buf = append(buf, tagFloat)
	return binary.BigEndian.AppendUint64(buf, floatToOrdered(f))
}

// DecodeFloat64 decodes a float from the start of buf. A zero decodes as
// +0.
func DecodeFloat64(buf []byte) (float64, []byte, error) {
	body, err := expectTag(buf, tagFloat, 8)
	if err != nil {
		return 0, nil, err
	}
	return orderedToFloat(binary.BigEndian.Uint64(body)), body[8:], nil
}

// floatToOrdered maps f to an unsigned integer that sorts like f. Flipping
// the sign bit of a positive float and all bits of a negative one orders
// the IEEE 754 bit patterns by value. NaN takes the largest integer.
func floatToOrdered(f float64) uint64 {
	if math.IsNaN(f) {
		return math.MaxUint64
	}
	if f == 0 {
		f = 0 // replaces -0 with +0
	}
	bits := math.Float64bits(f)
	if bits&signBit != 0 {
		return ^bits
	}
	return bits | signBit
}

func orderedToFloat(u uint64) float64 {
	if u == math.MaxUint64 {
		return math.NaN()
	}
	if u&signBit != 0 {
		return math.Float64frombits(u &^ signBit)
	}
	return math.Float64frombits(^u)
}

// EncodeTimestamp appends t as microseconds since the Unix epoch, the
// resolution of PostgreSQL's timestamp and timestamptz. Nanoseconds are
// dropped (rounded toward minus infinity), so instants within the same
// microsecond encode the same.
func EncodeTimestamp(buf []byte, t time.Time) []byte {
	return EncodeTimestampMicros(buf, t.UnixMicro())
}

// DecodeTimestamp decodes a timestamp from the start of buf as a UTC time.
func DecodeTimestamp(buf []byte) (time.Time, []byte, error) {
	micros, rest, err := DecodeTimestampMicros(buf)
	if err != nil {
		return time.Time{}, nil, err
	}
	return time.UnixMicro(micros).UTC(), rest, nil
}

// EncodeTimestampMicros appends a timestamp given as microseconds since the
// Unix epoch. Callers can encode PostgreSQL's -infinity and infinity as
// math.MinInt64 and math.MaxInt64.
func EncodeTimestampMicros(buf []byte, micros int64) []byte {
	buf = append(buf, tagTimestamp)
	return binary.BigEndian.AppendUint64(buf, uint64(micros)^signBit)
}

// DecodeTimestampMicros decodes a timestamp from the start of buf as
// microseconds since the Unix epoch.
func DecodeTimestampMicros(buf []byte) (int64, []byte, error) {
	body, err := expectTag(buf, tagTimestamp, 8)
	if err != nil {
		return 0, nil, err
	}
	return int64(binary.BigEndian.Uint64(body) ^ signBit), body[8:], nil
}

// EncodeDate appends a date given as days since 1970-01-01, negative before
// it. PostgreSQL's date range (4713 BC to 5874897 AD) fits in an int32.
func EncodeDate(buf []byte, days int32) []byte {
	buf = append(buf, tagDate)
	return binary.BigEndian.AppendUint32(buf, uint32(days)^(1<<31))
}

// DecodeDate decodes a date from the start of buf as days since 1970-01-01.
func DecodeDate(buf []byte) (int32, []byte, error) {
	body, err := expectTag(buf, tagDate, 4)
	if err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(body) ^ (1 << 31)), body[4:], nil
}

// EncodeTime appends a time of day given as microseconds since midnight,
// PostgreSQL's representation of time without time zone (0 to 86400000000,
// where the top value is 24:00:00). Any int64 round-trips and keeps its order.
func EncodeTime(buf []byte, micros int64) []byte {
	buf = append(buf, tagTime)
	return binary.BigEndian.AppendUint64(buf, uint64(micros)^signBit)
}

// DecodeTime decodes a time of day from the start of buf as microseconds
// since midnight.
func DecodeTime(buf []byte) (int64, []byte, error) {
	body, err := expectTag(buf, tagTime, 8)
	if err != nil {
		return 0, nil, err
	}
	return int64(binary.BigEndian.Uint64(body) ^ signBit), body[8:], nil
}

// EncodeUUID appends a UUID. UUIDs sort bytewise, as in PostgreSQL.
func EncodeUUID(buf []byte, id [16]byte) []byte {
	buf = append(buf, tagUUID)
	return append(buf, id[:]...)
}

// DecodeUUID decodes a UUID from the start of buf.
func DecodeUUID(buf []byte) ([16]byte, []byte, error) {
	var id [16]byte
	body, err := expectTag(buf, tagUUID, 16)
	if err != nil {
		return id, nil, err
	}
	copy(id[:], body)
	return id, body[16:], nil
}

// EncodeUint32 appends v as 4 big-endian bytes without a type tag, for the
// table and index IDs at the start of keys.
func EncodeUint32(buf []byte, v uint32) []byte {
	return binary.BigEndian.AppendUint32(buf, v)
}

// DecodeUint32 decodes a value that EncodeUint32 appended.
func DecodeUint32(buf []byte) (uint32, []byte, error) {
	if len(buf) < 4 {
		return 0, nil, errKeyTruncated("uint32")
	}
	return binary.BigEndian.Uint32(buf), buf[4:], nil
}

// PrefixEnd returns the smallest key greater than every key that starts
// with prefix, for use as an exclusive upper bound. It returns nil, which
// NewIterator reads as no upper bound, when no such key exists because
// prefix is empty or consists of 0xff bytes only. prefix is not modified.
func PrefixEnd(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xff {
			end := append([]byte(nil), prefix[:i+1]...)
			end[i]++
			return end
		}
	}
	return nil
}

// expectTag checks that buf starts with tag followed by at least size
// bytes, and returns buf after the tag.
func expectTag(buf []byte, tag byte, size int) ([]byte, error) {
	kind := Kind(tag)
	if len(buf) == 0 {
		return nil, errKeyTruncated(kind.String())
	}
	if buf[0] != tag {
		return nil, errInvalidKey("expected %s, found %s", kind, Kind(buf[0]))
	}
	if len(buf) < 1+size {
		return nil, errKeyTruncated(kind.String())
	}
	return buf[1:], nil
}

func errInvalidKey(format string, args ...any) error {
	return pgerror.Newf(pgcode.DataCorrupted, "kv: invalid key encoding: "+format, args...)
}

func errKeyTruncated(kind string) error {
	return pgerror.Newf(pgcode.DataCorrupted, "kv: invalid key encoding: %s value is truncated", kind)
}
