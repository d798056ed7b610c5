package executor

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Free-form date and time input is read the way PostgreSQL reads it with
// DateStyle ISO, MDY. Fields are separated by spaces or commas and come in
// any order. They may be month and weekday names, AM and PM, BC, time zone
// names and the words today, tomorrow, yesterday, now and epoch. parseDate and
// parseTimestamp try their fixed ISO layouts first and come here for the
// rest.

// dateTimeInput is the fields read from free-form input.
type dateTimeInput struct {
	year, month, day int
	yearDigits       int
	hasDate          bool
	hour, minute     int
	second, nanos    int
	hasTime          bool
	// meridiem is "am", "pm" or "".
	meridiem string
	bc       bool
	// zone is the time zone named in the input, nil when none was.
	zone *time.Location
	// relativeDays is set by today (0), tomorrow (1) and yesterday (-1).
	relativeDays *int
	now, epoch   bool
}

var (
	inputTime        = regexp.MustCompile(`^(\d{1,2}):(\d{1,2})(?::(\d{1,2})(\.\d*)?)?(am|pm)?(z|[+-]\d{1,2}(?::?\d{2})?)?$`)
	inputNumericDate = regexp.MustCompile(`^(\d{1,5})([-/.])(\d{1,2})([-/.])(\d{1,5})$`)
	inputNamedDate   = regexp.MustCompile(`^([a-z]+|\d{1,5})-([a-z]+|\d{1,5})-([a-z]+|\d{1,5})$`)
	inputOffset      = regexp.MustCompile(`^[+-]\d{1,2}(?::?\d{2})?$`)
)

var monthNames = map[string]int{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
	"may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
	"sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
	"dec": 12, "december": 12,
}

var weekdayNames = map[string]bool{
	"sun": true, "sunday": true, "mon": true, "monday": true, "tue": true, "tues": true, "tuesday": true,
	"wed": true, "wednesday": true, "thu": true, "thur": true, "thurs": true, "thursday": true,
	"fri": true, "friday": true, "sat": true, "saturday": true,
}

// parseDateTimeInput reads free-form input into its fields. It returns
// false when the input has a field it does not understand.
func parseDateTimeInput(s string) (dateTimeInput, bool) {
	var in dateTimeInput
	var numbers []string
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
	for _, original := range fields {
		field := strings.ToLower(original)
		// ISO 8601 joins the date and the time with T.
		if i := strings.IndexByte(field, 't'); i > 0 && field[i-1] >= '0' && field[i-1] <= '9' && i+1 < len(field) && field[i+1] >= '0' && field[i+1] <= '9' {
			datePart, timePart := field[:i], field[i+1:]
			// The ISO 8601 basic format leaves out the separators, as in
			// 20240102T103000.
			if isDigits(datePart) && len(datePart) == 8 {
				datePart = datePart[:4] + "-" + datePart[4:6] + "-" + datePart[6:]
			}
			digitCount := strings.IndexFunc(timePart, func(r rune) bool { return r < '0' || r > '9' })
			if digitCount < 0 {
				digitCount = len(timePart)
			}
			if digits := timePart[:digitCount]; len(digits) == 4 || len(digits) == 6 {
				clock := digits[:2] + ":" + digits[2:4]
				if len(digits) == 6 {
					clock += ":" + digits[4:]
				}
				timePart = clock + timePart[len(digits):]
			}
			if !in.readDate(datePart) || !in.readTime(timePart) {
				return in, false
			}
			continue
		}
		switch {
		case inputTime.MatchString(field):
			if in.hasTime || !in.readTime(field) {
				return in, false
			}
		case inputNumericDate.MatchString(field), inputNamedDate.MatchString(field) && strings.ContainsAny(field, "abcdefghijklmnopqrstuvwxyz"):
			if !in.readDate(field) {
				return in, false
			}
		case isDigits(field):
			numbers = append(numbers, field)
		case inputOffset.MatchString(field):
			if in.zone != nil {
				return in, false
			}
			offset, ok := parseISOOffset(field)
			if !ok {
				return in, false
			}
			in.zone = time.FixedZone("", offset)
		case monthNames[field] != 0:
			if in.month != 0 {
				return in, false
			}
			in.month = monthNames[field]
		case weekdayNames[field]:
		case field == "am" || field == "pm" || field == "a.m." || field == "p.m.":
			in.meridiem = field[:1] + "m"
		case field == "bc":
			in.bc = true
		case field == "ad":
		case field == "today" || field == "tomorrow" || field == "yesterday":
			if in.relativeDays != nil {
				return in, false
			}
			days := map[string]int{"today": 0, "tomorrow": 1, "yesterday": -1}[field]
			in.relativeDays = &days
		case field == "now":
			in.now = true
		case field == "epoch":
			in.epoch = true
		default:
			loc, err := lookupTimeZone(original)
			if err != nil || in.zone != nil {
				return in, false
			}
			in.zone = loc
		}
	}
	return in, in.assignNumbers(numbers)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseISOOffset reads an offset such as +05:30 or -8, counted east of
// UTC, into seconds.
func parseISOOffset(s string) (int, bool) {
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	digits := strings.ReplaceAll(s[1:], ":", "")
	hours, minutes := digits, ""
	if len(digits) > 2 {
		hours, minutes = digits[:len(digits)-2], digits[len(digits)-2:]
	}
	h, _ := strconv.Atoi(hours)
	m := 0
	if minutes != "" {
		m, _ = strconv.Atoi(minutes)
	}
	if h > 15 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// readDate reads a date field: 2024-01-02, 1/2/2024 (month first),
// 2024/01/02, 02-Jan-2024 or 2024-Jan-02.
func (in *dateTimeInput) readDate(field string) bool {
	if in.hasDate {
		return false
	}
	in.hasDate = true

	var parts []string
	if m := inputNumericDate.FindStringSubmatch(field); m != nil {
		if m[2] != m[4] {
			return false
		}
		parts = []string{m[1], m[3], m[5]}
	} else if m := inputNamedDate.FindStringSubmatch(field); m != nil {
		parts = m[1:]
	} else {
		return false
	}

	var numbers []string
	for _, p := range parts {
		if month := monthNames[p]; month != 0 {
			if in.month != 0 {
				return false
			}
			in.month = month
			continue
		}
		if !isDigits(p) {
			return false
		}
		numbers = append(numbers, p)
	}
	if in.month != 0 {
		return in.assignNumbers(numbers)
	}
	// A first field of three or more digits is the year (ISO order),
	// otherwise the order is month, day, year.
	order := []*int{&in.month, &in.day, &in.year}
	yearIndex := 2
	if len(numbers[0]) > 2 {
		order = []*int{&in.year, &in.month, &in.day}
		yearIndex = 0
	}
	for i, p := range numbers {
		*order[i], _ = strconv.Atoi(p)
	}
	in.yearDigits = len(numbers[yearIndex])
	return true
}

// assignNumbers places bare numbers next to a month name: a number of
// more than two digits or above 31 is the year, else the first is the
// day and the next the year. An eight-digit number alone is YYYYMMDD.
func (in *dateTimeInput) assignNumbers(numbers []string) bool {
	if len(numbers) == 0 {
		return true
	}
	if in.month == 0 {
		if len(numbers) != 1 || len(numbers[0]) != 8 || in.hasDate {
			return false
		}
		n := numbers[0]
		in.year, _ = strconv.Atoi(n[:4])
		in.month, _ = strconv.Atoi(n[4:6])
		in.day, _ = strconv.Atoi(n[6:])
		in.yearDigits, in.hasDate = 4, true
		return true
	}
	in.hasDate = true
	for _, p := range numbers {
		n, _ := strconv.Atoi(p)
		switch {
		case (len(p) > 2 || n > 31) && in.yearDigits == 0:
			in.year, in.yearDigits = n, len(p)
		case in.day == 0 && len(p) <= 2:
			in.day = n
		case in.yearDigits == 0:
			in.year, in.yearDigits = n, len(p)
		default:
			return false
		}
	}
	return in.day != 0 && in.yearDigits != 0
}

// readTime reads hh:mm[:ss[.fraction]] with an optional am or pm and an
// attached zone offset or Z.
func (in *dateTimeInput) readTime(field string) bool {
	m := inputTime.FindStringSubmatch(field)
	if m == nil || in.hasTime {
		return false
	}
	in.hasTime = true
	in.hour, _ = strconv.Atoi(m[1])
	in.minute, _ = strconv.Atoi(m[2])
	in.second, _ = strconv.Atoi(m[3])
	if len(m[4]) > 1 {
		fraction, _ := strconv.ParseFloat("0"+m[4], 64)
		in.nanos = int(fraction*1e9 + 0.5)
	}
	if m[5] != "" {
		in.meridiem = m[5]
	}
	switch {
	case m[6] == "z":
		in.zone = time.UTC
	case m[6] != "":
		offset, ok := parseISOOffset(m[6])
		if !ok {
			return false
		}
		in.zone = time.FixedZone("", offset)
	}
	return true
}

// wallClock returns the date and time of day the fields name, in UTC. The
// words now and today refer to the instant now, read in loc, the session
// time zone.
func (in *dateTimeInput) wallClock(s string, oid uint32, loc *time.Location, now time.Time) (time.Time, error) {
	if in.now || in.epoch || in.relativeDays != nil {
		if in.hasDate || in.now && (in.hasTime || in.relativeDays != nil || in.epoch) {
			return time.Time{}, invalidDatetime(oid, s)
		}
		var base time.Time
		switch {
		case in.epoch:
			// PostgreSQL ignores a time of day after epoch.
			in.hasTime, in.hour, in.minute, in.second, in.nanos = false, 0, 0, 0, 0
			base = time.Unix(0, 0).UTC()
		case in.now:
			local := now.In(loc)
			base = time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), time.UTC)
			return roundMicro(base), nil
		default:
			local := now.In(loc)
			base = time.Date(local.Year(), local.Month(), local.Day()+*in.relativeDays, 0, 0, 0, 0, time.UTC)
		}
		in.year, in.month, in.day = base.Year(), int(base.Month()), base.Day()
		in.yearDigits = 4
	} else if !in.hasDate {
		return time.Time{}, invalidDatetime(oid, s)
	}
	year := in.year
	if in.yearDigits <= 2 && !in.bc {
		// Two-digit years are 1970 to 2069.
		if year < 70 {
			year += 2000
		} else {
			year += 1900
		}
	}
	if in.bc {
		if year == 0 {
			return time.Time{}, invalidDatetime(oid, s)
		}
		year = 1 - year
	}
	hour := in.hour
	switch in.meridiem {
	case "am", "pm":
		if hour > 12 || hour == 0 {
			return time.Time{}, fieldOutOfRange(s)
		}
		if hour == 12 {
			hour = 0
		}
		if in.meridiem == "pm" {
			hour += 12
		}
	}
	if in.month < 1 || in.month > 12 || in.day < 1 || in.day > daysIn(year, time.Month(in.month)) ||
		hour > 24 || in.minute > 59 || in.second > 60 || hour == 24 && (in.minute != 0 || in.second != 0 || in.nanos != 0) {
		return time.Time{}, fieldOutOfRange(s)
	}
	t := time.Date(year, time.Month(in.month), in.day, hour, in.minute, in.second, in.nanos, time.UTC)
	return roundMicro(t), nil
}

func fieldOutOfRange(s string) *pgerror.Error {
	return pgerror.Newf(pgcode.DatetimeFieldOverflow, "date/time field value out of range: %q", s)
}

// parseFreeTimestamp reads free-form timestamp input. A timestamptz
// without a zone in the input is read in loc, the session time zone, and
// a timestamp ignores a zone in the input, as PostgreSQL does.
func parseFreeTimestamp(s string, withZone bool, loc *time.Location, now time.Time) (time.Time, error) {
	oid := uint32(oidTimestamp)
	if withZone {
		oid = oidTimestamptz
	}
	in, ok := parseDateTimeInput(s)
	if !ok {
		return time.Time{}, invalidDatetime(oid, s)
	}
	wall, err := in.wallClock(s, oid, loc, now)
	if err != nil {
		return time.Time{}, err
	}
	t := wall
	if withZone {
		zone := in.zone
		if zone == nil {
			zone = loc
		}
		t = localToInstant(wall, zone)
	}
	if _, err := checkTimestamp(t); err != nil {
		return time.Time{}, pgerror.Newf(pgcode.DatetimeFieldOverflow, "timestamp out of range: %q", s)
	}
	return t, nil
}

// parseFreeDate reads free-form date input, dropping a time of day.
func parseFreeDate(s string, loc *time.Location, now time.Time) (time.Time, error) {
	in, ok := parseDateTimeInput(s)
	if !ok {
		return time.Time{}, invalidDatetime(oidDate, s)
	}
	wall, err := in.wallClock(s, oidDate, loc, now)
	if err != nil {
		return time.Time{}, err
	}
	return checkDate(time.Date(wall.Year(), wall.Month(), wall.Day(), 0, 0, 0, 0, time.UTC))
}

// hasRelativeTimeWord reports whether date or time input contains now,
// today, tomorrow or yesterday, whose value depends on when it is read.
func hasRelativeTimeWord(s string) bool {
	for _, field := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' }) {
		switch field {
		case "now", "today", "tomorrow", "yesterday":
			return true
		}
	}
	return false
}

// relativeTimeExpr is a date or time literal such as 'now' or 'today
// 10:00'. It is read when evaluated, relative to the start of the
// transaction as PostgreSQL reads it, and not when the statement is
// planned, because plans are cached.
type relativeTimeExpr struct {
	text string
	typ  catalog.ColumnType
}

func (e *relativeTimeExpr) eval(ec *evalContext, _ []any) (any, error) {
	loc := ec.sess.location()
	if e.typ.OID == oidTime {
		return parseTime(e.text, e.typ.TypMod, loc, ec.txnTime)
	}
	if e.typ.OID == oidDate {
		return parseFreeDate(e.text, loc, ec.txnTime)
	}
	return parseFreeTimestamp(e.text, e.typ.OID == oidTimestamptz, loc, ec.txnTime)
}

func (e *relativeTimeExpr) resultType() catalog.ColumnType { return e.typ }
