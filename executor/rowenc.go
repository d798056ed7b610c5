package executor

import (
	"encoding/binary"
	"math"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

// Row values are stored as a sequence of (uvarint column ID, encoded datum)
// pairs with the order-preserving encoding of package kv; NULL columns are
// left out. Because every value names its column, adding or dropping a
// column needs no rewrite of stored rows. Keys are never decoded: every
// column, key columns included, is in the value.

const secondsPerDay = 86400

// encodeKeyDatum appends the order-preserving key form of v.
func encodeKeyDatum(buf []byte, v any, oid uint32) ([]byte, error) {
	if v == nil {
		return kv.EncodeNull(buf), nil
	}
	switch x := v.(type) {
	case bool:
		return kv.EncodeBool(buf, x), nil
	case int64:
		return kv.EncodeInt64(buf, x), nil
	case float64:
		return kv.EncodeFloat64(buf, x), nil
	case *apd.Decimal:
		return kv.EncodeNumeric(buf, x), nil
	case string:
		// character(n) ignores trailing spaces in comparisons, so its keys
		// leave them out and 'a' finds 'a  '.
		if oid == oidBpchar {
			x = strings.TrimRight(x, " ")
		}
		// A jsonb key orders and matches by value, so 1.0 finds 1. It is
		// wrapped as bytes so that the key can be skipped over.
		if oid == oidJSONB {
			return kv.EncodeBytes(buf, jsonbSortKey(x)), nil
		}
		return kv.EncodeText(buf, x), nil
	case []byte:
		return kv.EncodeBytes(buf, x), nil
	case time.Time:
		// Infinite dates and timestamps take the extreme values of the
		// encoding, as in PostgreSQL.
		sign := pgtext.InfinitySign(x)
		if oid == oidDate {
			days := int32(x.Unix() / secondsPerDay)
			if sign != 0 {
				days = infiniteValue[int32](sign, math.MaxInt32, math.MinInt32)
			}
			return kv.EncodeDate(buf, days), nil
		}
		if sign != 0 {
			return kv.EncodeTimestampMicros(buf, infiniteValue[int64](sign, math.MaxInt64, math.MinInt64)), nil
		}
		return kv.EncodeTimestamp(buf, x), nil
	case [16]byte:
		return kv.EncodeUUID(buf, x), nil
	case pgtype.Interval:
		return encodeIntervalKey(buf, x), nil
	case pgtype.Time:
		return kv.EncodeTime(buf, x.Microseconds), nil
	case []any:
		return encodeArrayKey(buf, x, arrayElem(oid))
	case *recordValue:
		return encodeRecordKey(buf, x)
	}
	return nil, pgerror.Internal("cannot encode %T as a key", v)
}

// encodeValueDatum appends the stored form of v. Numerics are stored as text
// because the key form does not keep the scale (1.0 and 1.00 encode alike).
func encodeValueDatum(buf []byte, v any, oid uint32) ([]byte, error) {
	switch x := v.(type) {
	case *apd.Decimal:
		return kv.EncodeText(buf, x.String()), nil
	case string:
		return kv.EncodeText(buf, x), nil
	case pgtype.Interval:
		// The key form keeps only the span, so '1 mon' and '30 days' need
		// their fields here.
		return kv.EncodeBytes(buf, encodeIntervalValue(x)), nil
	case []any:
		return encodeArrayValue(buf, x, arrayElem(oid))
	}
	return encodeKeyDatum(buf, v, oid)
}

func decodeValueDatum(buf []byte, oid uint32) (any, []byte, error) {
	switch oid {
	case oidBool:
		return wrapDecode(kv.DecodeBool(buf))
	case oidInt2, oidInt4, oidInt8, oidOID:
		return wrapDecode(kv.DecodeInt64(buf))
	case oidFloat4, oidFloat8:
		return wrapDecode(kv.DecodeFloat64(buf))
	case oidNumeric:
		s, rest, err := kv.DecodeText(buf)
		if err != nil {
			return nil, nil, err
		}
		d, _, err := apd.NewFromString(s)
		if err != nil {
			return nil, nil, pgerror.Internal("corrupt numeric value %q", s)
		}
		return d, rest, nil
	case oidText, oidVarchar, oidBpchar, oidName, oidJSON, oidJSONB:
		return wrapDecode(kv.DecodeText(buf))
	case oidBytea:
		return wrapDecode(kv.DecodeBytes(buf))
	case oidDate:
		days, rest, err := kv.DecodeDate(buf)
		if err != nil {
			return nil, nil, err
		}
		switch days {
		case math.MaxInt32:
			return pgtext.Infinity, rest, nil
		case math.MinInt32:
			return pgtext.NegativeInfinity, rest, nil
		}
		return time.Unix(int64(days)*secondsPerDay, 0).UTC(), rest, nil
	case oidTimestamp, oidTimestamptz:
		micros, rest, err := kv.DecodeTimestampMicros(buf)
		if err != nil {
			return nil, nil, err
		}
		switch micros {
		case math.MaxInt64:
			return pgtext.Infinity, rest, nil
		case math.MinInt64:
			return pgtext.NegativeInfinity, rest, nil
		}
		return time.UnixMicro(micros).UTC(), rest, nil
	case oidUUID:
		return wrapDecode(kv.DecodeUUID(buf))
	case oidTime:
		micros, rest, err := kv.DecodeTime(buf)
		if err != nil {
			return nil, nil, err
		}
		return makeTime(micros), rest, nil
	case oidInterval:
		b, rest, err := kv.DecodeBytes(buf)
		if err != nil {
			return nil, nil, err
		}
		iv, err := decodeIntervalValue(b)
		return iv, rest, err
	}
	if isArrayType(oid) {
		return decodeArrayValue(buf, oid)
	}
	return nil, nil, pgerror.Internal("cannot decode a value of type %d", oid)
}

func wrapDecode[T any](v T, rest []byte, err error) (any, []byte, error) {
	if err != nil {
		return nil, nil, err
	}
	return v, rest, nil
}

// rowCodec encodes and decodes the rows of one table.
//
// Rows of USER and STREAM tables live under their owner's user prefix, and
// a row slice of such a table has one more element than the table has
// columns: the owner's name, the pseudo-column _user. STREAM rows also
// store their insert time under the reserved column ID 0, for the TTL.
type rowCodec struct {
	table *catalog.TableDescriptor
	// colIndex maps a column ID to its position in the row.
	colIndex map[uint32]int
	// keyCols are the row positions of the primary key columns.
	keyCols []int
	prefix  []byte
	perUser bool
	// indexes are the codecs of the secondary indexes, built on first use.
	indexes []*indexCodec
}

// createdColumnID is the reserved column ID of a STREAM row's insert time.
const createdColumnID = 0

func newRowCodec(t *catalog.TableDescriptor) *rowCodec {
	rc := &rowCodec{table: t, colIndex: make(map[uint32]int, len(t.Columns)), perUser: t.PerUser()}
	for i, c := range t.Columns {
		rc.colIndex[c.ID] = i
	}
	for _, id := range t.PrimaryKey {
		rc.keyCols = append(rc.keyCols, rc.colIndex[id])
	}
	rc.prefix = catalog.IndexPrefix(t.ID, catalog.PrimaryIndexID)
	return rc
}

// width is the length of a row slice: the columns, plus _user for
// per-user tables.
func (rc *rowCodec) width() int {
	if rc.perUser {
		return len(rc.table.Columns) + 1
	}
	return len(rc.table.Columns)
}

// ownerSlot is the row position of _user in per-user tables.
func (rc *rowCodec) ownerSlot() int { return len(rc.table.Columns) }

// rowsPrefix returns the key prefix of the rows owner may write: the whole
// index of a shared table, the owner's part of a per-user one.
func (rc *rowCodec) rowsPrefix(owner uint32) []byte {
	if rc.perUser {
		return catalog.UserPrefix(rc.table.ID, catalog.PrimaryIndexID, owner)
	}
	return rc.prefix
}

// ownerOf returns the owner ID in the key of a per-user table's row.
func (rc *rowCodec) ownerOf(key []byte) uint32 {
	at := len(rc.prefix) + 1
	if len(key) < at+4 {
		return 0
	}
	return binary.BigEndian.Uint32(key[at:])
}

// encodeKey builds the primary index key of a row owned by owner (ignored
// for shared tables).
func (rc *rowCodec) encodeKey(row []any, owner uint32) ([]byte, error) {
	vals := make([]any, len(rc.keyCols))
	for j, i := range rc.keyCols {
		vals[j] = row[i]
	}
	return rc.encodeKeyPrefix(vals, owner)
}

// encodeKeyPrefix builds the key prefix of the first len(vals) key columns.
func (rc *rowCodec) encodeKeyPrefix(vals []any, owner uint32) ([]byte, error) {
	prefix := rc.rowsPrefix(owner)
	key := append(make([]byte, 0, len(prefix)+32), prefix...)
	var err error
	for j, v := range vals {
		col := rc.table.Columns[rc.keyCols[j]]
		if key, err = encodeKeyDatum(key, v, col.Type.OID); err != nil {
			return nil, err
		}
	}
	return key, nil
}

// encodeValue appends the stored form of row. created is the insert time
// of a STREAM row, in microseconds since the Unix epoch.
func (rc *rowCodec) encodeValue(buf []byte, row []any, created int64) ([]byte, error) {
	if rc.table.Kind == catalog.TableKindStream {
		buf = binary.AppendUvarint(buf, createdColumnID)
		buf = kv.EncodeTimestampMicros(buf, created)
	}
	var err error
	for i, v := range row[:len(rc.table.Columns)] {
		if v == nil {
			continue
		}
		col := &rc.table.Columns[i]
		buf = binary.AppendUvarint(buf, uint64(col.ID))
		if buf, err = encodeValueDatum(buf, v, col.Type.OID); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// decodeValue fills the columns of row from a stored value and returns the
// insert time of a STREAM row (0 for other tables). Columns absent from
// the value are NULL; unknown column IDs belong to dropped columns and are
// skipped.
func (rc *rowCodec) decodeValue(buf []byte, row []any) (created int64, err error) {
	for i := range row[:len(rc.table.Columns)] {
		row[i] = nil
	}
	for len(buf) > 0 {
		id, n := binary.Uvarint(buf)
		if n <= 0 {
			return 0, pgerror.Internal("corrupt row in table %s", rc.table.Name)
		}
		buf = buf[n:]
		if id == createdColumnID {
			if created, buf, err = kv.DecodeTimestampMicros(buf); err != nil {
				return 0, err
			}
			continue
		}
		i, ok := rc.colIndex[uint32(id)]
		if !ok {
			rest, err := kv.SkipValue(buf)
			if err != nil {
				return 0, err
			}
			buf = rest
			continue
		}
		v, rest, err := decodeValueDatum(buf, rc.table.Columns[i].Type.OID)
		if err != nil {
			return 0, err
		}
		row[i] = v
		buf = rest
	}
	return created, nil
}

// infiniteValue returns positive for sign 1 and negative for sign -1.
func infiniteValue[T int32 | int64](sign int, positive, negative T) T {
	if sign > 0 {
		return positive
	}
	return negative
}
