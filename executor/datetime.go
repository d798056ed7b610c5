package executor

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

// An interval datum is a pgtype.Interval with Valid set: months, days and
// microseconds kept apart, as PostgreSQL keeps them, because a month and a
// day have no fixed length in timestamp arithmetic.

const (
	microsPerSecond = 1_000_000
	microsPerMinute = 60 * microsPerSecond
	microsPerHour   = 60 * microsPerMinute
	microsPerDay    = 24 * microsPerHour
	// daysPerMonth is the length of a month when intervals are compared,
	// justified or divided, as in PostgreSQL.
	daysPerMonth = 30
)

func makeInterval(months, days int64, micros int64) (pgtype.Interval, error) {
	if months != int64(int32(months)) || days != int64(int32(days)) {
		return pgtype.Interval{}, intervalOutOfRange()
	}
	return pgtype.Interval{Months: int32(months), Days: int32(days), Microseconds: micros, Valid: true}, nil
}

func intervalOutOfRange() *pgerror.Error {
	return pgerror.New(pgcode.DatetimeFieldOverflow, "interval out of range")
}

func timestampOutOfRange() *pgerror.Error {
	return pgerror.New(pgcode.DatetimeFieldOverflow, "timestamp out of range")
}

func dateOutOfRange() *pgerror.Error {
	return pgerror.New(pgcode.DatetimeFieldOverflow, "date out of range")
}

func formatInterval(iv pgtype.Interval) string {
	return string(pgtext.AppendInterval(nil, iv.Months, iv.Days, iv.Microseconds))
}

// intervalSpan returns the length of iv with 30-day months and 24-hour
// days, split into whole days and the microseconds left over (0 to one day),
// so that comparing the pairs compares the spans without overflow.
func intervalSpan(iv pgtype.Interval) (days, micros int64) {
	days = int64(iv.Months)*daysPerMonth + int64(iv.Days) + iv.Microseconds/microsPerDay
	micros = iv.Microseconds % microsPerDay
	if micros < 0 {
		micros += microsPerDay
		days--
	}
	return days, micros
}

// compareIntervals orders intervals by span, as PostgreSQL does, so
// '1 mon' equals '30 days'.
func compareIntervals(a, b pgtype.Interval) int {
	ad, am := intervalSpan(a)
	bd, bm := intervalSpan(b)
	if c := cmpInt(ad, bd); c != 0 {
		return c
	}
	return cmpInt(am, bm)
}

// encodeIntervalKey appends the order-preserving key form of iv: its span.
// Intervals of equal span, like '1 mon' and '30 days', get the same key,
// so a unique key treats them as duplicates, as PostgreSQL's unique indexes
// do.
func encodeIntervalKey(buf []byte, iv pgtype.Interval) []byte {
	days, micros := intervalSpan(iv)
	return kv.EncodeInt64(kv.EncodeInt64(buf, days), micros)
}

// encodeIntervalValue returns the exact fields of iv as 16 bytes: months,
// days, microseconds.
func encodeIntervalValue(iv pgtype.Interval) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint32(b[0:], uint32(iv.Months))
	binary.BigEndian.PutUint32(b[4:], uint32(iv.Days))
	binary.BigEndian.PutUint64(b[8:], uint64(iv.Microseconds))
	return b
}

func decodeIntervalValue(b []byte) (pgtype.Interval, error) {
	if len(b) != 16 {
		return pgtype.Interval{}, pgerror.Internal("corrupt interval value of %d bytes", len(b))
	}
	return pgtype.Interval{
		Months:       int32(binary.BigEndian.Uint32(b[0:])),
		Days:         int32(binary.BigEndian.Uint32(b[4:])),
		Microseconds: int64(binary.BigEndian.Uint64(b[8:])),
		Valid:        true,
	}, nil
}

// Interval arithmetic. Every result is checked against the int32 months
// and days and the int64 microseconds of the representation.

func addIntervals(a, b pgtype.Interval) (pgtype.Interval, error) {
	micros := a.Microseconds + b.Microseconds
	if (micros > a.Microseconds) != (b.Microseconds > 0) {
		return pgtype.Interval{}, intervalOutOfRange()
	}
	return makeInterval(int64(a.Months)+int64(b.Months), int64(a.Days)+int64(b.Days), micros)
}

func negateInterval(a pgtype.Interval) (pgtype.Interval, error) {
	if a.Microseconds == math.MinInt64 {
		return pgtype.Interval{}, intervalOutOfRange()
	}
	return makeInterval(-int64(a.Months), -int64(a.Days), -a.Microseconds)
}

func subtractIntervals(a, b pgtype.Interval) (pgtype.Interval, error) {
	nb, err := negateInterval(b)
	if err != nil {
		return nb, err
	}
	return addIntervals(a, nb)
}

// roundToMicros rounds a number of seconds or days to six decimals, as
// PostgreSQL's TSROUND does before carrying fractions to smaller units.
func roundToMicros(f float64) float64 { return math.RoundToEven(f*1e6) / 1e6 }

// scaleInterval multiplies iv by factor (or divides when divide is set)
// the way PostgreSQL's interval_mul and interval_div do: each field is
// scaled on its own, and the fractional months and days are carried down
// to days and seconds.
func scaleInterval(iv pgtype.Interval, factor float64, divide bool) (pgtype.Interval, error) {
	scale := func(v float64) float64 {
		if divide {
			return v / factor
		}
		return v * factor
	}
	if divide && factor == 0 {
		return pgtype.Interval{}, pgerror.New(pgcode.DivisionByZero, "division by zero")
	}
	months, days := scale(float64(iv.Months)), scale(float64(iv.Days))
	if math.IsNaN(months) || math.IsNaN(days) || math.Abs(months) >= 1<<31 || math.Abs(days) >= 1<<31 {
		return pgtype.Interval{}, intervalOutOfRange()
	}
	resultMonths, resultDays := int64(months), int64(days)
	monthRemainderDays := roundToMicros((months - float64(resultMonths)) * daysPerMonth)
	secondRemainder := roundToMicros((days - float64(resultDays) + monthRemainderDays - math.Trunc(monthRemainderDays)) * secondsPerDay)
	if math.Abs(secondRemainder) >= secondsPerDay {
		carry := math.Trunc(secondRemainder / secondsPerDay)
		resultDays += int64(carry)
		secondRemainder -= carry * secondsPerDay
	}
	resultDays += int64(monthRemainderDays)
	micros := math.RoundToEven(scale(float64(iv.Microseconds)) + secondRemainder*microsPerSecond)
	if math.IsNaN(micros) || micros < math.MinInt64 || micros >= math.MaxInt64 {
		return pgtype.Interval{}, intervalOutOfRange()
	}
	return makeInterval(resultMonths, resultDays, int64(micros))
}

// justifyHours moves whole days out of the time part, keeping the days and
// the time of one sign.
func justifyHours(iv pgtype.Interval) (pgtype.Interval, error) {
	days := int64(iv.Days) + iv.Microseconds/microsPerDay
	micros := iv.Microseconds % microsPerDay
	if days > 0 && micros < 0 {
		micros += microsPerDay
		days--
	} else if days < 0 && micros > 0 {
		micros -= microsPerDay
		days++
	}
	return makeInterval(int64(iv.Months), days, micros)
}

// justifyDays moves whole 30-day months out of the days.
func justifyDays(iv pgtype.Interval) (pgtype.Interval, error) {
	months := int64(iv.Months) + int64(iv.Days)/daysPerMonth
	days := int64(iv.Days) % daysPerMonth
	if months > 0 && days < 0 {
		days += daysPerMonth
		months--
	} else if months < 0 && days > 0 {
		days -= daysPerMonth
		months++
	}
	return makeInterval(months, days, iv.Microseconds)
}

// justifyInterval applies justifyHours and justifyDays with one sign for
// all fields, following PostgreSQL 15's interval_justify_interval.
func justifyInterval(iv pgtype.Interval) (pgtype.Interval, error) {
	months, days, micros := int64(iv.Months), int64(iv.Days), iv.Microseconds
	if (days > 0 && micros > 0) || (days < 0 && micros < 0) {
		months += days / daysPerMonth
		days %= daysPerMonth
	}
	days += micros / microsPerDay
	micros %= microsPerDay
	months += days / daysPerMonth
	days %= daysPerMonth
	if months > 0 && (days < 0 || (days == 0 && micros < 0)) {
		days += daysPerMonth
		months--
	} else if months < 0 && (days > 0 || (days == 0 && micros > 0)) {
		days -= daysPerMonth
		months++
	}
	if days > 0 && micros < 0 {
		micros += microsPerDay
		days--
	} else if days < 0 && micros > 0 {
		micros -= microsPerDay
		days++
	}
	return makeInterval(months, days, micros)
}

// Timestamps are valid from 4714-11-24 BC (Julian day 0) up to, but not
// including, 294277-01-01, and dates up to 5874897-12-31, as in
// PostgreSQL. Years here are astronomical: year 0 is 1 BC.
var (
	minTimestamp = time.Date(-4713, time.November, 24, 0, 0, 0, 0, time.UTC)
	endTimestamp = time.Date(294277, time.January, 1, 0, 0, 0, 0, time.UTC)
	endDate      = time.Date(5874898, time.January, 1, 0, 0, 0, 0, time.UTC)
)

func checkTimestamp(t time.Time) (time.Time, error) {
	if t.Before(minTimestamp) || !t.Before(endTimestamp) {
		return time.Time{}, timestampOutOfRange()
	}
	return t, nil
}

func checkDate(t time.Time) (time.Time, error) {
	if t.Before(minTimestamp) || !t.Before(endDate) {
		return time.Time{}, dateOutOfRange()
	}
	return t, nil
}

// daysIn returns the number of days of a month.
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// addMicros adds a number of microseconds to t without the 292-year limit
// of time.Duration.
func addMicros(t time.Time, micros int64) time.Time {
	seconds := micros / microsPerSecond
	nanos := (micros % microsPerSecond) * 1000
	return time.Unix(t.Unix()+seconds, int64(t.Nanosecond())+nanos).In(t.Location())
}

// addInterval adds iv to a timestamp. Months and days move the calendar
// date and keep the time of day, so loc, the session time zone, matters
// for timestamptz: a day is 23 or 25 hours across a DST change. loc is nil
// for timestamp without time zone. A day of month past the end of the new
// month is clamped to its last day.
func addInterval(t time.Time, iv pgtype.Interval, loc *time.Location) (time.Time, error) {
	if pgtext.InfinitySign(t) != 0 {
		return t, nil
	}
	if _, err := checkTimestamp(t); err != nil {
		return t, err
	}
	if loc == nil {
		loc = time.UTC
	}
	if iv.Months != 0 || iv.Days != 0 {
		local := t.In(loc)
		year, month, day := local.Date()
		if iv.Months != 0 {
			total := int64(year)*12 + int64(month-1) + int64(iv.Months)
			year, month = int(floorDiv64(total, 12)), time.Month(total-floorDiv64(total, 12)*12+1)
			day = min(day, daysIn(year, month))
		}
		hour, minute, second := local.Clock()
		t = time.Date(year, month, day+int(iv.Days), hour, minute, second, local.Nanosecond(), loc)
		if _, err := checkTimestamp(t); err != nil {
			return t, err
		}
	}
	return checkTimestamp(addMicros(t, iv.Microseconds).UTC())
}

func floorDiv64(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// subtractTimestamps returns a - b as an interval of days and time, the
// way PostgreSQL's timestamp_mi does: the exact difference, with whole
// 24-hour periods moved into days.
func subtractTimestamps(a, b time.Time) (pgtype.Interval, error) {
	seconds := a.Unix() - b.Unix()
	if seconds > math.MaxInt64/microsPerSecond-1 || seconds < math.MinInt64/microsPerSecond+1 {
		return pgtype.Interval{}, intervalOutOfRange()
	}
	micros := seconds*microsPerSecond + int64(a.Nanosecond()-b.Nanosecond())/1000
	return justifyHours(pgtype.Interval{Microseconds: micros, Valid: true})
}

// unixDays returns the day number of a date, counted from 1970-01-01.
func unixDays(t time.Time) int64 { return floorDiv64(t.Unix(), secondsPerDay) }

// timeArithExpr is an arithmetic operator on dates, timestamps and
// intervals. kind names the operand types, as "timestamp+interval".
type timeArithExpr struct {
	kind        string
	left, right expr
	typ         catalog.ColumnType
}

func (e *timeArithExpr) resultType() catalog.ColumnType { return e.typ }

func (e *timeArithExpr) eval(ec *evalContext, row []any) (any, error) {
	l, r, err := evalOperands(ec, row, e.left, e.right)
	if err != nil || l == nil {
		return nil, err
	}
	switch e.kind {
	case "interval+interval":
		return addIntervals(l.(pgtype.Interval), r.(pgtype.Interval))
	case "interval-interval":
		return subtractIntervals(l.(pgtype.Interval), r.(pgtype.Interval))
	case "interval*float8":
		return scaleInterval(l.(pgtype.Interval), r.(float64), false)
	case "float8*interval":
		return scaleInterval(r.(pgtype.Interval), l.(float64), false)
	case "interval/float8":
		return scaleInterval(l.(pgtype.Interval), r.(float64), true)
	case "timestamp+interval", "timestamptz+interval":
		return addInterval(l.(time.Time), r.(pgtype.Interval), e.zone(ec))
	case "interval+timestamp", "interval+timestamptz":
		return addInterval(r.(time.Time), l.(pgtype.Interval), e.zone(ec))
	case "timestamp-interval", "timestamptz-interval":
		neg, err := negateInterval(r.(pgtype.Interval))
		if err != nil {
			return nil, err
		}
		return addInterval(l.(time.Time), neg, e.zone(ec))
	case "timestamp-timestamp", "timestamptz-timestamptz":
		if pgtext.InfinitySign(l.(time.Time)) != 0 || pgtext.InfinitySign(r.(time.Time)) != 0 {
			return nil, pgerror.New(pgcode.DatetimeFieldOverflow, "cannot subtract infinite timestamps")
		}
		return subtractTimestamps(l.(time.Time), r.(time.Time))
	case "date-date":
		if pgtext.InfinitySign(l.(time.Time)) != 0 || pgtext.InfinitySign(r.(time.Time)) != 0 {
			return nil, pgerror.New(pgcode.DatetimeFieldOverflow, "cannot subtract infinite dates")
		}
		return unixDays(l.(time.Time)) - unixDays(r.(time.Time)), nil
	case "time+interval":
		return addTimeInterval(l.(pgtype.Time), r.(pgtype.Interval), 1), nil
	case "interval+time":
		return addTimeInterval(r.(pgtype.Time), l.(pgtype.Interval), 1), nil
	case "time-interval":
		return addTimeInterval(l.(pgtype.Time), r.(pgtype.Interval), -1), nil
	case "time-time":
		return pgtype.Interval{Microseconds: l.(pgtype.Time).Microseconds - r.(pgtype.Time).Microseconds, Valid: true}, nil
	case "date+time":
		return addDateTime(l.(time.Time), r.(pgtype.Time).Microseconds)
	case "time+date":
		return addDateTime(r.(time.Time), l.(pgtype.Time).Microseconds)
	case "date-time":
		return addDateTime(l.(time.Time), -r.(pgtype.Time).Microseconds)
	case "date+int4", "date-int4", "int4+date":
		date, days := l, r
		if e.kind == "int4+date" {
			date, days = r, l
		}
		n := days.(int64)
		if pgtext.InfinitySign(date.(time.Time)) != 0 {
			return date, nil
		}
		if e.kind == "date-int4" {
			n = -n
		}
		return checkDate(date.(time.Time).AddDate(0, 0, int(n)))
	}
	return nil, pgerror.Internal("unknown date/time operator %s", e.kind)
}

// addDateTime returns the timestamp micros after midnight of date. An
// infinite date stays infinite.
func addDateTime(date time.Time, micros int64) (any, error) {
	if pgtext.InfinitySign(date) != 0 {
		return date, nil
	}
	return checkTimestamp(date.Add(time.Duration(micros) * time.Microsecond))
}

// zone returns the session time zone for timestamptz arithmetic and nil
// for timestamp.
func (e *timeArithExpr) zone(ec *evalContext) *time.Location {
	if e.typ.OID == oidTimestamptz {
		return ec.sess.location()
	}
	return nil
}

// shortName is the name of a date/time operand type in timeArithExpr's
// kind.
func shortName(oid uint32) string {
	switch oid {
	case oidTimestamp:
		return "timestamp"
	case oidTimestamptz:
		return "timestamptz"
	case oidDate:
		return "date"
	case oidInterval:
		return "interval"
	case oidTime:
		return "time"
	case oidInt4:
		return "int4"
	case oidFloat8:
		return "float8"
	}
	return typeName(oid)
}

// buildTimeArith resolves +, -, * and / when an operand is a date,
// timestamp, time or interval. An unknown literal takes the other operand's
// type when that type has the operator with itself (timestamp - '...'),
// and else the type that gives an operator (timestamp + '1 day' reads an
// interval), as PostgreSQL's operator resolution does.
func (b *builder) buildTimeArith(op string, l, r expr, location int32) (expr, error) {
	lt, rt := l.resultType().OID, r.resultType().OID
	unknownType := func(other uint32) uint32 {
		switch {
		case op == "-" && other == oidTime:
			return oidTime
		case op == "+" && other == oidTime:
			return oidInterval
		case op == "-" && (isTimeType(other) || other == oidInterval):
			return other
		case op == "+" && other == oidInterval:
			return oidInterval
		case op == "+" && (other == oidTimestamp || other == oidTimestamptz):
			return oidInterval
		case (op == "*" || op == "/") && other == oidInterval:
			return oidFloat8
		}
		return 0
	}
	if lt == oidUnknown {
		lt = unknownType(rt)
	}
	if rt == oidUnknown {
		rt = unknownType(lt)
	}
	if lt == 0 || rt == 0 {
		if lt == oidDate || rt == oidDate {
			return nil, pgerror.Newf(pgcode.AmbiguousFunction, "operator is not unique: %s %s %s",
				typeName(l.resultType().OID), op, typeName(r.resultType().OID)).
				WithHint("Could not choose a best candidate operator. You might need to add explicit type casts.").
				WithPosition(location + 1)
		}
		return nil, undefinedOperator(op, typeName(l.resultType().OID), r.resultType().OID, location)
	}
	// time multiplies and divides as an interval, through the implicit
	// cast.
	if lt == oidTime && (op == "*" || op == "/") {
		lt = oidInterval
	}
	if rt == oidTime && op == "*" {
		rt = oidInterval
	}
	// Numbers next to an interval are double precision, an integer next
	// to a date is integer.
	if isNumericType(lt) && rt == oidInterval && op == "*" {
		lt = oidFloat8
	}
	if isNumericType(rt) && lt == oidInterval && (op == "*" || op == "/") {
		rt = oidFloat8
	}
	if isIntType(lt) && rt == oidDate && lt != oidInt8 {
		lt = oidInt4
	}
	if isIntType(rt) && lt == oidDate && rt != oidInt8 {
		rt = oidInt4
	}
	// date with a timestamp or an interval becomes a timestamp; timestamp
	// with timestamptz becomes timestamptz.
	if isTimeType(lt) && isTimeType(rt) && lt != rt {
		common, _ := commonType(lt, rt)
		lt, rt = common, common
	}
	if lt == oidDate && rt == oidInterval {
		lt = oidTimestamp
	}
	if rt == oidDate && lt == oidInterval {
		rt = oidTimestamp
	}
	kind := shortName(lt) + op + shortName(rt)
	if kind == "time+time" {
		// time + time could be time + interval or interval + time.
		return nil, pgerror.Newf(pgcode.AmbiguousFunction, "operator is not unique: %s %s %s", typeName(lt), op, typeName(rt)).
			WithHint("Could not choose a best candidate operator. You might need to add explicit type casts.").
			WithPosition(location + 1)
	}
	var typ uint32
	switch kind {
	case "time+interval", "interval+time", "time-interval":
		typ = oidTime
	case "time-time":
		typ = oidInterval
	case "date+time", "time+date", "date-time":
		typ = oidTimestamp
	case "interval+interval", "interval-interval", "interval*float8", "float8*interval", "interval/float8",
		"timestamp-timestamp", "timestamptz-timestamptz":
		typ = oidInterval
	case "timestamp+interval", "timestamp-interval", "interval+timestamp":
		typ = oidTimestamp
	case "timestamptz+interval", "timestamptz-interval", "interval+timestamptz":
		typ = oidTimestamptz
	case "date-date":
		typ = oidInt4
	case "date+int4", "date-int4", "int4+date":
		typ = oidDate
	default:
		return nil, undefinedOperator(op, typeName(l.resultType().OID), r.resultType().OID, location)
	}
	var err error
	if l, err = b.castTo(l, plainType(lt), false); err != nil {
		return nil, err
	}
	if r, err = b.castTo(r, plainType(rt), false); err != nil {
		return nil, err
	}
	return &timeArithExpr{kind: kind, left: l, right: r, typ: plainType(typ)}, nil
}

// intervalUnit is a unit of interval input, date_trunc and extract.
type intervalUnit int

const (
	unitNone intervalUnit = iota
	unitMicrosecond
	unitMillisecond
	unitSecond
	unitMinute
	unitHour
	unitDay
	unitWeek
	unitMonth
	unitQuarter
	unitYear
	unitDecade
	unitCentury
	unitMillennium
	// The units below appear only in extract and date_part.
	unitEpoch
	unitDow
	unitIsoDow
	unitDoy
	unitIsoYear
	unitJulian
	unitTimezone
	unitTimezoneHour
	unitTimezoneMinute
)

// unitNames lists the spellings PostgreSQL accepts for each unit.
var unitNames = map[string]intervalUnit{
	"microsecond": unitMicrosecond, "microseconds": unitMicrosecond, "us": unitMicrosecond, "usec": unitMicrosecond, "usecs": unitMicrosecond, "useconds": unitMicrosecond, "microsecon": unitMicrosecond,
	"millisecond": unitMillisecond, "milliseconds": unitMillisecond, "ms": unitMillisecond, "msec": unitMillisecond, "msecs": unitMillisecond, "mseconds": unitMillisecond, "millisecon": unitMillisecond,
	"second": unitSecond, "seconds": unitSecond, "s": unitSecond, "sec": unitSecond, "secs": unitSecond,
	"minute": unitMinute, "minutes": unitMinute, "m": unitMinute, "min": unitMinute, "mins": unitMinute,
	"hour": unitHour, "hours": unitHour, "h": unitHour, "hr": unitHour, "hrs": unitHour,
	"day": unitDay, "days": unitDay, "d": unitDay,
	"week": unitWeek, "weeks": unitWeek, "w": unitWeek,
	"month": unitMonth, "months": unitMonth, "mon": unitMonth, "mons": unitMonth,
	"quarter": unitQuarter, "qtr": unitQuarter,
	"year": unitYear, "years": unitYear, "y": unitYear, "yr": unitYear, "yrs": unitYear,
	"decade": unitDecade, "decades": unitDecade, "dec": unitDecade, "decs": unitDecade,
	"century": unitCentury, "centuries": unitCentury, "c": unitCentury, "cent": unitCentury,
	"millennium": unitMillennium, "millennia": unitMillennium, "mil": unitMillennium, "mils": unitMillennium, "millenniums": unitMillennium,
	"epoch": unitEpoch, "dow": unitDow, "isodow": unitIsoDow, "doy": unitDoy, "isoyear": unitIsoYear,
	"j": unitJulian, "julian": unitJulian, "jd": unitJulian,
	"timezone": unitTimezone, "timezone_h": unitTimezoneHour, "timezone_hour": unitTimezoneHour,
	"timezone_m": unitTimezoneMinute, "timezone_minute": unitTimezoneMinute,
}

// intervalBuilder accumulates the fields of interval input.
type intervalBuilder struct {
	months, days, micros int64
	overflow             bool
	// seen has a bit per unit given so far: PostgreSQL rejects a unit
	// given twice, as in '1 day 2 days'.
	seen uint32
}

// mark records the units of one field and reports false when one of them
// was given before.
func (ib *intervalBuilder) mark(units ...intervalUnit) bool {
	for _, u := range units {
		if ib.seen&(1<<u) != 0 {
			return false
		}
		ib.seen |= 1 << u
	}
	return true
}

func (ib *intervalBuilder) add(field *int64, v int64, scale int64) {
	if v != 0 && (v > math.MaxInt64/scale || v < math.MinInt64/scale) {
		ib.overflow = true
		return
	}
	sum := *field + v*scale
	if (sum > *field) != (v*scale > 0) && v != 0 {
		ib.overflow = true
		return
	}
	*field = sum
}

// addFractionMicros adds frac * scale microseconds, rounded.
func (ib *intervalBuilder) addFractionMicros(frac float64, scale float64) {
	ib.add(&ib.micros, int64(math.RoundToEven(frac*scale)), 1)
}

// addFractionDays adds frac * scale days: the whole days and the rest as
// microseconds.
func (ib *intervalBuilder) addFractionDays(frac float64, scale float64) {
	f := frac * scale
	whole := math.Trunc(f)
	ib.add(&ib.days, int64(whole), 1)
	ib.addFractionMicros(f-whole, microsPerDay)
}

// addUnit adds whole + frac units, where frac has the sign of the number.
func (ib *intervalBuilder) addUnit(unit intervalUnit, whole int64, frac float64) bool {
	switch unit {
	case unitMicrosecond:
		ib.add(&ib.micros, whole, 1)
		ib.addFractionMicros(frac, 1)
	case unitMillisecond:
		ib.add(&ib.micros, whole, 1000)
		ib.addFractionMicros(frac, 1000)
	case unitSecond:
		ib.add(&ib.micros, whole, microsPerSecond)
		ib.addFractionMicros(frac, microsPerSecond)
	case unitMinute:
		ib.add(&ib.micros, whole, microsPerMinute)
		ib.addFractionMicros(frac, microsPerMinute)
	case unitHour:
		ib.add(&ib.micros, whole, microsPerHour)
		ib.addFractionMicros(frac, microsPerHour)
	case unitDay:
		ib.add(&ib.days, whole, 1)
		ib.addFractionMicros(frac, microsPerDay)
	case unitWeek:
		ib.add(&ib.days, whole, 7)
		ib.addFractionDays(frac, 7)
	case unitMonth:
		ib.add(&ib.months, whole, 1)
		ib.addFractionDays(frac, daysPerMonth)
	case unitYear, unitDecade, unitCentury, unitMillennium:
		years := map[intervalUnit]int64{unitYear: 1, unitDecade: 10, unitCentury: 100, unitMillennium: 1000}[unit]
		ib.add(&ib.months, whole, 12*years)
		ib.add(&ib.months, int64(math.RoundToEven(frac*12*float64(years))), 1)
	default:
		return false
	}
	return true
}

// splitNumber parses a signed decimal number into its integer part and
// its fraction, both carrying the sign.
func splitNumber(s string) (whole int64, frac float64, ok bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	intPart, fracPart, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || fracPart == "") {
		return 0, 0, false
	}
	if intPart != "" {
		v, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		whole = v
	}
	if fracPart != "" {
		f, err := strconv.ParseFloat("0."+fracPart, 64)
		if err != nil {
			return 0, 0, false
		}
		frac = f
	}
	if neg {
		whole, frac = -whole, -frac
	}
	return whole, frac, true
}

// parseInterval reads interval input as PostgreSQL does with IntervalStyle
// postgres: a list of numbers with units ('1 year 2 mons', '3d 4h'),
// optionally led by '@' and followed by 'ago', a time 'h:mm[:ss[.f]]', a
// year-month 'y-m', a bare number of seconds, or ISO 8601 ('P1DT2H').
func parseInterval(s string) (pgtype.Interval, error) {
	invalid := func() (pgtype.Interval, error) {
		return pgtype.Interval{}, pgerror.Newf(pgcode.InvalidDatetimeFormat, "invalid input syntax for type interval: %q", s)
	}
	text := strings.ToLower(strings.TrimSpace(s))
	var ib intervalBuilder
	var ok bool
	if strings.HasPrefix(text, "p") {
		ok = ib.parseISO(text[1:])
	} else {
		ok = ib.parsePostgres(strings.TrimPrefix(text, "@"))
	}
	if !ok {
		return invalid()
	}
	if ib.overflow {
		return pgtype.Interval{}, intervalOutOfRange()
	}
	return makeInterval(ib.months, ib.days, ib.micros)
}

// intervalToken is a number, possibly a time or year-month, or a word.
type intervalToken struct {
	text   string
	number bool
}

func tokenizeInterval(s string) ([]intervalToken, bool) {
	var tokens []intervalToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
			start := i
			i++
			for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == ':' ||
				s[i] == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9') {
				i++
			}
			tokens = append(tokens, intervalToken{text: s[start:i], number: true})
		case unicode.IsLetter(rune(c)):
			start := i
			for i < len(s) && (unicode.IsLetter(rune(s[i])) || s[i] == '_') {
				i++
			}
			tokens = append(tokens, intervalToken{text: s[start:i]})
		default:
			return nil, false
		}
	}
	return tokens, len(tokens) > 0
}

func (ib *intervalBuilder) parsePostgres(s string) bool {
	tokens, ok := tokenizeInterval(s)
	if !ok {
		return false
	}
	ago := false
	if last := tokens[len(tokens)-1]; !last.number && last.text == "ago" {
		ago = true
		tokens = tokens[:len(tokens)-1]
	}
	hasTime := false
	for _, t := range tokens {
		if t.number && strings.Contains(t.text, ":") {
			hasTime = true
		}
	}
	for i := 0; i < len(tokens); i++ {
		t := tokens[i]
		if !t.number {
			return false
		}
		body := strings.TrimLeft(t.text, "+-")
		switch {
		case strings.Contains(body, ":"):
			if !ib.mark(unitHour, unitMinute, unitSecond) || !ib.addTime(t.text) {
				return false
			}
		case strings.Contains(body, "-"):
			if !ib.mark(unitYear, unitMonth) || !ib.addYearMonth(t.text) {
				return false
			}
		default:
			whole, frac, ok := splitNumber(t.text)
			if !ok {
				return false
			}
			unit := unitSecond
			if hasTime {
				// A bare number before a time is days: '1 2:03:04'.
				unit = unitDay
			}
			if i+1 < len(tokens) && !tokens[i+1].number {
				u, known := unitNames[tokens[i+1].text]
				if !known {
					return false
				}
				unit = u
				i++
			}
			if !ib.mark(unit) || !ib.addUnit(unit, whole, frac) {
				return false
			}
		}
	}
	if ago {
		ib.months, ib.days, ib.micros = -ib.months, -ib.days, -ib.micros
	}
	return true
}

// addTime adds '[-]h:mm[:ss[.f]]', or 'mm:ss.f' when the second of two
// parts has a fraction.
func (ib *intervalBuilder) addTime(s string) bool {
	neg := strings.HasPrefix(s, "-")
	parts := strings.Split(strings.TrimLeft(s, "+-"), ":")
	if len(parts) > 3 {
		return false
	}
	if len(parts) == 2 && strings.Contains(parts[1], ".") {
		parts = append([]string{"0"}, parts...)
	}
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	hours, err1 := strconv.ParseInt(parts[0], 10, 64)
	minutes, err2 := strconv.ParseInt(parts[1], 10, 64)
	seconds, frac, ok := splitNumber(parts[2])
	if err1 != nil || err2 != nil || !ok || minutes > 59 || seconds > 59 || parts[2] == "" {
		return false
	}
	var t intervalBuilder
	t.add(&t.micros, hours, microsPerHour)
	t.add(&t.micros, minutes, microsPerMinute)
	t.add(&t.micros, seconds, microsPerSecond)
	t.addFractionMicros(frac, microsPerSecond)
	if t.overflow {
		ib.overflow = true
	}
	if neg {
		t.micros = -t.micros
	}
	ib.add(&ib.micros, t.micros, 1)
	return true
}

// addYearMonth adds the SQL standard '[-]y-m'.
func (ib *intervalBuilder) addYearMonth(s string) bool {
	neg := strings.HasPrefix(s, "-")
	y, m, _ := strings.Cut(strings.TrimLeft(s, "+-"), "-")
	years, err1 := strconv.ParseInt(y, 10, 64)
	months, err2 := strconv.ParseInt(m, 10, 64)
	if err1 != nil || err2 != nil || months > 11 {
		return false
	}
	if neg {
		years, months = -years, -months
	}
	ib.add(&ib.months, years, 12)
	ib.add(&ib.months, months, 1)
	return true
}

// parseISO reads the part of an ISO 8601 duration after the P:
// [nY][nM][nW][nD][T[nH][nM][nS]], where each n may be signed and
// fractional.
func (ib *intervalBuilder) parseISO(s string) bool {
	if s == "" {
		return false
	}
	inTime := false
	for s != "" {
		if s[0] == 't' {
			if inTime {
				return false
			}
			inTime = true
			s = s[1:]
			continue
		}
		end := 0
		for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || s[end] == '-' || s[end] == '+') {
			end++
		}
		if end == 0 || end == len(s) {
			return false
		}
		whole, frac, ok := splitNumber(s[:end])
		if !ok {
			return false
		}
		var unit intervalUnit
		switch designator := s[end]; {
		case !inTime && designator == 'y':
			unit = unitYear
		case !inTime && designator == 'm':
			unit = unitMonth
		case !inTime && designator == 'w':
			unit = unitWeek
		case !inTime && designator == 'd':
			unit = unitDay
		case inTime && designator == 'h':
			unit = unitHour
		case inTime && designator == 'm':
			unit = unitMinute
		case inTime && designator == 's':
			unit = unitSecond
		default:
			return false
		}
		ib.addUnit(unit, whole, frac)
		s = s[end+1:]
	}
	return true
}
