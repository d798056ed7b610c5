package executor

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
)

// Array values are []any with lower bound 1 in every dimension. A
// multidimensional array nests: each element of a two-dimensional array is
// a []any holding one row, and all rows have the same length. The empty
// array is an empty []any and has no dimensions, as in PostgreSQL. Array
// elements are never arrays themselves, so a []any element always means
// one more dimension.
//
// NOTE: arrays with lower bounds other than 1 ('[0:1]={1,2}') are not
// supported, so subscripts always count from 1.

// maxArrayDims is PostgreSQL's MAXDIM.
const maxArrayDims = 6

// arrayDims returns the length of each dimension of a, or nil for the
// empty array.
func arrayDims(a []any) []int {
	var dims []int
	for len(a) > 0 {
		dims = append(dims, len(a))
		sub, ok := a[0].([]any)
		if !ok {
			break
		}
		a = sub
	}
	return dims
}

// isMultiDim reports whether a has more than one dimension.
func isMultiDim(a []any) bool {
	if len(a) == 0 {
		return false
	}
	_, ok := a[0].([]any)
	return ok
}

// flattenArray appends the elements of a to out in row-major order.
func flattenArray(out, a []any) []any {
	for _, v := range a {
		if sub, ok := v.([]any); ok {
			out = flattenArray(out, sub)
			continue
		}
		out = append(out, v)
	}
	return out
}

// arrayElements returns the elements of a in row-major order, a itself
// when it has one dimension.
func arrayElements(a []any) []any {
	if !isMultiDim(a) {
		return a
	}
	return flattenArray(make([]any, 0, arrayCardinality(a)), a)
}

// arrayCardinality returns the number of elements of a.
func arrayCardinality(a []any) int {
	n := 1
	for _, d := range arrayDims(a) {
		n *= d
	}
	if len(a) == 0 {
		return 0
	}
	return n
}

// reshapeArray arranges flat elements into an array with the given
// dimensions, whose product must be len(flat).
func reshapeArray(flat []any, dims []int) []any {
	if len(dims) <= 1 {
		return flat
	}
	step := len(flat) / dims[0]
	out := make([]any, dims[0])
	for i := range out {
		out[i] = reshapeArray(flat[i*step:(i+1)*step], dims[1:])
	}
	return out
}

// mapArray returns a new array of the same shape as a with f applied to
// every non-NULL element.
func mapArray(a []any, f func(any) (any, error)) ([]any, error) {
	out := make([]any, len(a))
	for i, v := range a {
		var err error
		switch x := v.(type) {
		case nil:
		case []any:
			out[i], err = mapArray(x, f)
		default:
			out[i], err = f(x)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// elemType is the type of the elements of an array of type typ. An array
// column's type modifier applies to its elements, as in PostgreSQL.
func elemType(typ catalog.ColumnType) catalog.ColumnType {
	return catalog.ColumnType{OID: arrayElem(typ.OID), TypMod: typ.TypMod}
}

// castArray converts the elements of a from type from to the element
// type of the array type typ.
func castArray(a []any, from uint32, typ catalog.ColumnType, assignment bool, loc *time.Location) ([]any, error) {
	to := elemType(typ)
	if from == to.OID && to.TypMod < 0 {
		return a, nil
	}
	return mapArray(a, func(v any) (any, error) {
		return castDatum(v, from, to, assignment, loc)
	})
}

// formatArray renders an array in PostgreSQL's text output format, such
// as {1,NULL,"a b"}. loc is the time zone timestamptz elements print in,
// UTC when nil.
func formatArray(a []any, elem uint32, loc *time.Location) string {
	return string(appendArrayText(nil, a, elem, loc))
}

func appendArrayText(buf []byte, a []any, elem uint32, loc *time.Location) []byte {
	buf = append(buf, '{')
	for i, v := range a {
		if i > 0 {
			buf = append(buf, ',')
		}
		switch x := v.(type) {
		case nil:
			buf = append(buf, "NULL"...)
		case []any:
			buf = appendArrayText(buf, x, elem, loc)
		default:
			buf = appendArrayElement(buf, arrayElementText(x, elem, loc))
		}
	}
	return append(buf, '}')
}

// arrayElementText renders one element with its type's output function,
// which prints booleans as t and f.
func arrayElementText(v any, elem uint32, loc *time.Location) string {
	if t, ok := v.(time.Time); ok && elem == oidTimestamptz && loc != nil {
		v = t.In(loc)
	}
	return formatDatum(v, elem)
}

// appendArrayElement appends an element's text, double-quoted when it is
// empty, reads as NULL or holds a character that array input treats
// specially.
func appendArrayElement(buf []byte, s string) []byte {
	if s != "" && !strings.EqualFold(s, "null") && !strings.ContainsAny(s, "{}\",\\ \t\n\r\v\f") {
		return append(buf, s...)
	}
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			buf = append(buf, '\\')
		}
		buf = append(buf, s[i])
	}
	return append(buf, '"')
}

// compareArrays orders arrays as PostgreSQL's btree operators do: element
// by element in row-major order with NULL above every value, then by the
// number of elements, the number of dimensions and the dimension lengths.
// elem is the element type, or 0 when the caller does not know it.
func compareArrays(a, b []any, elem uint32) int {
	ea, eb := arrayElements(a), arrayElements(b)
	for i := 0; i < len(ea) && i < len(eb); i++ {
		switch {
		case ea[i] == nil && eb[i] == nil:
			continue
		case ea[i] == nil:
			return 1
		case eb[i] == nil:
			return -1
		}
		if c := compareTyped(ea[i], eb[i], elem); c != 0 {
			return c
		}
	}
	if c := cmpInt(int64(len(ea)), int64(len(eb))); c != 0 {
		return c
	}
	da, db := arrayDims(a), arrayDims(b)
	if c := cmpInt(int64(len(da)), int64(len(db))); c != 0 {
		return c
	}
	for i := range da {
		if c := cmpInt(int64(da[i]), int64(db[i])); c != 0 {
			return c
		}
	}
	return 0
}

// Markers of the array key encoding. Each element starts with a marker,
// so the end marker sorts a prefix before the longer array and a NULL
// element after every value, as compareArrays orders them.
const (
	arrayKeyEnd     byte = 0x01
	arrayKeyElement byte = 0x02
	arrayKeyNull    byte = 0x03
)

// encodeArrayKey appends the order-preserving key form of an array: the
// elements, the end marker, the number of dimensions and their lengths,
// wrapped as bytes so that the kv encoding can skip over it.
func encodeArrayKey(buf []byte, a []any, elem uint32) ([]byte, error) {
	var body []byte
	var err error
	for _, v := range arrayElements(a) {
		if v == nil {
			body = append(body, arrayKeyNull)
			continue
		}
		body = append(body, arrayKeyElement)
		if body, err = encodeKeyDatum(body, v, elem); err != nil {
			return nil, err
		}
	}
	body = append(body, arrayKeyEnd)
	dims := arrayDims(a)
	body = append(body, byte(len(dims)))
	for _, d := range dims {
		body = binary.BigEndian.AppendUint32(body, uint32(d))
	}
	return kv.EncodeBytes(buf, body), nil
}

// arrayValueVersion starts the stored form of an array, so that the
// format can change without rewriting old rows.
const arrayValueVersion = 1

// encodeArrayValue appends the stored form of an array: a version byte,
// the number of dimensions and their lengths as uvarints, then each
// element in row-major order in its stored form or as a kv NULL. The whole
// is wrapped as bytes, so that rows with a dropped array column skip it.
func encodeArrayValue(buf []byte, a []any, elem uint32) ([]byte, error) {
	dims := arrayDims(a)
	body := []byte{arrayValueVersion}
	body = binary.AppendUvarint(body, uint64(len(dims)))
	for _, d := range dims {
		body = binary.AppendUvarint(body, uint64(d))
	}
	var err error
	for _, v := range arrayElements(a) {
		if v == nil {
			body = kv.EncodeNull(body)
			continue
		}
		if body, err = encodeValueDatum(body, v, elem); err != nil {
			return nil, err
		}
	}
	return kv.EncodeBytes(buf, body), nil
}

// decodeArrayValue decodes the stored form of an array of type oid.
func decodeArrayValue(buf []byte, oid uint32) (any, []byte, error) {
	body, rest, err := kv.DecodeBytes(buf)
	if err != nil {
		return nil, nil, err
	}
	corrupt := func() error { return pgerror.Internal("corrupt stored value of type %s", typeName(oid)) }
	if len(body) == 0 || body[0] != arrayValueVersion {
		return nil, nil, corrupt()
	}

	body = body[1:]
	ndims, n := binary.Uvarint(body)
	if n <= 0 || ndims > maxArrayDims {
		return nil, nil, corrupt()
	}
	body = body[n:]
	dims := make([]int, ndims)
	count := 1
	for i := range dims {
		d, n := binary.Uvarint(body)
		if n <= 0 || d == 0 || d > uint64(len(body)) {
			return nil, nil, corrupt()
		}
		dims[i] = int(d)
		count *= int(d)
		body = body[n:]
	}
	if ndims == 0 {
		count = 0
	}
	if count > len(body) {
		return nil, nil, corrupt()
	}

	elem := arrayElem(oid)
	flat := make([]any, count)
	for i := range flat {
		if kv.IsNull(body) {
			if body, err = kv.DecodeNull(body); err != nil {
				return nil, nil, err
			}
			continue
		}
		if flat[i], body, err = decodeValueDatum(body, elem); err != nil {
			return nil, nil, err
		}
	}
	if len(body) != 0 {
		return nil, nil, corrupt()
	}
	return reshapeArray(flat, dims), rest, nil
}

// wireArray is an array result value as the protocol encodes it. It is a
// pgtype.TextValuer, so the text format is PostgreSQL's array output
// built here, and a pgtype.ArrayGetter, so pgtype's array codec writes
// the binary format with each element's own codec.
type wireArray struct {
	array []any
	elem  uint32
	loc   *time.Location
	// flat and dims are built on first use by the binary encoding.
	flat []any
	dims []pgtype.ArrayDimension
}

func newWireArray(a []any, elem uint32, loc *time.Location) *wireArray {
	return &wireArray{array: a, elem: elem, loc: loc}
}

// TextValue returns the array's text output.
func (w *wireArray) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: formatArray(w.array, w.elem, w.loc), Valid: true}, nil
}

// Dimensions returns the dimensions, each with lower bound 1, and converts
// the elements to the Go types pgtype's element codecs take.
func (w *wireArray) Dimensions() []pgtype.ArrayDimension {
	if w.dims != nil {
		return w.dims
	}
	w.dims = []pgtype.ArrayDimension{}
	for _, d := range arrayDims(w.array) {
		w.dims = append(w.dims, pgtype.ArrayDimension{Length: int32(d), LowerBound: 1})
	}
	w.flat = flattenArray(nil, w.array)
	for i, v := range w.flat {
		switch x := v.(type) {
		case *apd.Decimal:
			w.flat[i] = numericToPgtype(x)
		case time.Time:
			if w.elem == oidTimestamptz && w.loc != nil {
				w.flat[i] = x.In(w.loc)
			}
		}
	}
	return w.dims
}

// Index returns element i in row-major order.
func (w *wireArray) Index(i int) any { return w.flat[i] }

// IndexType returns nil, so the codec plans each element by its Go type.
func (w *wireArray) IndexType() any { return nil }

// arrayDimsText renders array_dims' output, such as [1:2][1:3].
func arrayDimsText(dims []int) string {
	var b strings.Builder
	for _, d := range dims {
		b.WriteString("[1:")
		b.WriteString(strconv.Itoa(d))
		b.WriteByte(']')
	}
	return b.String()
}

// checkArrayElemType fails with 42704 when the element type has no array
// type, as PostgreSQL does for ARRAY[...] and array_agg.
func checkArrayElemType(elem uint32) (uint32, error) {
	typ := arrayOf(elem)
	if typ == 0 || isArrayType(elem) {
		return 0, pgerror.Newf(pgcode.UndefinedObject, "could not find array type for data type %s", typeName(elem))
	}
	return typ, nil
}

// decodeBinaryArray converts a binary COPY field of an array type, each
// element decoded as a field of the element type.
func (s *copySource) decodeBinaryArray(data []byte, typ catalog.ColumnType) (any, error) {
	elem := elemType(typ)
	a, err := protocol.DecodeBinaryArray(data, elem.OID, func(b []byte) (any, error) {
		return s.decodeBinary(b, elem)
	})
	if errors.Is(err, protocol.ErrMalformedBinaryArray) {
		return nil, pgerror.New(pgcode.InvalidBinaryRepresentation, "incorrect binary data format")
	}
	if err != nil {
		return nil, err
	}
	return reshapeByDims(a.Elements, a.Dims), nil
}

// reshapeByDims arranges decoded elements in the dimensions of a binary
// array, or in one dimension when dims is nil.
func reshapeByDims(flat []any, dims []pgtype.ArrayDimension) []any {
	if len(flat) == 0 {
		return []any{}
	}
	lengths := make([]int, len(dims))
	for i, d := range dims {
		lengths[i] = int(d.Length)
	}
	return reshapeArray(flat, lengths)
}
