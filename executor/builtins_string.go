package executor

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// stringBuiltins are the string functions. The grammar's SQL forms arrive
// as calls: POSITION(b IN a) is position(a, b), TRIM(LEADING c FROM s) is
// ltrim(s, c), SUBSTRING(s FROM n FOR m) is substring(s, n, m) and
// SUBSTRING(s FOR m) is substring(s, 1, m).
var stringBuiltins = map[string][]builtin{
	"char_length":      {textFunc1(oidInt4, charLength)},
	"character_length": {textFunc1(oidInt4, charLength)},
	"octet_length": {
		textFunc1(oidInt4, func(s string) any { return int64(len(s)) }),
		// char(n) counts its padding, unlike the text overload.
		{argTypes: []uint32{oidBpchar}, result: fixed(oidInt4), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return int64(len(a[0].(string))), nil
		}},
		{argTypes: []uint32{oidBytea}, result: fixed(oidInt4), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return int64(len(a[0].([]byte))), nil
		}},
	},
	"substr":    substringOverloads(),
	"substring": substringOverloads(),
	"position": {
		{argTypes: []uint32{oidText, oidText}, result: fixed(oidInt4), strict: true, fn: textPosition},
		{argTypes: []uint32{oidBytea, oidBytea}, result: fixed(oidInt4), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return int64(bytes.Index(a[0].([]byte), a[1].([]byte)) + 1), nil
		}},
	},
	"strpos": {{argTypes: []uint32{oidText, oidText}, result: fixed(oidInt4), strict: true, fn: textPosition}},
	"btrim":  trimOverloads(true, true),
	"ltrim":  trimOverloads(true, false),
	"rtrim":  trimOverloads(false, true),
	"replace": {{argTypes: []uint32{oidText, oidText, oidText}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		from := a[1].(string)
		if from == "" {
			return a[0], nil
		}
		return strings.ReplaceAll(a[0].(string), from, a[2].(string)), nil
	}}},
	"left": {{argTypes: []uint32{oidText, oidInt4}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		runes := []rune(a[0].(string))
		n := clampCount(a[1].(int64), len(runes))
		return string(runes[:n]), nil
	}}},
	"right": {{argTypes: []uint32{oidText, oidInt4}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		runes := []rune(a[0].(string))
		n := clampCount(a[1].(int64), len(runes))
		return string(runes[len(runes)-n:]), nil
	}}},
	"repeat": {{argTypes: []uint32{oidText, oidInt4}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		s, n := a[0].(string), a[1].(int64)
		if n <= 0 || s == "" {
			return "", nil
		}
		if int64(len(s))*n > maxStringBytes {
			return nil, pgerror.New(pgcode.ProgramLimitExceeded, "requested length too large")
		}
		return strings.Repeat(s, int(n)), nil
	}}},
	"lpad": padOverloads(true),
	"rpad": padOverloads(false),
	"reverse": {textFunc1(oidText, func(s string) any {
		runes := []rune(s)
		for i, j := 0, len(runes)-1; i < j; i, j = i+1, j-1 {
			runes[i], runes[j] = runes[j], runes[i]
		}
		return string(runes)
	})},
	// concat and concat_ws accept any types and skip NULL arguments.
	"concat": {{argTypes: []uint32{0}, variadic: true, result: fixed(oidText), fn: func(_ *evalContext, a []any) (any, error) {
		var b strings.Builder
		for _, v := range a {
			if v != nil {
				b.WriteString(textOfValue(v))
			}
		}
		return b.String(), nil
	}}},
	"concat_ws": {{argTypes: []uint32{oidText, 0}, variadic: true, result: fixed(oidText), fn: func(_ *evalContext, a []any) (any, error) {
		if a[0] == nil {
			return nil, nil
		}
		var parts []string
		for _, v := range a[1:] {
			if v != nil {
				parts = append(parts, textOfValue(v))
			}
		}
		return strings.Join(parts, a[0].(string)), nil
	}}},
	"split_part": {{argTypes: []uint32{oidText, oidText, oidInt4}, result: fixed(oidText), strict: true, fn: splitPart}},
	"initcap":    {textFunc1(oidText, initcap)},
	"md5": {
		textFunc1(oidText, func(s string) any { return md5Hex([]byte(s)) }),
		{argTypes: []uint32{oidBytea}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return md5Hex(a[0].([]byte)), nil
		}},
	},
	"starts_with": {{argTypes: []uint32{oidText, oidText}, result: fixed(oidBool), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return strings.HasPrefix(a[0].(string), a[1].(string)), nil
	}}},
	"ascii": {textFunc1(oidInt4, func(s string) any {
		if s == "" {
			return int64(0)
		}
		r, _ := utf8.DecodeRuneInString(s)
		return int64(r)
	})},
	"chr":       {{argTypes: []uint32{oidInt4}, result: fixed(oidText), strict: true, fn: chr}},
	"translate": {{argTypes: []uint32{oidText, oidText, oidText}, result: fixed(oidText), strict: true, fn: translate}},
	"to_hex": {
		{argTypes: []uint32{oidInt4}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return strconv.FormatUint(uint64(uint32(a[0].(int64))), 16), nil
		}},
		{argTypes: []uint32{oidInt8}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return strconv.FormatUint(uint64(a[0].(int64)), 16), nil
		}},
	},
	"quote_ident": {textFunc1(oidText, quoteIdent)},
	"quote_literal": {
		textFunc1(oidText, quoteLiteral),
		{argTypes: []uint32{0}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return quoteLiteral(textOfValue(a[0])), nil
		}},
	},
}

// maxStringBytes is the largest text value PostgreSQL accepts (1 GB less
// the varlena header).
const maxStringBytes = 1<<30 - 1 - 4

// textFunc1 is a strict function of one text argument.
func textFunc1(result uint32, f func(string) any) builtin {
	return builtin{argTypes: []uint32{oidText}, result: fixed(result), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return f(a[0].(string)), nil
	}}
}

func charLength(s string) any { return int64(utf8.RuneCountInString(s)) }

// textOfValue renders a value of unknown type as text for concat and
// quote_literal, inferring the type from the Go representation.
// NOTE: builtins receive values without their SQL types, so float4 prints
// with float8 digits and a date or timestamp prints as timestamptz here.
func textOfValue(v any) string {
	switch v.(type) {
	case int64:
		return formatDatum(v, oidInt8)
	case float64:
		return formatDatum(v, oidFloat8)
	case *apd.Decimal:
		return formatDatum(v, oidNumeric)
	case time.Time:
		return formatDatum(v, oidTimestamptz)
	}
	return formatDatum(v, oidText)
}

// clampCount turns the count of left and right into a number of
// characters in [0, length]: a negative n means all but the last (or
// first) -n characters.
func clampCount(n int64, length int) int {
	if n < 0 {
		n += int64(length)
	}
	return int(max(0, min(n, int64(length))))
}

func substringOverloads() []builtin {
	return []builtin{
		{argTypes: []uint32{oidText, oidInt4}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			runes := []rune(a[0].(string))
			start, end, err := substringBounds(a[1].(int64), 0, false, len(runes))
			if err != nil {
				return nil, err
			}
			return string(runes[start:end]), nil
		}},
		{argTypes: []uint32{oidText, oidInt4, oidInt4}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			runes := []rune(a[0].(string))
			start, end, err := substringBounds(a[1].(int64), a[2].(int64), true, len(runes))
			if err != nil {
				return nil, err
			}
			return string(runes[start:end]), nil
		}},
		{argTypes: []uint32{oidBytea, oidInt4}, result: fixed(oidBytea), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			b := a[0].([]byte)
			start, end, err := substringBounds(a[1].(int64), 0, false, len(b))
			if err != nil {
				return nil, err
			}
			return append([]byte{}, b[start:end]...), nil
		}},
		{argTypes: []uint32{oidBytea, oidInt4, oidInt4}, result: fixed(oidBytea), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			b := a[0].([]byte)
			start, end, err := substringBounds(a[1].(int64), a[2].(int64), true, len(b))
			if err != nil {
				return nil, err
			}
			return append([]byte{}, b[start:end]...), nil
		}},
	}
}

// substringBounds converts a 1-based start and an optional count into
// slice bounds of a value of the given length. A start before 1 still
// counts characters from position start, as in PostgreSQL, so
// substr('hello', -2, 5) is 'he'.
func substringBounds(start, count int64, hasCount bool, length int) (int, int, error) {
	end := int64(length) + 1
	if hasCount {
		if count < 0 {
			return 0, 0, pgerror.New(pgcode.SubstringError, "negative substring length not allowed")
		}
		end = min(start+count, end)
	}
	start = max(start, 1)
	if end <= start {
		return 0, 0, nil
	}
	return int(start - 1), int(end - 1), nil
}

func textPosition(_ *evalContext, a []any) (any, error) {
	s, sub := a[0].(string), a[1].(string)
	i := strings.Index(s, sub)
	if i < 0 {
		return int64(0), nil
	}
	return int64(utf8.RuneCountInString(s[:i]) + 1), nil
}

// trimOverloads builds btrim, ltrim or rtrim: text with spaces, text with
// a set of characters, and bytea with a set of bytes.
func trimOverloads(left, right bool) []builtin {
	trimText := func(s, chars string) string {
		if left {
			s = strings.TrimLeft(s, chars)
		}
		if right {
			s = strings.TrimRight(s, chars)
		}
		return s
	}
	return []builtin{
		textFunc1(oidText, func(s string) any { return trimText(s, " ") }),
		{argTypes: []uint32{oidText, oidText}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return trimText(a[0].(string), a[1].(string)), nil
		}},
		{argTypes: []uint32{oidBytea, oidBytea}, result: fixed(oidBytea), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			b, set := a[0].([]byte), a[1].([]byte)
			inSet := func(c byte) bool { return bytes.IndexByte(set, c) >= 0 }
			for left && len(b) > 0 && inSet(b[0]) {
				b = b[1:]
			}
			for right && len(b) > 0 && inSet(b[len(b)-1]) {
				b = b[:len(b)-1]
			}
			return append([]byte{}, b...), nil
		}},
	}
}

// padOverloads builds lpad or rpad, with a space or a given fill. A
// string longer than the length is truncated on the right in both.
func padOverloads(left bool) []builtin {
	pad := func(s string, length int64, fill string) (any, error) {
		runes := []rune(s)
		if length <= 0 {
			return "", nil
		}
		if length > maxStringBytes {
			return nil, pgerror.New(pgcode.ProgramLimitExceeded, "requested length too large")
		}
		n := int(length)
		if len(runes) >= n {
			return string(runes[:n]), nil
		}
		fillRunes := []rune(fill)
		if len(fillRunes) == 0 {
			return s, nil
		}
		padding := make([]rune, n-len(runes))
		for i := range padding {
			padding[i] = fillRunes[i%len(fillRunes)]
		}
		if left {
			return string(padding) + s, nil
		}
		return s + string(padding), nil
	}
	return []builtin{
		{argTypes: []uint32{oidText, oidInt4}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return pad(a[0].(string), a[1].(int64), " ")
		}},
		{argTypes: []uint32{oidText, oidInt4, oidText}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return pad(a[0].(string), a[1].(int64), a[2].(string))
		}},
	}
}

// splitPart returns field n of s split at sep, counting from the end for a
// negative n (PostgreSQL 14 and later). An empty separator makes s the
// only field.
func splitPart(_ *evalContext, a []any) (any, error) {
	s, sep, n := a[0].(string), a[1].(string), a[2].(int64)
	if n == 0 {
		return nil, pgerror.New(pgcode.InvalidParameterValue, "field position must not be zero")
	}
	var fields []string
	switch {
	case s == "":
		return "", nil
	case sep == "":
		fields = []string{s}
	default:
		fields = strings.Split(s, sep)
	}
	if n < 0 {
		n += int64(len(fields)) + 1
	}
	if n < 1 || n > int64(len(fields)) {
		return "", nil
	}
	return fields[n-1], nil
}

// initcap upper-cases the first letter of each run of letters and digits
// and lower-cases the rest.
func initcap(s string) any {
	var b strings.Builder
	inWord := false
	for _, r := range s {
		if inWord {
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(unicode.ToUpper(r))
		}
		inWord = unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	return b.String()
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// chr returns the character with the given Unicode code point, rejecting
// what a UTF-8 database cannot store.
func chr(_ *evalContext, a []any) (any, error) {
	n := a[0].(int64)
	switch {
	case n < 0:
		return nil, pgerror.New(pgcode.InvalidParameterValue, "character number must be positive")
	case n == 0:
		return nil, pgerror.New(pgcode.ProgramLimitExceeded, "null character not permitted")
	case n > unicode.MaxRune:
		return nil, pgerror.Newf(pgcode.ProgramLimitExceeded, "requested character too large for encoding: %d", n)
	case n >= 0xD800 && n <= 0xDFFF:
		return nil, pgerror.Newf(pgcode.ProgramLimitExceeded, "requested character not valid for encoding: %d", n)
	}
	return string(rune(n)), nil
}

// translate replaces each character of s found in from by the character at
// the same position in to, deleting it when to is shorter. The first
// occurrence in from wins.
func translate(_ *evalContext, a []any) (any, error) {
	from, to := []rune(a[1].(string)), []rune(a[2].(string))
	mapping := make(map[rune]int, len(from))
	for i, r := range from {
		if _, seen := mapping[r]; !seen {
			mapping[r] = i
		}
	}
	var b strings.Builder
	for _, r := range a[0].(string) {
		i, ok := mapping[r]
		switch {
		case !ok:
			b.WriteRune(r)
		case i < len(to):
			b.WriteRune(to[i])
		}
	}
	return b.String(), nil
}

// quoteIdent quotes s unless it is a lower-case identifier that is not a
// reserved keyword, as PostgreSQL's quote_ident does.
func quoteIdent(s string) any {
	safe := s != "" && (s[0] >= 'a' && s[0] <= 'z' || s[0] == '_')
	for i := 0; safe && i < len(s); i++ {
		c := s[i]
		safe = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
	}
	if safe && !quotedKeywords[s] {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quotedKeywords are PostgreSQL 15's keywords outside the unreserved
// category (pg_get_keywords() catcode C, R or T), which quote_ident quotes.
var quotedKeywords = func() map[string]bool {
	words := strings.Fields(`all analyse analyze and any array as asc asymmetric
		authorization between bigint binary bit boolean both case cast char
		character check coalesce collate collation column concurrently
		constraint create cross current_catalog current_date current_role
		current_schema current_time current_timestamp current_user dec decimal
		default deferrable desc distinct do else end except exists extract
		false fetch float for foreign freeze from full grant greatest group
		grouping having ilike in initially inner inout int integer intersect
		interval into is isnull join lateral leading least left like limit
		localtime localtimestamp national natural nchar none normalize not
		notnull null nullif numeric offset on only or order out outer overlaps
		overlay placing position precision primary real references returning
		right row select session_user setof similar smallint some substring
		symmetric table tablesample then time timestamp to trailing treat trim
		true union unique user using values varchar variadic verbose when where
		window with xmlattributes xmlconcat xmlelement xmlexists xmlforest
		xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable`)
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}()

// quoteLiteral quotes s as a string literal, doubling quotes and using the
// E'...' form when s contains a backslash.
func quoteLiteral(s string) any {
	quoted := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		return "E" + strings.ReplaceAll(quoted, `\`, `\\`)
	}
	return quoted
}
