package executor

import (
	"bytes"
	"math"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

// castDatum converts v of type from to typ. assignment selects the rules of
// storing into a column (varchar overflow is an error) instead of an
// explicit cast (varchar overflow truncates).
// loc is the session time zone, used between timestamptz and the types
// without a zone.
func castDatum(v any, from uint32, typ catalog.ColumnType, assignment bool, loc *time.Location) (any, error) {
	if v == nil {
		return nil, nil
	}
	to := typ.OID
	if from == to && typ.TypMod < 0 {
		return v, nil
	}
	if s, ok := v.(string); ok && (from == oidUnknown || isStringType(from)) && !isStringType(to) {
		if isArrayType(to) {
			// Array input ignores the type modifier, which the cast then
			// applies to each element by the rules of assignment or of an
			// explicit cast.
			a, err := parseArray(s, plainType(to), loc)
			if err != nil {
				return nil, err
			}
			return castArray(a, arrayElem(to), typ, assignment, loc)
		}
		return parseDatum(s, typ, loc)
	}
	if a, ok := v.([]any); ok {
		return castArrayDatum(a, from, typ, assignment, loc)
	}

	switch {
	case isStringType(to):
		if t, ok := v.(time.Time); ok && from == oidTimestamptz {
			v = t.In(loc)
		}
		var s string
		if r, ok := v.(*recordValue); ok {
			s = formatRecord(r, loc)
		} else {
			s = formatDatum(v, from)
		}
		if from == oidBpchar {
			s = strings.TrimRight(s, " ")
		}
		// The boolean to text cast spells the value out; output uses t/f.
		if b, ok := v.(bool); ok {
			s = boolText(b)
		}
		if to == oidVarchar || to == oidBpchar {
			return applyCharTypmod(s, typ, assignment)
		}
		return s, nil
	case isIntType(to):
		return castToInt(v, from, to)
	case isFloatType(to):
		return castToFloat(v, to)
	case to == oidNumeric:
		d, err := castToNumeric(v)
		if err != nil {
			return nil, err
		}
		return applyNumericTypmod(d, typ.TypMod)
	case to == oidBool:
		if i, ok := v.(int64); ok && isIntType(from) {
			return i != 0, nil
		}
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case to == oidDate || to == oidTimestamp || to == oidTimestamptz:
		if t, ok := v.(time.Time); ok {
			return castTime(t, from, to, loc), nil
		}
	case to == oidTime:
		return castToTime(v, from, typ.TypMod, loc)
	case to == oidInterval:
		if iv, ok := v.(pgtype.Interval); ok {
			return iv, nil
		}
		if t, ok := v.(pgtype.Time); ok {
			return pgtype.Interval{Microseconds: t.Microseconds, Valid: true}, nil
		}
	case to == oidJSON || to == oidJSONB:
		if s, ok := v.(string); ok {
			return parseDatum(s, typ, loc)
		}
	case to == oidUUID:
		if u, ok := v.([16]byte); ok {
			return u, nil
		}
	case to == oidBytea:
		if b, ok := v.([]byte); ok {
			return b, nil
		}
	}
	return nil, pgerror.Newf(pgcode.CannotCoerce, "cannot cast type %s to %s", typeName(from), formatType(typ))
}

func castToInt(v any, from, to uint32) (any, error) {
	var i int64
	switch x := v.(type) {
	case int64:
		i = x
	case bool:
		if from != oidBool || to != oidInt4 {
			return nil, pgerror.Newf(pgcode.CannotCoerce, "cannot cast type boolean to %s", typeName(to))
		}
		if x {
			i = 1
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, outOfRange(to)
		}
		r := math.RoundToEven(x)
		if r < math.MinInt64 || r >= math.MaxInt64 {
			return nil, outOfRange(to)
		}
		i = int64(r)
	case *apd.Decimal:
		if x.Form != apd.Finite {
			return nil, pgerror.Newf(pgcode.FeatureNotSupported, "cannot convert %s to %s", formatNumeric(x), typeName(to))
		}
		r := new(apd.Decimal)
		ctx := decimalCtx
		ctx.Rounding = apd.RoundHalfUp
		if _, err := ctx.RoundToIntegralValue(r, x); err != nil {
			return nil, outOfRange(to)
		}
		n, err := r.Int64()
		if err != nil {
			return nil, outOfRange(to)
		}
		i = n
	default:
		return nil, pgerror.Newf(pgcode.CannotCoerce, "cannot cast value to %s", typeName(to))
	}
	if err := checkIntRange(i, to); err != nil {
		return nil, err
	}
	return i, nil
}

func castToFloat(v any, to uint32) (any, error) {
	var f float64
	switch x := v.(type) {
	case int64:
		f = float64(x)
	case float64:
		f = x
	case *apd.Decimal:
		var err error
		f, err = x.Float64()
		if err != nil {
			return nil, outOfRange(to)
		}
	default:
		return nil, pgerror.Newf(pgcode.CannotCoerce, "cannot cast value to %s", typeName(to))
	}
	if to == oidFloat4 {
		if !math.IsInf(f, 0) && math.Abs(f) > math.MaxFloat32 {
			return nil, outOfRange(to)
		}
		f = float64(float32(f))
	}
	return f, nil
}

func castToNumeric(v any) (*apd.Decimal, error) {
	switch x := v.(type) {
	case int64:
		return apd.New(x, 0), nil
	case float64:
		if math.IsNaN(x) {
			return &apd.Decimal{Form: apd.NaN}, nil
		}
		if math.IsInf(x, 0) {
			return &apd.Decimal{Form: apd.Infinite, Negative: x < 0}, nil
		}
		d := new(apd.Decimal)
		if _, err := d.SetFloat64(x); err != nil {
			return nil, outOfRange(oidNumeric)
		}
		return d, nil
	case *apd.Decimal:
		return x, nil
	}
	return nil, pgerror.Newf(pgcode.CannotCoerce, "cannot cast value to numeric")
}

// castArrayDatum converts an array to another array type element by
// element, or to a string type through its text output.
func castArrayDatum(a []any, from uint32, typ catalog.ColumnType, assignment bool, loc *time.Location) (any, error) {
	switch {
	case isArrayType(typ.OID) && isArrayType(from):
		return castArray(a, arrayElem(from), typ, assignment, loc)
	case isStringType(typ.OID):
		s := formatArray(a, arrayElem(from), loc)
		if typ.OID == oidVarchar || typ.OID == oidBpchar {
			return applyCharTypmod(s, typ, assignment)
		}
		return s, nil
	}
	return nil, pgerror.Newf(pgcode.CannotCoerce, "cannot cast type %s to %s", typeName(from), formatType(typ))
}

// commonType picks the type two operands are compared or combined in, or
// fails with 42883 when PostgreSQL has no such operator.
func commonType(a, b uint32) (uint32, bool) {
	switch {
	case a == b:
		if a == oidUnknown {
			return oidText, true
		}
		return a, true
	case a == oidUnknown:
		return b, true
	case b == oidUnknown:
		return a, true
	}
	if a == oidTime || b == oidTime {
		// time meets interval as an interval, through the implicit cast,
		// and has no operators with the other date and time types.
		if a == oidInterval || b == oidInterval {
			return oidInterval, true
		}
		return 0, false
	}
	ca, cb := typeCategory(a), typeCategory(b)
	if ca != cb {
		return 0, false
	}
	switch ca {
	case 'N':
		if numericRank(a) >= numericRank(b) {
			return a, true
		}
		return b, true
	case 'S':
		if a == oidBpchar && b == oidBpchar {
			return oidBpchar, true
		}
		return oidText, true
	case 'D':
		if a == oidTimestamptz || b == oidTimestamptz {
			return oidTimestamptz, true
		}
		return oidTimestamp, true
	}
	return 0, false
}

// compareDatums orders two non-NULL datums of the same type family.
func compareDatums(a, b any) int {
	switch x := a.(type) {
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpInt(x, y)
		case float64:
			return cmpFloat(float64(x), y)
		case *apd.Decimal:
			return apd.New(x, 0).Cmp(y)
		}
	case float64:
		switch y := b.(type) {
		case float64:
			return cmpFloat(x, y)
		case int64:
			return cmpFloat(x, float64(y))
		case *apd.Decimal:
			f, _ := y.Float64()
			return cmpFloat(x, f)
		}
	case *apd.Decimal:
		switch y := b.(type) {
		case *apd.Decimal:
			return cmpDecimal(x, y)
		case int64:
			return cmpDecimal(x, apd.New(y, 0))
		case float64:
			f, _ := x.Float64()
			return cmpFloat(f, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y)
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	case [16]byte:
		if y, ok := b.([16]byte); ok {
			return bytes.Compare(x[:], y[:])
		}
	case pgtype.Interval:
		if y, ok := b.(pgtype.Interval); ok {
			return compareIntervals(x, y)
		}
	case pgtype.Time:
		if y, ok := b.(pgtype.Time); ok {
			return cmpInt(x.Microseconds, y.Microseconds)
		}
	case []any:
		if y, ok := b.([]any); ok {
			return compareArrays(x, y, 0)
		}
	case *recordValue:
		if y, ok := b.(*recordValue); ok {
			return compareRecords(x, y)
		}
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpFloat orders floats as PostgreSQL does: NaN equals NaN and sorts above
// every other value.
func cmpFloat(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpDecimal(a, b *apd.Decimal) int {
	an, bn := a.Form == apd.NaN, b.Form == apd.NaN
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return a.Cmp(b)
}

// castTime converts between date, timestamp and timestamptz. Values without
// a zone are wall-clock times stored as UTC; timestamptz values are
// instants, shown in the session time zone loc.
func castTime(t time.Time, from, to uint32, loc *time.Location) time.Time {
	if pgtext.InfinitySign(t) != 0 {
		return t
	}
	if from == oidTimestamptz && to != oidTimestamptz {
		// The wall-clock time of the instant in the session time zone.
		local := t.In(loc)
		t = time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), time.UTC)
	}
	if from != oidTimestamptz && to == oidTimestamptz {
		// The instant at which the session time zone shows that wall clock.
		return localToInstant(t, loc).UTC()
	}
	if to == oidDate {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return t
}

// castToTime converts a time, timestamp, timestamptz or interval to time
// of precision typmod. A timestamptz gives its wall-clock time in loc, the
// session time zone.
func castToTime(v any, from uint32, typmod int32, loc *time.Location) (any, error) {
	var micros int64
	switch x := v.(type) {
	case pgtype.Time:
		micros = x.Microseconds
	case pgtype.Interval:
		micros = timeFromInterval(x).Microseconds
	case time.Time:
		if from != oidTimestamp && from != oidTimestamptz {
			return nil, pgerror.Newf(pgcode.CannotCoerce, "cannot cast type %s to %s", typeName(from), typeName(oidTime))
		}
		if pgtext.InfinitySign(x) != 0 {
			// PostgreSQL returns NULL for an infinite timestamp.
			return nil, nil
		}
		if from == oidTimestamptz {
			x = x.In(loc)
		}
		micros = wallClockMicros(x)
	default:
		return nil, pgerror.Newf(pgcode.CannotCoerce, "cannot cast type %s to %s", typeName(from), typeName(oidTime))
	}
	return makeTime(roundTimePrecision(micros, typmod)), nil
}

// timeCastAllowed reports whether PostgreSQL has an implicit or assignment
// cast between time and another type: time to interval, and timestamp,
// timestamptz and interval to time.
func timeCastAllowed(from, to uint32) bool {
	switch {
	case from == oidTime:
		return to == oidInterval
	case to == oidTime:
		return from == oidTimestamp || from == oidTimestamptz || from == oidInterval
	}
	return false
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
