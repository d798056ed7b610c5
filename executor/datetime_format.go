package executor

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// This file holds the template patterns of to_char, to_timestamp and
// to_date, as PostgreSQL's formatting.c defines them.

// dateTimeKeywords are the template patterns for dates and times, longest
// first so that HH24 wins over HH. A pattern matches in upper or lower
// case, and the names also capitalised (Month, MONTH, month), which
// chooses the case of the output.
var dateTimeKeywords = []string{
	"A.D.", "A.M.", "B.C.", "P.M.", "Y,YYY", "HH24", "HH12", "IDDD", "IYYY", "MONTH", "SSSSS",
	"DAY", "DDD", "FF1", "FF2", "FF3", "FF4", "FF5", "FF6", "IYY", "MON", "SSSS", "TZH", "TZM", "YYYY", "YYY",
	"AD", "AM", "BC", "CC", "DD", "DY", "HH", "ID", "IW", "IY", "MI", "MM", "MS", "OF", "PM", "RM", "SS", "TZ", "US", "WW", "YY",
	"D", "I", "J", "Q", "W", "Y",
}

// templateNode is a pattern or a piece of literal text of a template.
type templateNode struct {
	keyword string // upper case, or "" for literal text
	source  string // the keyword as written, or the literal text
	fill    bool   // FM: no padding
	suffix  string // TH or th: ordinal suffix
}

func keywordMatches(keyword, source string) bool {
	switch {
	case source == keyword, source == strings.ToLower(keyword):
		return true
	case keyword == "MONTH", keyword == "MON", keyword == "DAY", keyword == "DY":
		return source == keyword[:1]+strings.ToLower(keyword[1:])
	}
	return false
}

func parseTemplate(format string) []templateNode {
	var nodes []templateNode
	literal := func(s string) {
		if n := len(nodes); n > 0 && nodes[n-1].keyword == "" {
			nodes[n-1].source += s
			return
		}
		nodes = append(nodes, templateNode{source: s})
	}
	for i := 0; i < len(format); {
		fill := false
		for i+2 <= len(format) {
			prefix := format[i : i+2]
			if prefix == "FM" || prefix == "fm" {
				fill = true
			} else if prefix != "FX" && prefix != "fx" && prefix != "TM" && prefix != "tm" {
				break
			}
			i += 2
		}
		if i >= len(format) {
			break
		}
		matched := ""
		for _, kw := range dateTimeKeywords {
			if len(format)-i >= len(kw) && keywordMatches(kw, format[i:i+len(kw)]) {
				matched = kw
				break
			}
		}
		if matched != "" {
			node := templateNode{keyword: matched, source: format[i : i+len(matched)], fill: fill}
			i += len(matched)
			if len(format)-i >= 2 && (format[i:i+2] == "TH" || format[i:i+2] == "th") {
				node.suffix = format[i : i+2]
				i += 2
			}
			nodes = append(nodes, node)
			continue
		}
		switch c := format[i]; c {
		case '"':
			end := i + 1
			var text strings.Builder
			for end < len(format) && format[end] != '"' {
				if format[end] == '\\' && end+1 < len(format) {
					end++
				}
				text.WriteByte(format[end])
				end++
			}
			literal(text.String())
			i = end + 1
		case '\\':
			if i+1 < len(format) {
				literal(format[i+1 : i+2])
				i += 2
			} else {
				literal("\\")
				i++
			}
		default:
			literal(format[i : i+1])
			i++
		}
	}
	return nodes
}

// dateTimeFields are the values to_char prints. For an interval the year,
// month and day come from its fields and hour is the whole time in hours.
type dateTimeFields struct {
	year, month, day, hour, minute, second, micros int64
	weekday, yearDay, isoYear, isoWeek             int
	julian                                         int64
	zone                                           string
	offset                                         int
	interval                                       bool
}

func timeFieldsOf(t time.Time, withZone bool) dateTimeFields {
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	isoYear, isoWeek := t.ISOWeek()
	f := dateTimeFields{
		year: int64(year), month: int64(month), day: int64(day),
		hour: int64(hour), minute: int64(minute), second: int64(second), micros: int64(t.Nanosecond() / 1000),
		weekday: int(t.Weekday()), yearDay: t.YearDay(), isoYear: isoYear, isoWeek: isoWeek,
		julian: unixDays(time.Date(year, month, day, 0, 0, 0, 0, time.UTC)) + julianDayOffset,
	}
	if withZone {
		f.zone, f.offset = t.Zone()
	}
	return f
}

func intervalFieldsOf(iv pgtype.Interval) dateTimeFields {
	p := splitInterval(iv)
	return dateTimeFields{
		year: p.years, month: p.months, day: p.days, hour: p.hours, minute: p.minutes, second: p.seconds, micros: p.micros,
		interval: true,
	}
}

// nameCase applies the case of a template keyword to a name: "Month"
// capitalises, "MONTH" upper-cases, "month" lower-cases.
func nameCase(source, name string) string {
	switch {
	case len(source) >= 2 && source[0] >= 'A' && source[0] <= 'Z' && source[1] >= 'a' && source[1] <= 'z':
		return name
	case source[0] >= 'A' && source[0] <= 'Z':
		return strings.ToUpper(name)
	}
	return strings.ToLower(name)
}

// ordinalSuffix returns "st", "nd", "rd" or "th" for n.
func ordinalSuffix(n int64) string {
	if n < 0 {
		n = -n
	}
	if n%100 >= 11 && n%100 <= 13 {
		return "th"
	}
	switch n % 10 {
	case 1:
		return "st"
	case 2:
		return "nd"
	case 3:
		return "rd"
	}
	return "th"
}

var romanMonths = []string{"I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"}

// formatDateTime is to_char of a date, timestamp or interval.
func formatDateTime(format string, f dateTimeFields) (any, error) {
	var out strings.Builder
	for _, n := range parseTemplate(format) {
		if n.keyword == "" {
			out.WriteString(n.source)
			continue
		}
		number := func(v int64, width int) {
			if v < 0 && strings.Contains("HH HH12 HH24 MI SS", n.keyword) {
				// In the time of a negative interval the minus sign takes
				// a place of its own: "-03".
				width++
			}
			if n.fill {
				out.WriteString(strconv.FormatInt(v, 10))
			} else {
				fmt.Fprintf(&out, "%0*d", width, v)
			}
			if n.suffix != "" {
				suffix := ordinalSuffix(v)
				if n.suffix == "TH" {
					suffix = strings.ToUpper(suffix)
				}
				out.WriteString(suffix)
			}
		}
		name := func(s string, width int) {
			s = nameCase(n.source, s)
			if !n.fill && len(s) < width {
				s += strings.Repeat(" ", width-len(s))
			}
			out.WriteString(s)
		}
		marker := func(upper string) {
			if n.source[0] >= 'a' {
				upper = strings.ToLower(upper)
			}
			out.WriteString(upper)
		}
		year := f.year
		if !f.interval && year <= 0 {
			// Years BC print as positive numbers.
			year = 1 - year
		}
		hour12 := f.hour % 12
		if hour12 == 0 {
			hour12 = 12
		}
		switch n.keyword {
		case "YYYY":
			number(year, 4)
		case "Y,YYY":
			out.WriteString(strconv.FormatInt(year/1000, 10) + "," + fmt.Sprintf("%03d", year%1000))
		case "YYY":
			number(year%1000, 3)
		case "YY":
			number(year%100, 2)
		case "Y":
			number(year%10, 1)
		case "IYYY":
			number(int64(f.isoYear), 4)
		case "IYY":
			number(int64(f.isoYear%1000), 3)
		case "IY":
			number(int64(f.isoYear%100), 2)
		case "I":
			number(int64(f.isoYear%10), 1)
		case "MM":
			number(f.month, 2)
		case "DD":
			number(f.day, 2)
		case "DDD":
			number(int64(f.yearDay), 3)
		case "IDDD":
			number(int64((f.isoWeek-1)*7+(f.weekday+6)%7+1), 3)
		case "D":
			number(int64(f.weekday+1), 1)
		case "ID":
			number(int64((f.weekday+6)%7+1), 1)
		case "HH", "HH12":
			number(hour12, 2)
		case "HH24":
			number(f.hour, 2)
		case "MI":
			number(f.minute, 2)
		case "SS":
			number(f.second, 2)
		case "MS":
			number(f.micros/1000, 3)
		case "US":
			number(f.micros, 6)
		case "FF1", "FF2", "FF3", "FF4", "FF5", "FF6":
			digits := int(n.keyword[2] - '0')
			number(f.micros/int64(math.Pow10(6-digits)), digits)
		case "SSSS", "SSSSS":
			number((f.hour*60+f.minute)*60+f.second, 0)
		case "J":
			number(f.julian, 0)
		case "Q":
			number((f.month-1)/3+1, 1)
		case "WW":
			number(int64((f.yearDay-1)/7+1), 2)
		case "IW":
			number(int64(f.isoWeek), 2)
		case "W":
			number((f.day-1)/7+1, 1)
		case "CC":
			century := (year + 99) / 100
			if !f.interval && f.year <= 0 {
				century = -century
			}
			number(century, 2)
		case "AM", "PM":
			marker(map[bool]string{false: "AM", true: "PM"}[f.hour%24 >= 12])
		case "A.M.", "P.M.":
			marker(map[bool]string{false: "A.M.", true: "P.M."}[f.hour%24 >= 12])
		case "AD", "BC":
			marker(map[bool]string{false: "AD", true: "BC"}[!f.interval && f.year <= 0])
		case "A.D.", "B.C.":
			marker(map[bool]string{false: "A.D.", true: "B.C."}[!f.interval && f.year <= 0])
		case "MONTH", "MON":
			if f.month < 1 || f.month > 12 {
				continue
			}
			month := time.Month(f.month).String()
			if n.keyword == "MON" {
				name(month[:3], 3)
			} else {
				name(month, 9)
			}
		case "DAY", "DY":
			if f.interval {
				continue
			}
			day := time.Weekday(f.weekday).String()
			if n.keyword == "DY" {
				name(day[:3], 3)
			} else {
				name(day, 9)
			}
		case "RM":
			if f.month >= 1 && f.month <= 12 {
				name(romanMonths[f.month-1], 4)
			}
		case "TZ":
			if !f.interval {
				marker(strings.ToUpper(f.zone))
			}
		case "OF", "TZH", "TZM":
			offset := f.offset
			sign := "+"
			if offset < 0 {
				sign, offset = "-", -offset
			}
			switch n.keyword {
			case "OF":
				out.WriteString(fmt.Sprintf("%s%02d", sign, offset/3600))
				if offset%3600 != 0 {
					out.WriteString(fmt.Sprintf(":%02d", offset/60%60))
				}
			case "TZH":
				out.WriteString(fmt.Sprintf("%s%02d", sign, offset/3600))
			case "TZM":
				out.WriteString(fmt.Sprintf("%02d", offset/60%60))
			}
		}
	}
	return out.String(), nil
}

// numberToChar is to_char of a number of type oid.
func numberToChar(oid uint32) builtin {
	return builtin{argTypes: []uint32{oid, oidText}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		var d *apd.Decimal
		switch x := a[0].(type) {
		case int64:
			d = apd.New(x, 0)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, pgerror.NotSupported("to_char of NaN or infinity")
			}
			d = new(apd.Decimal)
			if _, err := d.SetFloat64(x); err != nil {
				return nil, pgerror.Internal("converting %v to numeric: %v", x, err)
			}
		case *apd.Decimal:
			if x.Form != apd.Finite {
				return nil, pgerror.NotSupported("to_char of NaN or infinity")
			}
			d = x
		}
		return formatNumber(d, a[1].(string))
	}}
}

// numberFormat is a parsed numeric template.
type numberFormat struct {
	items      []string // "9", "0", ".", ",", "S", "MI", "PL", "SG", "PR" or literal text
	pre, post  int      // digit positions before and after the decimal point
	zeroStart  int      // index among the integer positions of the first 0, or -1
	hasPoint   bool
	fill       bool
	signPlaced bool // S, MI, PL, SG or PR place the sign
}

func parseNumberFormat(format string) (numberFormat, error) {
	nf := numberFormat{zeroStart: -1}
	for i := 0; i < len(format); {
		upper := strings.ToUpper(format[i:])
		switch {
		case strings.HasPrefix(upper, "FM"):
			nf.fill = true
			i += 2
		case format[i] == '9' || format[i] == '0':
			if nf.hasPoint {
				nf.post++
			} else {
				if format[i] == '0' && nf.zeroStart < 0 {
					nf.zeroStart = nf.pre
				}
				nf.pre++
			}
			nf.items = append(nf.items, format[i:i+1])
			i++
		case format[i] == '.' || upper[0] == 'D':
			if nf.hasPoint {
				return nf, pgerror.New(pgcode.SyntaxError, "multiple decimal points")
			}
			nf.hasPoint = true
			nf.items = append(nf.items, ".")
			i++
		case format[i] == ',' || upper[0] == 'G':
			nf.items = append(nf.items, ",")
			i++
		case strings.HasPrefix(upper, "MI"), strings.HasPrefix(upper, "PL"), strings.HasPrefix(upper, "SG"), strings.HasPrefix(upper, "PR"):
			nf.items = append(nf.items, upper[:2])
			nf.signPlaced = true
			i += 2
		case upper[0] == 'S':
			nf.items = append(nf.items, "S")
			nf.signPlaced = true
			i++
		case strings.HasPrefix(upper, "EEEE"), strings.HasPrefix(upper, "RN"), strings.HasPrefix(upper, "TH"),
			upper[0] == 'V', upper[0] == 'L':
			return nf, pgerror.NotSupported("to_char pattern " + format[i:i+1])
		case format[i] == '"':
			end := strings.IndexByte(format[i+1:], '"')
			if end < 0 {
				end = len(format) - i - 1
			}
			nf.items = append(nf.items, "'"+format[i+1:i+1+end])
			i += end + 2
		default:
			nf.items = append(nf.items, "'"+format[i:i+1])
			i++
		}
	}
	return nf, nil
}

// formatNumber is to_char of a number: 9 is a digit or a blank, 0 a digit
// or a zero, '.' or D the decimal point, ',' or G a group separator, and
// S, MI, PL, SG and PR place the sign. Without them the sign (a blank when
// positive) goes just before the first digit. A number with more integer
// digits than the template prints '#' in every digit position.
func formatNumber(d *apd.Decimal, format string) (any, error) {
	nf, err := parseNumberFormat(format)
	if err != nil {
		return nil, err
	}
	rounded := new(apd.Decimal)
	ctx := decimalCtx
	ctx.Rounding = apd.RoundHalfUp
	if _, err := ctx.Quantize(rounded, d, -int32(nf.post)); err != nil {
		return nil, outOfRange(oidNumeric)
	}
	negative := rounded.Negative && !rounded.IsZero()
	rounded.Negative = false
	text := rounded.Text('f')
	intDigits, fracDigits, _ := strings.Cut(text, ".")
	if intDigits == "0" && nf.hasPoint {
		intDigits = ""
	}
	overflow := len(intDigits) > nf.pre
	signChar := func(kind string) string {
		switch kind {
		case "MI":
			if negative {
				return "-"
			}
			if nf.fill {
				return ""
			}
			return " "
		case "PL":
			if negative {
				return ""
			}
			return "+"
		}
		if negative {
			return "-"
		}
		return "+"
	}

	var out strings.Builder
	started := false
	leadSign := ""
	start := func() {
		if started {
			return
		}
		started = true
		out.WriteString(leadSign)
	}
	switch {
	case !nf.signPlaced:
		leadSign = map[bool]string{true: "-", false: " "}[negative]
		if nf.fill && !negative {
			leadSign = ""
		}
	case strings.Contains(strings.Join(nf.items, " "), "PR"):
		leadSign = map[bool]string{true: "<", false: " "}[negative]
	}
	// A leading S goes next to the number, not at the start.
	firstDigit := -1
	for i, it := range nf.items {
		if it == "9" || it == "0" || it == "." {
			firstDigit = i
			break
		}
	}
	position, fracPosition := 0, 0
	var fraction strings.Builder
	for i, it := range nf.items {
		switch it {
		case "9", "0":
			if fracPosition > 0 || (nf.hasPoint && position >= nf.pre) {
				digit := byte('0')
				if overflow {
					digit = '#'
				} else if fracPosition < len(fracDigits) {
					digit = fracDigits[fracPosition]
				}
				fracPosition++
				if nf.fill && it == "9" {
					fraction.WriteByte(digit)
				} else {
					out.WriteString(fraction.String())
					fraction.Reset()
					out.WriteByte(digit)
				}
				continue
			}
			index := position - (nf.pre - len(intDigits))
			position++
			switch {
			case overflow:
				start()
				out.WriteByte('#')
			case index >= 0:
				start()
				out.WriteByte(intDigits[index])
			case nf.zeroStart >= 0 && position-1 >= nf.zeroStart:
				start()
				out.WriteByte('0')
			case !nf.fill:
				out.WriteByte(' ')
			}
		case ".":
			start()
			out.WriteByte('.')
			position = nf.pre
		case ",":
			switch {
			case started:
				out.WriteByte(',')
			case !nf.fill:
				out.WriteByte(' ')
			}
		case "S":
			if i < firstDigit {
				leadSign = signChar("S")
			} else {
				out.WriteString(trimZeros(&fraction, nf.fill))
				out.WriteString(signChar("S"))
			}
		case "MI", "PL", "SG":
			out.WriteString(trimZeros(&fraction, nf.fill))
			out.WriteString(signChar(it))
		case "PR":
			out.WriteString(trimZeros(&fraction, nf.fill))
			out.WriteString(map[bool]string{true: ">", false: " "}[negative])
		default:
			out.WriteString(trimZeros(&fraction, nf.fill))
			out.WriteString(it[1:])
		}
	}
	out.WriteString(trimZeros(&fraction, nf.fill))
	result := out.String()
	if nf.fill && !strings.ContainsAny(result, "0123456789#") {
		// Fill mode keeps one zero when no digit is left: 0 is "0.".
		if strings.Contains(result, ".") {
			result = strings.Replace(result, ".", "0.", 1)
		} else {
			result += "0"
		}
	}
	return result, nil
}

// trimZeros returns the pending fraction digits of 9 positions, without
// trailing zeros in fill mode, and resets them.
func trimZeros(fraction *strings.Builder, fill bool) string {
	s := fraction.String()
	fraction.Reset()
	if fill {
		s = strings.TrimRight(s, "0")
	}
	return s
}

// parseWithTemplate is to_timestamp(text, text) and, with dateOnly,
// to_date: it reads the fields of s as the template says, skipping the
// separators between them. The result is wall-clock time in loc unless
// TZH or TZM give an offset.
func parseWithTemplate(s, format string, loc *time.Location, dateOnly bool) (any, error) {
	nodes := parseTemplate(format)
	// Without a year field the year is 1 BC, as in PostgreSQL.
	year, month, day := int64(0), int64(1), int64(1)
	var hour, minute, second, micros int64
	var yearDay int64
	pm, hasMeridiem := false, false
	// The offset of TZH and TZM, in seconds east of UTC.
	offset, hasOffset, negativeOffset := 0, false, false
	pos := 0
	skipSpaces := func() {
		for pos < len(s) && s[pos] == ' ' {
			pos++
		}
	}
	for i, n := range nodes {
		if n.keyword == "" {
			// A space skips spaces, a separator matches one separator (with
			// spaces around it) or nothing, and a letter or digit skips one
			// input character.
			for _, c := range []byte(n.source) {
				switch {
				case c == ' ':
					skipSpaces()
				case isAlnum(c):
					if pos < len(s) {
						pos++
					}
				default:
					skipSpaces()
					if pos < len(s) && !isAlnum(s[pos]) {
						pos++
					}
				}
			}
			continue
		}
		skipSpaces()
		// Digits run to the next non-digit, or to the field's width when
		// another field follows without a separator.
		width := 0
		if i+1 < len(nodes) && nodes[i+1].keyword != "" {
			width = map[string]int{"YYYY": 4, "YYY": 3, "YY": 2, "Y": 1, "MM": 2, "DD": 2, "DDD": 3, "HH": 2, "HH12": 2, "HH24": 2, "MI": 2, "SS": 2, "MS": 3, "US": 6}[n.keyword]
		}
		readNumber := func() (int64, error) {
			start := pos
			if pos < len(s) && (s[pos] == '-' || s[pos] == '+') && (n.keyword == "TZH" || n.keyword == "YYYY") {
				pos++
			}
			for pos < len(s) && s[pos] >= '0' && s[pos] <= '9' && (width == 0 || pos-start < width) {
				pos++
			}
			v, err := strconv.ParseInt(s[start:pos], 10, 64)
			if err != nil {
				return 0, pgerror.Newf(pgcode.InvalidDatetimeFormat, "invalid value %q for %q", s[start:min(len(s), start+max(width, 2))], n.source).
					WithDetail("Value must be an integer.")
			}
			return v, nil
		}
		readName := func(names []string, abbreviated bool) (int, error) {
			for i, full := range names {
				name := full
				if abbreviated {
					name = full[:3]
				}
				if len(s)-pos >= len(name) && strings.EqualFold(s[pos:pos+len(name)], name) {
					pos += len(name)
					return i, nil
				}
			}
			return 0, pgerror.Newf(pgcode.InvalidDatetimeFormat, "invalid value %q for %q", s[pos:min(len(s), pos+3)], n.source).
				WithDetail("The given value did not match any of the allowed values for this field.")
		}
		var err error
		switch n.keyword {
		case "YYYY", "Y,YYY":
			year, err = readNumber()
		case "YYY", "YY", "Y":
			year, err = readNumber()
			if n.keyword == "YY" && year < 100 {
				// Two-digit years pick the one nearest 2020.
				if year < 70 {
					year += 2000
				} else {
					year += 1900
				}
			}
		case "MM":
			month, err = readNumber()
		case "DD":
			day, err = readNumber()
		case "DDD":
			yearDay, err = readNumber()
		case "HH", "HH12", "HH24":
			hour, err = readNumber()
			if err == nil && n.keyword != "HH24" && (hour < 1 || hour > 12) {
				return nil, pgerror.Newf(pgcode.InvalidDatetimeFormat, "hour \"%d\" is invalid for the 12-hour clock", hour).
					WithHint("Use the 24-hour clock, or give an hour between 1 and 12.")
			}
		case "MI":
			minute, err = readNumber()
		case "SS":
			second, err = readNumber()
		case "MS", "US":
			// The digits are a fraction of a second: MS "25" is 250 ms.
			start := pos
			var v int64
			v, err = readNumber()
			digits := 3
			if n.keyword == "US" {
				digits = 6
			}
			for i := pos - start; i < digits; i++ {
				v *= 10
			}
			if n.keyword == "MS" {
				v *= 1000
			}
			micros = v
		case "AM", "PM", "A.M.", "P.M.":
			hasMeridiem = true
			var idx int
			if strings.Contains(n.keyword, ".") {
				idx, err = readName([]string{"A.M.", "P.M."}, false)
			} else {
				idx, err = readName([]string{"AM", "PM"}, false)
			}
			pm = idx == 1
		case "MONTH", "MON":
			names := make([]string, 12)
			for m := range names {
				names[m] = time.Month(m + 1).String()
			}
			var idx int
			idx, err = readName(names, n.keyword == "MON")
			month = int64(idx + 1)
		case "DAY", "DY":
			names := make([]string, 7)
			for d := range names {
				names[d] = time.Weekday(d).String()
			}
			_, err = readName(names, n.keyword == "DY")
		case "TZH":
			negativeOffset = pos < len(s) && s[pos] == '-'
			var h int64
			h, err = readNumber()
			hasOffset = true
			offset += int(max(h, -h)) * 3600
		case "TZM":
			var m int64
			m, err = readNumber()
			hasOffset = true
			offset += int(m) * 60
		default:
			return nil, pgerror.NotSupported("template pattern " + n.source + " in " + map[bool]string{true: "to_date", false: "to_timestamp"}[dateOnly])
		}
		if err != nil {
			return nil, err
		}
	}
	if hasMeridiem {
		hour %= 12
		if pm {
			hour += 12
		}
	}
	if yearDay > 0 {
		month, day = 1, yearDay
	}
	outOfRange := pgerror.Newf(pgcode.DatetimeFieldOverflow, "date/time field value out of range: %q", s)
	if month < 1 || month > 12 || day < 1 || (yearDay == 0 && day > int64(daysIn(int(year), time.Month(month)))) ||
		hour > 24 || minute > 59 || second > 60 {
		return nil, outOfRange
	}
	if dateOnly {
		return checkDate(time.Date(int(year), time.Month(month), int(day), 0, 0, 0, 0, time.UTC))
	}
	if hasOffset {
		if negativeOffset {
			offset = -offset
		}
		loc = time.FixedZone("", offset)
	}
	t := time.Date(int(year), time.Month(month), int(day), int(hour), int(minute), int(second), int(micros)*1000, loc)
	return checkTimestamp(t.UTC())
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
