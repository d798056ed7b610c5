package executor

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

// Datums are plain Go values, chosen so that pgtype can encode them for the
// column's type OID:
//
//	NULL                      nil
//	boolean                   bool
//	smallint, integer, bigint int64
//	real, double precision    float64
//	numeric                   *apd.Decimal (wrapped for the wire by wireValue)
//	text, varchar, char, name string
//	json, jsonb               string holding the JSON text
//	bytea                     []byte
//	date, timestamp(tz)       time.Time in UTC
//	time                      pgtype.Time with Valid set
//	interval                  pgtype.Interval with Valid set
//	uuid                      [16]byte

// decimalCtx is the context for numeric arithmetic.
var decimalCtx = apd.BaseContext.WithPrecision(1000)

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func invalidInput(oid uint32, s string) *pgerror.Error {
	return pgerror.Newf(pgcode.InvalidTextRepresentation, "invalid input syntax for type %s: %q", typeName(oid), s)
}

func outOfRange(oid uint32) *pgerror.Error {
	return pgerror.Newf(pgcode.NumericValueOutOfRange, "%s out of range", typeName(oid))
}

// parseDatum converts text in PostgreSQL's input syntax to a datum of typ.
// loc is the session time zone, for timestamptz input without an offset.
func parseDatum(s string, typ catalog.ColumnType, loc *time.Location) (any, error) {
	switch typ.OID {
	case oidBool:
		return parseBool(s)
	case oidInt2, oidInt4, oidInt8, oidOID:
		t := strings.TrimSpace(s)
		v, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return nil, pgerror.Newf(pgcode.NumericValueOutOfRange, "value %q is out of range for type %s", s, typeName(typ.OID))
			}
			return nil, invalidInput(typ.OID, s)
		}
		if err := checkIntRange(v, typ.OID); err != nil {
			return nil, pgerror.Newf(pgcode.NumericValueOutOfRange, "value %q is out of range for type %s", s, typeName(typ.OID))
		}
		return v, nil
	case oidFloat4, oidFloat8:
		return parseFloat(s, typ.OID)
	case oidNumeric:
		d, err := parseNumeric(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		return applyNumericTypmod(d, typ.TypMod)
	case oidText, oidName:
		return s, nil
	case oidVarchar, oidBpchar:
		return applyCharTypmod(s, typ, true)
	case oidBytea:
		return parseBytea(s)
	case oidDate:
		return parseDate(s, loc)
	case oidTimestamp:
		return parseTimestamp(s, false, loc)
	case oidTimestamptz:
		return parseTimestamp(s, true, loc)
	case oidTime:
		return parseTime(s, typ.TypMod, loc, time.Now())
	case oidInterval:
		return parseInterval(s)
	case oidUUID:
		var u pgtype.UUID
		if err := u.Scan(strings.TrimSpace(s)); err != nil {
			return nil, invalidInput(typ.OID, s)
		}
		return u.Bytes, nil
	case oidJSON:
		if !json.Valid([]byte(s)) {
			return nil, invalidInput(typ.OID, s).WithDetail("The input is not valid JSON.")
		}
		return s, nil
	case oidJSONB:
		return normalizeJSONB(s)
	case oidUnknown:
		return s, nil
	}
	if isArrayType(typ.OID) {
		return parseArray(s, typ, loc)
	}
	return nil, pgerror.NotSupported("input of type " + typeName(typ.OID))
}

func parseBool(s string) (any, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "t", "tr", "tru", "true", "y", "ye", "yes", "on", "1":
		return true, nil
	case "f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0":
		return false, nil
	}
	return nil, invalidInput(oidBool, s)
}

func parseFloat(s string, oid uint32) (any, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "nan":
		return math.NaN(), nil
	case "infinity", "+infinity", "inf", "+inf":
		return math.Inf(1), nil
	case "-infinity", "-inf":
		return math.Inf(-1), nil
	}
	bits := 64
	if oid == oidFloat4 {
		bits = 32
	}
	f, err := strconv.ParseFloat(t, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, pgerror.Newf(pgcode.NumericValueOutOfRange, "%q is out of range for type %s", s, typeName(oid))
		}
		return nil, invalidInput(oid, s)
	}
	return f, nil
}

func parseBytea(s string) (any, error) {
	if strings.HasPrefix(s, `\x`) {
		b, err := hex.DecodeString(s[2:])
		if err != nil {
			return nil, invalidInput(oidBytea, s)
		}
		return b, nil
	}
	// Escape format: backslash followed by three octal digits or a second
	// backslash.
	var out []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '\\' {
			out = append(out, '\\')
			i++
			continue
		}
		if i+3 < len(s)+0 && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			out = append(out, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 3
			continue
		}
		return nil, invalidInput(oidBytea, s)
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

var dateLayouts = []string{"2006-01-02", "2006-1-2", "January 2, 2006", "Jan 2, 2006", "20060102", "01/02/2006", "1/2/2006"}

// parseDate parses a date literal. loc, the session time zone, decides
// which day today is.
func parseDate(s string, loc *time.Location) (any, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "epoch":
		return time.Unix(0, 0).UTC(), nil
	case "infinity":
		return pgtext.Infinity, nil
	case "-infinity":
		return pgtext.NegativeInfinity, nil
	}
	for _, layout := range dateLayouts {
		if d, err := time.Parse(layout, t); err == nil {
			return d, nil
		}
	}
	if m := longYear.FindStringSubmatch(t); m != nil {
		year, _ := strconv.Atoi(m[1])
		if d, err := time.Parse("2006-01-02", "2000"+t[len(m[1]):]); err == nil && (d.Month() != time.February || d.Day() != 29 || daysIn(year, time.February) == 29) {
			if _, err := checkDate(time.Date(year, d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)); err != nil {
				return nil, pgerror.Newf(pgcode.DatetimeFieldOverflow, "date out of range: %q", s)
			}
			return time.Date(year, d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), nil
		}
	}
	// A timestamp literal is accepted as a date, dropping the time.
	if ts, err := parseTimestamp(t, false, time.UTC); err == nil {
		tt := ts.(time.Time)
		return time.Date(tt.Year(), tt.Month(), tt.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	return parseFreeDate(s, loc, time.Now())
}

// wellFormedDatetime matches input whose fields are numbers in the usual
// places, so a parse failure means a field is out of range.
var wellFormedDatetime = regexp.MustCompile(`^\s*\d{1,5}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{1,2}(:\d{1,2}(\.\d+)?)?)?\s*([+-]\d{1,2}(:?\d{2})?|Z)?\s*$`)

// invalidDatetime returns PostgreSQL's error for date and time input that
// does not parse: 22008 when the fields are well formed but out of range,
// like February 30, else 22007.
func invalidDatetime(oid uint32, s string) *pgerror.Error {
	if wellFormedDatetime.MatchString(s) {
		return fieldOutOfRange(s)
	}
	name := typeName(oid)
	if oid == oidTimestamp {
		// PostgreSQL's message names the type as written in SQL.
		name = "timestamp"
	}
	return pgerror.Newf(pgcode.InvalidDatetimeFormat, "invalid input syntax for type %s: %q", name, s)
}

var timestampLayouts = []string{
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999 Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04Z07:00",
	"2006-01-02 15:04Z07",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseTimestamp parses a timestamp literal. A timestamptz without an
// offset is wall-clock time in loc, the session time zone, and a timestamp
// ignores any offset in the input, as PostgreSQL does. loc also decides
// what now and today are.
func parseTimestamp(s string, withZone bool, loc *time.Location) (any, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "epoch":
		return time.Unix(0, 0).UTC(), nil
	case "infinity":
		return pgtext.Infinity, nil
	case "-infinity":
		return pgtext.NegativeInfinity, nil
	}
	if strings.HasSuffix(t, " UTC") || strings.HasSuffix(t, " GMT") {
		t = strings.TrimSpace(t[:len(t)-4]) + "+00:00"
	}
	bc := false
	if len(t) > 3 && strings.EqualFold(t[len(t)-3:], " bc") {
		bc, t = true, strings.TrimSpace(t[:len(t)-3])
	}
	// Go's layouts read four-digit years, so a longer year is parsed as
	// 2000, a leap year, and put back afterwards.
	year := 0
	if m := longYear.FindStringSubmatch(t); m != nil {
		year, _ = strconv.Atoi(m[1])
		t = "2000" + t[len(m[1]):]
	}
	for _, layout := range timestampLayouts {
		// A layout without an offset reads the wall-clock time, which
		// localToInstant places in the session time zone below.
		hasOffset := strings.Contains(layout, "Z07")
		ts, err := time.Parse(layout, t)
		if err == nil && year != 0 {
			if ts.Month() == time.February && ts.Day() == 29 && daysIn(year, time.February) != 29 {
				break
			}
			ts = time.Date(year, ts.Month(), ts.Day(), ts.Hour(), ts.Minute(), ts.Second(), ts.Nanosecond(), ts.Location())
		}
		if err == nil && bc {
			// Year 1 BC is year 0.
			ts = ts.AddDate(1-2*ts.Year(), 0, 0)
		}
		if err != nil {
			continue
		}
		if !withZone {
			// timestamp without time zone ignores a zone in the input.
			ts = time.Date(ts.Year(), ts.Month(), ts.Day(), ts.Hour(), ts.Minute(), ts.Second(), ts.Nanosecond(), time.UTC)
		} else if !hasOffset {
			ts = localToInstant(ts, loc)
		}
		if _, err := checkTimestamp(ts); err != nil {
			return nil, pgerror.Newf(pgcode.DatetimeFieldOverflow, "timestamp out of range: %q", s)
		}
		return roundMicro(ts.UTC()), nil
	}
	return parseFreeTimestamp(s, withZone, loc, time.Now())
}

// longYear matches a date that starts with a year of five or more digits.
var longYear = regexp.MustCompile(`^(\d{5,})-\d`)

func roundMicro(t time.Time) time.Time { return t.Round(time.Microsecond) }

// normalizeJSONB validates JSON and renders it the way PostgreSQL prints
// jsonb: object keys sorted by length then bytes, the last duplicate key
// wins, one space after ':' and ','.
func normalizeJSONB(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalidInput(oidJSONB, s).WithDetail("The input is not valid JSON.")
	}
	if dec.More() {
		return nil, invalidInput(oidJSONB, s).WithDetail("The input is not valid JSON.")
	}
	var b strings.Builder
	writeJSONB(&b, v)
	return b.String(), nil
}

func writeJSONB(b *strings.Builder, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sortJSONBKeys(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSONB(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONB(b, e)
		}
		b.WriteByte(']')
	case json.Number:
		d, _, err := apd.NewFromString(string(x))
		if err != nil {
			b.WriteString(string(x))
			return
		}
		// numeric has no negative zero, so -0.0 prints as 0.0, and a zero
		// with a positive exponent such as 0e5 prints as 0.
		if d.IsZero() {
			d.Negative = false
			d.Exponent = min(d.Exponent, 0)
		}
		b.WriteString(d.Text('f'))
	case string:
		writeJSONString(b, x)
	default:
		out, _ := json.Marshal(x)
		b.Write(out)
	}
}

func sortJSONBKeys(keys []string) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && jsonbKeyLess(keys[j], keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

func jsonbKeyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func checkIntRange(v int64, oid uint32) error {
	switch oid {
	case oidInt2:
		if v < math.MinInt16 || v > math.MaxInt16 {
			return outOfRange(oidInt2)
		}
	case oidInt4:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return outOfRange(oidInt4)
		}
	case oidOID:
		if v < 0 || v > math.MaxUint32 {
			return outOfRange(oidOID)
		}
	}
	return nil
}

// applyCharTypmod enforces varchar(n) and char(n). An explicit cast
// truncates silently; assignment fails with 22001 unless the extra
// characters are spaces, as in PostgreSQL.
func applyCharTypmod(s string, typ catalog.ColumnType, assignment bool) (string, error) {
	if typ.TypMod < 4 {
		return s, nil
	}
	n := int(typ.TypMod - 4)
	length := utf8.RuneCountInString(s)
	if length > n {
		cut := truncateRunes(s, n)
		if assignment && strings.TrimRight(s[len(cut):], " ") != "" {
			return "", pgerror.Newf(pgcode.StringDataRightTruncation, "value too long for type %s", formatType(typ))
		}
		s, length = cut, n
	}
	if typ.OID == oidBpchar && length < n {
		s += strings.Repeat(" ", n-length)
	}
	return s, nil
}

func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// applyNumericTypmod rounds d to the declared scale and checks the
// precision.
func applyNumericTypmod(d *apd.Decimal, typmod int32) (*apd.Decimal, error) {
	if typmod < 4 || d.Form != apd.Finite {
		return d, nil
	}
	m := typmod - 4
	precision, scale := m>>16, m&0xffff
	out := new(apd.Decimal)
	if _, err := decimalCtx.Quantize(out, d, -scale); err != nil {
		return nil, pgerror.Newf(pgcode.NumericValueOutOfRange, "numeric field overflow")
	}
	digits := out.NumDigits()
	if out.IsZero() {
		digits = 0
	}
	intDigits := digits + int64(out.Exponent)
	if intDigits > int64(precision-scale) {
		return nil, pgerror.Newf(pgcode.NumericValueOutOfRange, "numeric field overflow").
			WithDetailf("A field with precision %d, scale %d must round to an absolute value less than 10^%d.", precision, scale, precision-scale)
	}
	return out, nil
}

// formatDatum renders v in PostgreSQL's text output format.
func formatDatum(v any, oid uint32) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if x {
			return "t"
		}
		return "f"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatFloat(x, oid)
	case *apd.Decimal:
		return formatNumeric(x)
	case string:
		return x
	case []byte:
		return `\x` + hex.EncodeToString(x)
	case time.Time:
		return formatTime(x, oid)
	case pgtype.Time:
		return formatTimeOfDay(x)
	case pgtype.Interval:
		return formatInterval(x)
	case [16]byte:
		return formatUUID(x)
	case []any:
		return formatArray(x, arrayElem(oid), nil)
	case *recordValue:
		return formatRecord(x, nil)
	}
	return ""
}

// parseNumeric parses numeric input, failing with 22P02 like PostgreSQL.
// Like PostgreSQL, it keeps max(0, fraction digits - exponent) digits
// after the point, so 1.5e2 is 150 and 0e3 is 0, where apd would keep
// 15E+1 and 0E+3.
func parseNumeric(s string) (*apd.Decimal, error) {
	// NOTE: apd rejects numbers of more than about 100000 digits before
	// the point as invalid input, where PostgreSQL accepts up to 131072
	// and then fails with 22003. The bound also keeps the rescaling
	// below small.
	d, _, err := apd.NewFromString(s)
	if err != nil {
		return nil, invalidInput(oidNumeric, s)
	}
	if d.Form != apd.Finite || d.Exponent <= 0 {
		return d, nil
	}
	if d.IsZero() {
		return new(apd.Decimal), nil
	}
	var scale apd.BigInt
	scale.Exp(apd.NewBigInt(10), apd.NewBigInt(int64(d.Exponent)), nil)
	d.Coeff.Mul(&d.Coeff, &scale)
	d.Exponent = 0
	return d, nil
}

func formatNumeric(d *apd.Decimal) string {
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return "NaN"
	case apd.Infinite:
		if d.Negative {
			return "-Infinity"
		}
		return "Infinity"
	}
	// apd keeps the sign of a zero result (0.00 * -3 is -0.00).
	return normalizeZero(d).Text('f')
}

func formatFloat(f float64, oid uint32) string {
	bits := 64
	if oid == oidFloat4 {
		bits = 32
	}
	return string(pgtext.AppendFloat(nil, f, bits))
}

func formatTime(t time.Time, oid uint32) string {
	switch oid {
	case oidDate:
		return string(pgtext.AppendDate(nil, t))
	case oidTimestamptz:
		// The caller has moved t into the session time zone.
		return string(pgtext.AppendTimestamptz(nil, t))
	}
	return string(pgtext.AppendTimestamp(nil, t))
}

func formatUUID(u [16]byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return string(buf[:])
}

// numericToPgtype converts a decimal for pgtype's numeric codec.
func numericToPgtype(d *apd.Decimal) pgtype.Numeric {
	switch d.Form {
	case apd.NaN, apd.NaNSignaling:
		return pgtype.Numeric{NaN: true, Valid: true}
	case apd.Infinite:
		if d.Negative {
			return pgtype.Numeric{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
		}
		return pgtype.Numeric{InfinityModifier: pgtype.Infinity, Valid: true}
	}
	i := d.Coeff.MathBigInt()
	if d.Negative {
		i.Neg(i)
	}
	return pgtype.Numeric{Int: i, Exp: d.Exponent, Valid: true}
}

// numericFromPgtype converts a decoded numeric parameter.
func numericFromPgtype(n pgtype.Numeric) *apd.Decimal {
	switch {
	case n.NaN:
		return &apd.Decimal{Form: apd.NaN}
	case n.InfinityModifier == pgtype.Infinity:
		return &apd.Decimal{Form: apd.Infinite}
	case n.InfinityModifier == pgtype.NegativeInfinity:
		return &apd.Decimal{Form: apd.Infinite, Negative: true}
	}
	i := n.Int
	if i == nil {
		i = big.NewInt(0)
	}
	d := new(apd.Decimal)
	d.Coeff.SetMathBigInt(new(big.Int).Abs(i))
	d.Negative = i.Sign() < 0
	d.Exponent = n.Exp
	return d
}
