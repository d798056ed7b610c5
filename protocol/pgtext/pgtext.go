// Package pgtext formats values the way PostgreSQL's output functions print
// them in text format, where pgtype's text encoding differs: floating point
// numbers, timestamps with time zone, times and intervals.
package pgtext

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Infinity and NegativeInfinity are the time.Time values that stand for
// PostgreSQL's infinity and -infinity dates and timestamps. They lie far
// outside the range of finite dates, so they sort after and before every
// finite value.
var (
	Infinity         = time.Unix(infiniteSeconds, 0).UTC()
	NegativeInfinity = time.Unix(-infiniteSeconds, 0).UTC()
)

// infiniteSeconds is about 285 million years after 1970.
const infiniteSeconds = 1 << 53

// InfinitySign returns 1 for Infinity, -1 for NegativeInfinity and 0 for a
// finite time.
func InfinitySign(t time.Time) int {
	switch seconds := t.Unix(); {
	case seconds >= infiniteSeconds:
		return 1
	case seconds <= -infiniteSeconds:
		return -1
	}
	return 0
}

// appendInfinity appends "infinity" or "-infinity" for an infinite t and
// reports whether it did.
func appendInfinity(buf []byte, t time.Time) ([]byte, bool) {
	switch InfinitySign(t) {
	case 1:
		return append(buf, "infinity"...), true
	case -1:
		return append(buf, "-infinity"...), true
	}
	return buf, false
}

// AppendDate appends the date of t as PostgreSQL prints a date with
// DateStyle ISO: "2024-03-01", "0044-03-15 BC" or "infinity".
func AppendDate(buf []byte, t time.Time) []byte {
	if out, ok := appendInfinity(buf, t); ok {
		return out
	}
	if t.Year() <= 0 {
		// Year 0 is 1 BC.
		buf = t.AddDate(1-2*t.Year(), 0, 0).AppendFormat(buf, "2006-01-02")
		return append(buf, " BC"...)
	}
	return t.AppendFormat(buf, "2006-01-02")
}

// AppendFloat appends f as PostgreSQL 12 and later print float4 (bits 32)
// and float8 (bits 64) with the default extra_float_digits. The text is the
// shortest that reads back as the same value. It uses exponent form when
// the decimal exponent is below -4, or at least 15 for float8 and 6 for
// float4.
func AppendFloat(buf []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	}
	e := strconv.FormatFloat(f, 'e', -1, bits)
	mant, expPart, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expPart)
	maxExp := 15
	if bits == 32 {
		maxExp = 6
	}
	if exp >= -4 && exp < maxExp {
		return strconv.AppendFloat(buf, f, 'f', -1, bits)
	}
	buf = append(buf, mant...)
	buf = append(buf, 'e')
	if exp < 0 {
		buf = append(buf, '-')
		exp = -exp
	} else {
		buf = append(buf, '+')
	}
	if exp < 10 {
		buf = append(buf, '0')
	}
	return strconv.AppendInt(buf, int64(exp), 10)
}

// AppendTimestamptz appends t as PostgreSQL prints a timestamptz with
// DateStyle ISO, in t's location: "2024-03-01 12:30:45.5+00",
// "2024-06-01 08:00:00-04" or "2024-06-01 17:30:00+05:30". The caller moves
// t into the session time zone.
func AppendTimestamptz(buf []byte, t time.Time) []byte {
	if out, ok := appendInfinity(buf, t); ok {
		return out
	}
	bc := t.Year() <= 0
	if bc {
		// The era follows the offset: "0001-01-01 13:04:05+00 BC".
		buf = t.AddDate(-2*t.Year()+1, 0, 0).AppendFormat(buf, "2006-01-02 15:04:05.999999")
	} else {
		buf = appendTimestamp(buf, t)
	}
	buf = appendOffset(buf, t)
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

func appendOffset(buf []byte, t time.Time) []byte {
	_, offset := t.Zone()
	sign := byte('+')
	if offset < 0 {
		sign, offset = '-', -offset
	}
	buf = append(buf, sign)
	buf = appendTwoDigits(buf, offset/3600)
	if rest := offset % 3600; rest != 0 {
		buf = append(buf, ':')
		buf = appendTwoDigits(buf, rest/60)
		if rest%60 != 0 {
			buf = append(buf, ':')
			buf = appendTwoDigits(buf, rest%60)
		}
	}
	return buf
}

func appendTwoDigits(buf []byte, n int) []byte {
	if n < 10 {
		buf = append(buf, '0')
	}
	return strconv.AppendInt(buf, int64(n), 10)
}

// AppendTimestamp appends a timestamp without time zone:
// "2024-03-01 12:30:45.5".
func AppendTimestamp(buf []byte, t time.Time) []byte {
	if out, ok := appendInfinity(buf, t); ok {
		return out
	}
	return appendTimestamp(buf, t)
}

func appendTimestamp(buf []byte, t time.Time) []byte {
	if t.Year() <= 0 {
		// PostgreSQL prints years before 1 AD with a BC suffix.
		buf = t.AddDate(-2*t.Year()+1, 0, 0).AppendFormat(buf, "2006-01-02 15:04:05.999999")
		return append(buf, " BC"...)
	}
	return t.AppendFormat(buf, "2006-01-02 15:04:05.999999")
}

// AppendInterval appends an interval as PostgreSQL prints it with
// IntervalStyle postgres: "1 year 2 mons 3 days 04:05:06.5", "-1 days
// +02:00:00", "00:00:00". A field after a negative one carries an explicit
// "+" when positive, and the time part appears when it is not zero or when
// no other field was printed.
func AppendInterval(buf []byte, months, days int32, micros int64) []byte {
	empty, afterNegative := true, false
	appendField := func(value int64, unit string) {
		if value == 0 {
			return
		}
		if !empty {
			buf = append(buf, ' ')
		}
		if afterNegative && value > 0 {
			buf = append(buf, '+')
		}
		buf = strconv.AppendInt(buf, value, 10)
		buf = append(buf, ' ')
		buf = append(buf, unit...)
		if value != 1 {
			buf = append(buf, 's')
		}
		afterNegative, empty = value < 0, false
	}
	appendField(int64(months/12), "year")
	appendField(int64(months%12), "mon")
	appendField(int64(days), "day")
	if !empty && micros == 0 {
		return buf
	}
	if !empty {
		buf = append(buf, ' ')
	}
	// The magnitude as unsigned, so the minimum int64 has one too.
	abs := uint64(micros)
	if micros < 0 {
		abs = -abs
		buf = append(buf, '-')
	} else if afterNegative {
		buf = append(buf, '+')
	}
	return appendClock(buf, abs)
}

// AppendTime appends a time without time zone, given as microseconds since
// midnight, as PostgreSQL prints it: "04:05:06", "04:05:06.789" or
// "24:00:00".
func AppendTime(buf []byte, micros int64) []byte {
	return appendClock(buf, uint64(micros))
}

// appendClock appends hours:minutes:seconds and the fraction of a second
// without trailing zeros. The hours have at least two digits and may exceed
// 23.
func appendClock(buf []byte, abs uint64) []byte {
	const microsPerSecond = 1_000_000
	seconds := abs / microsPerSecond
	hours := seconds / 3600
	if hours < 10 {
		buf = append(buf, '0')
	}
	buf = strconv.AppendUint(buf, hours, 10)
	buf = append(buf, ':')
	buf = appendTwoDigits(buf, int(seconds/60%60))
	buf = append(buf, ':')
	buf = appendTwoDigits(buf, int(seconds%60))
	if fraction := abs % microsPerSecond; fraction != 0 {
		digits := strconv.AppendUint(nil, fraction+microsPerSecond, 10)[1:]
		buf = append(buf, '.')
		buf = append(buf, strings.TrimRight(string(digits), "0")...)
	}
	return buf
}
