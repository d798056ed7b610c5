// Package pgtext formats values the way PostgreSQL's output functions print
// them in text format, where pgtype's text encoding differs: floating point
// numbers and timestamps with time zone.
package pgtext

import (
	"math"
	"strconv"
	"strings"
	"time"
)

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

// AppendTimestamptz appends t as PostgreSQL prints a timestamptz in the UTC
// session time zone with DateStyle ISO: "2024-03-01 12:30:45.5+00".
// TODO: print in the session's TimeZone instead of UTC.
func AppendTimestamptz(buf []byte, t time.Time) []byte {
	buf = appendTimestamp(buf, t.UTC())
	return append(buf, "+00"...)
}

// AppendTimestamp appends a timestamp without time zone:
// "2024-03-01 12:30:45.5".
func AppendTimestamp(buf []byte, t time.Time) []byte {
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
