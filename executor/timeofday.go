package executor

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

// A time (time without time zone) datum is a pgtype.Time with Valid set:
// microseconds since midnight, from 0 to microsPerDay, where microsPerDay
// is 24:00:00, as in PostgreSQL.

// maxTimePrecision is the largest precision of time(p) and the precision
// of time without a modifier.
const maxTimePrecision = 6

func makeTime(micros int64) pgtype.Time {
	return pgtype.Time{Microseconds: micros, Valid: true}
}

func formatTimeOfDay(t pgtype.Time) string {
	return string(pgtext.AppendTime(nil, t.Microseconds))
}

func timeOutOfRange() *pgerror.Error {
	return pgerror.New(pgcode.DatetimeFieldOverflow, "time out of range")
}

// timeScales are the microseconds of one unit of the last kept digit for
// each time precision.
var timeScales = [maxTimePrecision + 1]int64{1_000_000, 100_000, 10_000, 1_000, 100, 10, 1}

// roundTimePrecision rounds micros, which is not negative, half up to the
// precision of typmod, as PostgreSQL's AdjustTimeForTypmod does. 23:59:59.9
// as time(0) becomes 24:00:00.
func roundTimePrecision(micros int64, typmod int32) int64 {
	if typmod < 0 || typmod >= maxTimePrecision {
		return micros
	}
	scale := timeScales[typmod]
	return (micros + scale/2) / scale * scale
}

// wallClockMicros returns the microseconds since midnight of a wall-clock
// time stored as UTC, as date and timestamp values are.
func wallClockMicros(t time.Time) int64 {
	h, m, s := t.Clock()
	return (int64(h)*3600+int64(m)*60+int64(s))*microsPerSecond + int64(t.Nanosecond()/1000)
}

// timeFromInterval keeps the time-of-day part of an interval: its
// microseconds modulo one day, ignoring months and days, as PostgreSQL's
// interval to time cast does ('-1 hour' is 23:00:00).
func timeFromInterval(iv pgtype.Interval) pgtype.Time {
	micros := iv.Microseconds % microsPerDay
	if micros < 0 {
		micros += microsPerDay
	}
	return makeTime(micros)
}

// addTimeInterval adds the time part of iv to t, wrapping around midnight.
// Months and days are ignored, as in PostgreSQL.
func addTimeInterval(t pgtype.Time, iv pgtype.Interval, sign int64) pgtype.Time {
	micros := (t.Microseconds + sign*(iv.Microseconds%microsPerDay)) % microsPerDay
	if micros < 0 {
		micros += microsPerDay
	}
	return makeTime(micros)
}

var (
	// inputClockDigits is a time written without separators: hhmm, or
	// hhmmss with an optional fraction.
	inputClockDigits = regexp.MustCompile(`^(\d{2})(\d{2})(?:(\d{2})(\.\d*)?)?$`)
)

// timeOfDayInput contains the fields read from time input.
type timeOfDayInput struct {
	hour, minute, second int
	// fraction is the digits after the decimal point of the seconds.
	fraction string
	// meridiem is "am", "pm" or "".
	meridiem         string
	hasTime, hasDate bool
	hasZone, hasEra  bool
	// dateOutOfRange is set when the date has a month or day that does
	// not exist.
	dateOutOfRange bool
}

// parseTime reads time input the way PostgreSQL's time_in does: a time of
// day with optional seconds, fraction, AM or PM and zone, or one written
// without separators (040506), optionally after a date, or allballs or
// now. A date and a zone are checked and then ignored. The result is
// rounded to the precision of typmod. loc and now give the value of now.
func parseTime(s string, typmod int32, loc *time.Location, now time.Time) (pgtype.Time, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "allballs":
		return makeTime(0), nil
	case "now":
		return makeTime(roundTimePrecision(wallClockMicros(now.In(loc).Round(time.Microsecond)), typmod)), nil
	}
	var in timeOfDayInput
	fields := strings.FieldsFunc(t, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return pgtype.Time{}, invalidTimeInput(s)
	}
	for _, field := range fields {
		if !in.readField(field) {
			return pgtype.Time{}, invalidTimeInput(s)
		}
	}
	if !in.hasTime {
		return pgtype.Time{}, invalidTimeInput(s)
	}
	if in.dateOutOfRange {
		return pgtype.Time{}, fieldOutOfRange(s)
	}
	micros, ok := in.micros()
	if !ok {
		return pgtype.Time{}, fieldOutOfRange(s)
	}
	return makeTime(roundTimePrecision(micros, typmod)), nil
}

func invalidTimeInput(s string) *pgerror.Error {
	return pgerror.Newf(pgcode.InvalidDatetimeFormat, "invalid input syntax for type time: %q", s)
}

// readField reads one field of time input and reports whether it is valid
// in its position. A date must come before the time, and AM, PM and zones
// after it.
func (in *timeOfDayInput) readField(field string) bool {
	// ISO 8601 marks a time with a leading T.
	if len(field) > 1 && field[0] == 't' && field[1] >= '0' && field[1] <= '9' {
		field = field[1:]
	}
	switch {
	case inputTime.MatchString(field):
		if in.hasTime {
			return false
		}
		m := inputTime.FindStringSubmatch(field)
		in.hasTime = true
		in.hour, _ = strconv.Atoi(m[1])
		in.minute, _ = strconv.Atoi(m[2])
		in.second, _ = strconv.Atoi(m[3])
		in.fraction = strings.TrimPrefix(m[4], ".")
		in.meridiem = m[5]
		switch {
		case m[6] == "z":
			in.hasZone = true
		case m[6] != "":
			if _, ok := parseISOOffset(m[6]); !ok {
				return false
			}
			in.hasZone = true
		}
		return true
	case inputClockDigits.MatchString(field):
		if in.hasTime {
			return false
		}
		m := inputClockDigits.FindStringSubmatch(field)
		in.hasTime = true
		in.hour, _ = strconv.Atoi(m[1])
		in.minute, _ = strconv.Atoi(m[2])
		in.second, _ = strconv.Atoi(m[3])
		in.fraction = strings.TrimPrefix(m[4], ".")
		return true
	case inputNumericDate.MatchString(field), inputNamedDate.MatchString(field) && strings.ContainsAny(field, "abcdefghijklmnopqrstuvwxyz"):
		if in.hasDate || in.hasTime {
			return false
		}
		in.hasDate = true
		var date dateTimeInput
		if !date.readDate(field) {
			return false
		}
		if date.month < 1 || date.month > 12 || date.day < 1 || date.day > daysIn(date.year, time.Month(date.month)) {
			in.dateOutOfRange = true
		}
		return true
	case field == "am" || field == "pm" || field == "a.m." || field == "p.m.":
		if !in.hasTime || in.meridiem != "" {
			return false
		}
		in.meridiem = field[:1] + "m"
		return true
	case field == "bc" || field == "ad":
		if in.hasEra {
			return false
		}
		in.hasEra = true
		return true
	case inputOffset.MatchString(field):
		if !in.hasTime || in.hasZone {
			return false
		}
		if _, ok := parseISOOffset(field); !ok {
			return false
		}
		in.hasZone = true
		return true
	case field == "z" || zoneAbbreviations[field] != 0 || field == "utc" || field == "gmt":
		if !in.hasTime || in.hasZone {
			return false
		}
		in.hasZone = true
		return true
	}
	return false
}

// micros returns the time of day the fields name, or false when a field
// is out of range. 24:00:00 is the largest valid time, and a leap second
// (60) carries into the next minute, as in PostgreSQL.
func (in *timeOfDayInput) micros() (int64, bool) {
	hour := in.hour
	switch in.meridiem {
	case "am":
		if hour > 12 {
			return 0, false
		}
		if hour == 12 {
			hour = 0
		}
	case "pm":
		if hour > 12 {
			return 0, false
		}
		if hour != 12 {
			hour += 12
		}
	}
	if hour > 24 || in.minute > 59 || in.second > 60 {
		return 0, false
	}
	micros := (int64(hour)*3600+int64(in.minute)*60+int64(in.second))*microsPerSecond + fractionMicros(in.fraction)
	if micros > microsPerDay {
		return 0, false
	}
	return micros, true
}

// fractionMicros converts the digits after a decimal point to
// microseconds, rounding half up at the seventh digit.
func fractionMicros(digits string) int64 {
	var micros int64
	for i := 0; i < 6; i++ {
		micros *= 10
		if i < len(digits) {
			micros += int64(digits[i] - '0')
		}
	}
	if len(digits) > 6 && digits[6] >= '5' {
		micros++
	}
	return micros
}

// checkTimeParam validates a time received in binary, which PostgreSQL's
// time_recv limits to 00:00:00 through 24:00:00.
func checkTimeParam(t pgtype.Time) (any, error) {
	if t.Microseconds < 0 || t.Microseconds > microsPerDay {
		return nil, timeOutOfRange()
	}
	return t, nil
}

// makeTimeOfDay is make_time(hour, min, sec). Like PostgreSQL, it accepts
// up to 24:00:00 and seconds up to 60, rounded to microseconds.
func makeTimeOfDay(hour, minute int64, sec float64) (any, error) {
	if hour >= 0 && hour <= 24 && minute >= 0 && minute < 60 && !math.IsNaN(sec) {
		secMicros := math.RoundToEven(sec * microsPerSecond)
		if secMicros >= 0 && secMicros <= 60*microsPerSecond {
			micros := (hour*60+minute)*microsPerMinute + int64(secMicros)
			if micros <= microsPerDay {
				return makeTime(micros), nil
			}
		}
	}
	return nil, pgerror.Newf(pgcode.DatetimeFieldOverflow, "time field value out of range: %d:%02d:%s", hour, minute, formatSecondsField(sec))
}

// formatSecondsField formats seconds as C's printf("%02g") does with
// PostgreSQL's snprintf: six significant digits, zero-padded to two
// characters, and NaN and Infinity spelled out.
func formatSecondsField(sec float64) string {
	switch {
	case math.IsNaN(sec):
		return "NaN"
	case math.IsInf(sec, 1):
		return "Infinity"
	case math.IsInf(sec, -1):
		return "-Infinity"
	}
	s := strconv.FormatFloat(sec, 'g', 6, 64)
	if len(s) < 2 {
		s = "0" + s
	}
	return s
}
