package executor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"github.com/pgkeep/pgkeep/kv"
)

// jsonb values compare by value, in the order of PostgreSQL's jsonb btree
// operator class (compareJsonbContainers in PostgreSQL 15):
//
//   - Values of different types order Object > Array > Boolean > Number >
//     String > Null.
//   - A top-level scalar is stored as an array of one element marked as a
//     raw scalar. Against a real array, the array is larger unless it has
//     fewer elements, so the empty top-level array sorts below every
//     scalar, null included. Nested, [] sorts above every scalar.
//   - Arrays compare by number of elements, then element by element.
//   - Objects compare by number of pairs, then pair by pair in stored order
//     (keys sorted by length, then bytes): the key, then the value.
//   - Numbers compare by numeric value, so 1.0 equals 1. Strings and keys
//     compare bytewise, like pgkeep's text, which is PostgreSQL's order
//     under the C and C.UTF-8 collations.
//
// jsonbSortKey turns a value into bytes that sort in this order and are
// equal exactly when the values are, so one function serves comparisons,
// grouping keys and index keys.

// Classes of a top-level value, the first byte of a sort key.
const (
	jsonbTopEmptyArray byte = 0x01
	jsonbTopScalar     byte = 0x02
	jsonbTopArray      byte = 0x03
	jsonbTopObject     byte = 0x04
)

// Types of a value inside the sort key, in the btree order of types.
const (
	jsonbKeyNull   byte = 0x01
	jsonbKeyString byte = 0x02
	jsonbKeyNumber byte = 0x03
	jsonbKeyBool   byte = 0x04
	jsonbKeyArray  byte = 0x05
	jsonbKeyObject byte = 0x06
)

// jsonbSortKey returns the order-preserving form of the jsonb text s: a
// class byte, then the nested form of the value. A container's form is
// its element count followed by the forms of its elements. Every part has
// a fixed length or ends with a terminator, so bytewise order of two
// forms is the order of the values. Text that is not JSON, which a stored
// jsonb never is, gets its bytes behind a marker that sorts after every
// value.
func jsonbSortKey(s string) []byte {
	if key, ok := jsonbScalarSortKey(s); ok {
		return key
	}
	return jsonbDocumentSortKey(s)
}

// jsonbDocumentSortKey returns the sort key of any jsonb text s, which it
// decodes as a JSON document.
func jsonbDocumentSortKey(s string) []byte {
	v, err := decodeJSON(s)
	if err != nil {
		return append([]byte{0xff}, s...)
	}
	class := jsonbTopScalar
	switch x := v.(type) {
	case []any:
		class = jsonbTopArray
		if len(x) == 0 {
			return []byte{jsonbTopEmptyArray}
		}
	case map[string]any:
		class = jsonbTopObject
	}
	return appendJSONBSortKey([]byte{class}, v)
}

// jsonbScalarSortKey returns the sort key of a number, a boolean, null or
// a string without escapes. It skips the JSON decoder, whose setup
// dominates the cost for such small values, so comparisons of scalars
// such as j->'n' = '1' stay cheap. ok is false for other text.
func jsonbScalarSortKey(s string) (key []byte, ok bool) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, false
	case s == "null":
		return []byte{jsonbTopScalar, jsonbKeyNull}, true
	case s == "true" || s == "false":
		return kv.EncodeBool([]byte{jsonbTopScalar, jsonbKeyBool}, s == "true"), true
	case s[0] == '-' || (s[0] >= '0' && s[0] <= '9'):
		d, _, err := apd.NewFromString(s)
		if err != nil || d.Form != apd.Finite {
			return nil, false
		}
		return kv.EncodeNumeric([]byte{jsonbTopScalar, jsonbKeyNumber}, d), true
	case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' && !strings.ContainsAny(s[1:len(s)-1], "\\\"") && utf8.ValidString(s):
		return kv.EncodeText([]byte{jsonbTopScalar, jsonbKeyString}, s[1:len(s)-1]), true
	}
	return nil, false
}

// appendJSONBSortKey appends the nested form of a decoded value: its type
// byte, then its value.
func appendJSONBSortKey(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, jsonbKeyNull)
	case string:
		return kv.EncodeText(append(buf, jsonbKeyString), x)
	case json.Number:
		d, _, err := apd.NewFromString(string(x))
		if err != nil {
			// A decoded number is always valid numeric input.
			return kv.EncodeText(append(buf, jsonbKeyNumber), string(x))
		}
		return kv.EncodeNumeric(append(buf, jsonbKeyNumber), d)
	case bool:
		return kv.EncodeBool(append(buf, jsonbKeyBool), x)
	case []any:
		buf = binary.BigEndian.AppendUint32(append(buf, jsonbKeyArray), uint32(len(x)))
		for _, e := range x {
			buf = appendJSONBSortKey(buf, e)
		}
		return buf
	case map[string]any:
		buf = binary.BigEndian.AppendUint32(append(buf, jsonbKeyObject), uint32(len(x)))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortJSONBKeys(keys)
		for _, k := range keys {
			buf = kv.EncodeText(buf, k)
			buf = appendJSONBSortKey(buf, x[k])
		}
		return buf
	}
	return buf
}

// compareJSONB orders two jsonb texts by value.
func compareJSONB(a, b string) int {
	if a == b {
		return 0
	}
	return bytes.Compare(jsonbSortKey(a), jsonbSortKey(b))
}

// compareTyped orders two non-NULL datums of type oid. compareDatums
// compares the Go values alone, which is wrong for jsonb, whose text does
// not order like its value, and for arrays of jsonb.
func compareTyped(a, b any, oid uint32) int {
	switch {
	case oid == oidJSONB:
		if x, ok := a.(string); ok {
			if y, ok := b.(string); ok {
				return compareJSONB(x, y)
			}
		}
	case isArrayType(oid):
		if x, ok := a.([]any); ok {
			if y, ok := b.([]any); ok {
				return compareArrays(x, y, arrayElem(oid))
			}
		}
	}
	return compareDatums(a, b)
}

// equalTyped reports whether two datums of type oid are not distinct: equal
// values, or both NULL.
func equalTyped(a, b any, oid uint32) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if x, ok := a.([]byte); ok {
		return bytes.Equal(x, b.([]byte))
	}
	return compareTyped(a, b, oid) == 0
}

// hasJSONBKey reports whether a sort key is on a jsonb column.
func hasJSONBKey(keys []sortKey) bool {
	for _, k := range keys {
		if k.typ == oidJSONB {
			return true
		}
	}
	return false
}

// replaceJSONBSortKeys replaces the jsonb values in the key columns of vals
// by their sort keys. compareTyped and equalTyped compare those []byte
// values bytewise, in the order of the jsonb values, so a sort that
// compares the replaced values decodes each jsonb value once instead of
// twice per comparison.
func replaceJSONBSortKeys(vals []any, keys []sortKey) {
	for _, k := range keys {
		if s, ok := vals[k.col].(string); ok && k.typ == oidJSONB {
			vals[k.col] = jsonbSortKey(s)
		}
	}
}

// sortRowsWithJSONB sorts rows stably by less over copies of the rows
// whose jsonb key values are replaced by their sort keys.
func sortRowsWithJSONB(rows [][]any, keys []sortKey, less func(a, b []any) bool) {
	type decorated struct{ row, keyed []any }
	ds := make([]decorated, len(rows))
	for i, row := range rows {
		keyed := append([]any(nil), row...)
		replaceJSONBSortKeys(keyed, keys)
		ds[i] = decorated{row: row, keyed: keyed}
	}
	sort.SliceStable(ds, func(i, j int) bool { return less(ds[i].keyed, ds[j].keyed) })
	for i := range ds {
		rows[i] = ds[i].row
	}
}
