package executor

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

// zoneAbbreviations are the time zone abbreviations of PostgreSQL 15's
// default timezone_abbreviations set, in lower case, with their offsets
// east of UTC in seconds, as its pg_timezone_abbrevs view listed them.
// NOTE: PostgreSQL resolves a few of them (MSK, for one) through a zone's
// history, so a date far from the present may get a different offset
// there.
var zoneAbbreviations = map[string]int{
	"acdt": 37800, "acsst": 37800, "acst": 34200, "act": -18000, "acwst": 31500, "adt": -10800, "aedt": 39600, "aesst": 39600, "aest": 36000, "aft": 16200, "akdt": -28800,
	"akst": -32400, "almst": 25200, "almt": 21600, "amst": 14400, "amt": -14400, "anast": 43200, "anat": 43200, "arst": -10800, "art": -10800, "ast": -14400, "awsst": 32400,
	"awst": 28800, "azost": 0, "azot": -3600, "azst": 14400, "azt": 14400, "bdst": 7200,
	"bdt": 21600, "bnt": 28800, "bort": 28800, "bot": -14400, "bra": -10800, "brst": -7200,
	"brt": -10800, "bst": 3600, "btt": 21600, "cadt": 37800, "cast": 34200, "cct": 28800,
	"cdt": -18000, "cest": 7200, "cet": 3600, "cetdst": 7200, "chadt": 49500, "chast": 45900,
	"chut": 36000, "ckt": -36000, "clst": -10800, "clt": -10800, "cot": -18000, "cst": -21600, "cxt": 25200, "davt": 25200, "ddut": 36000, "easst": -18000, "east": -18000,
	"eat": 10800, "edt": -14400, "eest": 10800, "eet": 7200, "eetdst": 10800, "egst": 0,
	"egt": -3600, "est": -18000, "fet": 10800, "fjst": 46800, "fjt": 43200, "fkst": -10800,
	"fkt": -10800, "fnst": -3600, "fnt": -7200, "galt": -21600, "gamt": -32400, "gest": 14400, "get": 14400, "gft": -10800, "gilt": 43200, "gmt": 0, "gyt": -14400, "hkt": 28800,
	"hst": -36000, "ict": 25200, "idt": 10800, "iot": 21600, "irkst": 28800, "irkt": 28800,
	"irt": 12600, "ist": 7200, "jayt": 32400, "jst": 32400, "kdt": 36000, "kgst": 21600,
	"kgt": 21600, "kost": 39600, "krast": 25200, "krat": 25200, "kst": 32400, "lhdt": 39600,
	"lhst": 37800, "ligt": 36000, "lint": 50400, "lkt": 19800, "magst": 39600, "magt": 39600,
	"mart": -34200, "mawt": 18000, "mdt": -21600, "mest": 7200, "mesz": 7200, "met": 3600,
	"metdst": 7200, "mez": 3600, "mht": 43200, "mmt": 23400, "mpt": 36000, "msd": 14400,
	"msk": 10800, "mst": -25200, "must": 18000, "mut": 14400, "mvt": 18000, "myt": 28800,
	"ndt": -9000, "nft": -12600, "novst": 25200, "novt": 25200, "npt": 20700, "nst": -12600,
	"nut": -39600, "nzdt": 46800, "nzst": 43200, "nzt": 43200, "omsst": 21600, "omst": 21600,
	"pdt": -25200, "pet": -18000, "petst": 43200, "pett": 43200, "pgt": 36000, "pht": 28800,
	"pkst": 21600, "pkt": 18000, "pmdt": -7200, "pmst": -10800, "pont": 39600, "pst": -28800,
	"pwt": 32400, "pyst": -10800, "pyt": -10800, "ret": 14400, "sadt": 37800, "sast": 7200,
	"sct": 14400, "sgt": 28800, "taht": -36000, "tft": 18000, "tjt": 18000, "tkt": 46800,
	"tmt": 18000, "tot": 46800, "trut": 36000, "tvt": 43200, "uct": 0, "ulast": 32400,
	"ulat": 28800, "ut": 0, "utc": 0, "uyst": -7200, "uyt": -10800, "uzst": 21600, "uzt": 18000, "vet": -14400, "vlast": 36000, "vlat": 36000, "volt": 10800, "vut": 39600, "wadt": 28800, "wakt": 43200, "wast": 25200, "wat": 3600, "wdt": 32400, "wet": 0, "wetdst": 3600,
	"wft": 43200, "wgst": -7200, "wgt": -10800, "xjt": 21600, "yakst": 32400, "yakt": 32400,
	"yapt": 36000, "yekst": 21600, "yekt": 18000, "z": 0, "zulu": 0,
}

// zoneCache keeps the locations that lookupTimeZone has resolved, because
// AT TIME ZONE looks its zone up for every row.
var zoneCache sync.Map

// lookupTimeZone resolves a time zone name the way PostgreSQL's AT TIME
// ZONE does. It tries an abbreviation such as PST, then a zone name such
// as Europe/Paris in any letter case, then a POSIX zone such as UTC+3 or
// +05, whose offset counts hours west of UTC.
func lookupTimeZone(name string) (*time.Location, error) {
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc := resolveTimeZone(name)
	if loc == nil {
		return nil, pgerror.Newf(pgcode.InvalidParameterValue, "time zone %q not recognized", name)
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

func resolveTimeZone(name string) *time.Location {
	if offset, ok := zoneAbbreviations[strings.ToLower(name)]; ok {
		return time.FixedZone(strings.ToUpper(name), offset)
	}
	loc, _, _ := resolveZoneName(name)
	return loc
}

// resolveZoneName resolves a zone name, in any letter case, or a POSIX
// zone, as the TimeZone setting accepts them, and returns it with its
// canonical spelling.
func resolveZoneName(name string) (*time.Location, string, bool) {
	if strings.TrimSpace(name) != name || name == "" || strings.EqualFold(name, "local") {
		return nil, "", false
	}
	// NOTE: Go's zone names are case-sensitive, so a name in another case
	// is tried with each word capitalized and then in upper case, which
	// misses a few zones such as America/Port-au-Prince.
	for _, candidate := range []string{name, capitalizeZoneName(name), strings.ToUpper(name)} {
		if loc, err := time.LoadLocation(candidate); err == nil {
			return loc, candidate, true
		}
	}
	if abbreviation, offset, ok := parsePOSIXOffset(name); ok {
		return time.FixedZone(abbreviation, offset), name, true
	}
	return nil, "", false
}

// numericTimeZone returns the POSIX zone that SET TIME ZONE gives a
// number of hours east of UTC, as PostgreSQL spells it: -5 is <-05>+05.
func numericTimeZone(hours float64) string {
	seconds := int(math.Round(hours * 3600))
	format := func(sign byte, seconds int) string {
		text := fmt.Sprintf("%c%02d", sign, seconds/3600)
		if rest := seconds % 3600; rest != 0 {
			text += fmt.Sprintf(":%02d", rest/60)
		}
		return text
	}
	east, west := byte('+'), byte('-')
	if seconds < 0 {
		east, west, seconds = '-', '+', -seconds
	}
	return "<" + format(east, seconds) + ">" + format(west, seconds)
}

// capitalizeZoneName returns name with each word in upper case first and
// lower case after, as in America/New_York.
func capitalizeZoneName(name string) string {
	out := []rune(strings.ToLower(name))
	start := true
	for i, r := range out {
		if start {
			out[i] = unicode.ToUpper(r)
		}
		start = r == '/' || r == '_' || r == '-'
	}
	return string(out)
}

// parsePOSIXOffset reads a POSIX time zone without daylight saving rules:
// an optional name of three or more letters or in angle brackets, and an
// offset [+|-]hh[:mm[:ss]] counted west of UTC, so UTC+3 is three hours
// behind UTC. It returns the name and the offset east of UTC in seconds.
func parsePOSIXOffset(s string) (string, int, bool) {
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	if i > 0 && i < 3 {
		return "", 0, false
	}
	abbreviation := s[:i]
	if i == 0 && strings.HasPrefix(s, "<") {
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return "", 0, false
		}
		abbreviation, i = s[1:end], end+1
	}

	rest := s[i:]
	sign := 1
	if rest != "" && (rest[0] == '+' || rest[0] == '-') {
		if rest[0] == '-' {
			sign = -1
		}
		rest = rest[1:]
	}

	parts := strings.Split(rest, ":")
	if len(parts) > 3 {
		return "", 0, false
	}
	limits := []int{24*7 - 1, 59, 59}
	scales := []int{3600, 60, 1}
	seconds := 0
	for k, part := range parts {
		if part == "" || len(part) > 3 {
			return "", 0, false
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 || n > limits[k] {
			return "", 0, false
		}
		seconds += n * scales[k]
	}
	return abbreviation, -sign * seconds, true
}

// intervalZone returns the fixed zone that an interval names in AT TIME
// ZONE, as '+02:00' for two hours east of UTC.
func intervalZone(iv pgtype.Interval) (*time.Location, error) {
	if iv.Months != 0 || iv.Days != 0 {
		return nil, pgerror.Newf(pgcode.InvalidParameterValue, "interval time zone %q must not include months or days", formatInterval(iv))
	}
	return time.FixedZone("", int(iv.Microseconds/microsPerSecond)), nil
}

// atTimeZone converts t between timestamp and timestamptz in loc. A
// timestamptz becomes the wall-clock time in loc, and a timestamp, read
// as wall-clock time in loc, becomes the instant it names.
func atTimeZone(t time.Time, loc *time.Location, fromZone bool) (any, error) {
	if pgtext.InfinitySign(t) != 0 {
		return t, nil
	}
	if fromZone {
		local := t.In(loc)
		return checkTimestamp(time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), time.UTC))
	}
	return checkTimestamp(localToInstant(t, loc))
}

// localToInstant returns the instant at which clocks in loc show the
// wall-clock time wall (a time in UTC). Like PostgreSQL, and unlike
// time.Date, it reads a time that a daylight saving change skips with the
// offset from before the change, and a time that occurs twice with the
// offset from after it. NOTE: it compares the offsets a day before and
// after wall, so two changes within that span are not handled.
func localToInstant(wall time.Time, loc *time.Location) time.Time {
	_, before := wall.Add(-24 * time.Hour).In(loc).Zone()
	_, after := wall.Add(24 * time.Hour).In(loc).Zone()
	withBefore := wall.Add(-time.Duration(before) * time.Second)
	if before == after {
		return withBefore
	}
	withAfter := wall.Add(-time.Duration(after) * time.Second)
	if _, offset := withAfter.In(loc).Zone(); offset == after {
		return withAfter
	}
	return withBefore
}

// timezoneOverloads are timezone(zone, value), which AT TIME ZONE calls.
// The timestamptz overloads come first, so that a date or an unknown
// literal resolves to them, as in PostgreSQL.
func timezoneOverloads() []builtin {
	var out []builtin
	for _, zoneType := range []uint32{oidText, oidInterval} {
		for _, valueType := range []uint32{oidTimestamptz, oidTimestamp} {
			fromZone := valueType == oidTimestamptz
			result := uint32(oidTimestamptz)
			if fromZone {
				result = oidTimestamp
			}
			out = append(out, builtin{argTypes: []uint32{zoneType, valueType}, result: fixed(result), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
				var loc *time.Location
				var err error
				if zoneType == oidText {
					loc, err = lookupTimeZone(a[0].(string))
				} else {
					loc, err = intervalZone(a[0].(pgtype.Interval))
				}
				if err != nil {
					return nil, err
				}
				return atTimeZone(a[1].(time.Time), loc, fromZone)
			}})
		}
	}
	return out
}
