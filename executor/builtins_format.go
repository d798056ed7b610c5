package executor

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// formatBuiltins are format, overlay, regexp_replace, quote_nullable and
// bit_length.
var formatBuiltins = map[string][]builtin{
	"format": {{argTypes: []uint32{oidText, 0}, variadic: true, result: fixed(oidText), fn: sqlFormat},
		{argTypes: []uint32{oidText}, result: fixed(oidText), fn: sqlFormat}},
	"overlay": {
		{argTypes: []uint32{oidText, oidText, oidInt4, oidInt4}, result: fixed(oidText), strict: true, fn: overlay},
		{argTypes: []uint32{oidText, oidText, oidInt4}, result: fixed(oidText), strict: true, fn: overlay},
	},
	"regexp_replace": {
		{argTypes: []uint32{oidText, oidText, oidText}, result: fixed(oidText), strict: true, fn: regexpReplace},
		{argTypes: []uint32{oidText, oidText, oidText, oidText}, result: fixed(oidText), strict: true, fn: regexpReplace},
	},
	"quote_nullable": {
		{argTypes: []uint32{oidText}, result: fixed(oidText), fn: func(_ *evalContext, a []any) (any, error) {
			if a[0] == nil {
				return "NULL", nil
			}
			return quoteLiteral(a[0].(string)), nil
		}},
		{argTypes: []uint32{0}, result: fixed(oidText), fn: func(_ *evalContext, a []any) (any, error) {
			if a[0] == nil {
				return "NULL", nil
			}
			return quoteLiteral(textOfValue(a[0])), nil
		}},
	},
	"bit_length": {textFunc1(oidInt4, func(s string) any { return int64(8 * len(s)) })},
}

// sqlFormat is format(fmt, args...): %s inserts a value as text, %I as a
// quoted identifier, %L as a quoted literal and %% a percent sign, each
// with an optional argument position n$, a - flag and a width.
func sqlFormat(_ *evalContext, a []any) (any, error) {
	if a[0] == nil {
		return nil, nil
	}
	f := a[0].(string)
	args := a[1:]
	var b strings.Builder
	next := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		i++
		if i >= len(f) {
			return nil, pgerror.New(pgcode.InvalidParameterValue, "unterminated format() type specifier").
				WithHint(`For a single "%" use "%%".`)
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		// An argument position is digits followed by $.
		j := i
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		if j < len(f) && f[j] == '$' && j > i {
			n, _ := strconv.Atoi(f[i:j])
			if n == 0 {
				return nil, pgerror.New(pgcode.InvalidParameterValue, "format specifies argument 0, but arguments are numbered from 1")
			}
			next = n - 1
			i = j + 1
		}
		left := false
		if i < len(f) && f[i] == '-' {
			left = true
			i++
		}
		width := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			width = width*10 + int(f[i]-'0')
			i++
		}
		if i >= len(f) {
			return nil, pgerror.New(pgcode.InvalidParameterValue, "unterminated format() type specifier").
				WithHint(`For a single "%" use "%%".`)
		}
		if next >= len(args) {
			return nil, pgerror.New(pgcode.InvalidParameterValue, "too few arguments for format()")
		}
		v := args[next]
		next++
		var s string
		switch f[i] {
		case 's':
			if v != nil {
				s = textOfValue(v)
			}
		case 'I':
			if v == nil {
				return nil, pgerror.New(pgcode.NullValueNotAllowed, "null values cannot be formatted as an SQL identifier")
			}
			s = quoteIdent(textOfValue(v)).(string)
		case 'L':
			s = "NULL"
			if v != nil {
				s = quoteLiteral(textOfValue(v)).(string)
			}
		default:
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "unrecognized format() type specifier %q", string(f[i])).
				WithHint(`For a single "%" use "%%".`)
		}
		if pad := width - len([]rune(s)); pad > 0 {
			if left {
				s += strings.Repeat(" ", pad)
			} else {
				s = strings.Repeat(" ", pad) + s
			}
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// overlay is overlay(s PLACING r FROM start [FOR count]).
func overlay(_ *evalContext, a []any) (any, error) {
	s, r := []rune(a[0].(string)), []rune(a[1].(string))
	start := a[2].(int64)
	count := int64(len(r))
	if len(a) == 4 {
		count = a[3].(int64)
	}
	if start < 1 {
		return nil, pgerror.New(pgcode.SubstringError, "negative substring length not allowed")
	}
	head := min(start-1, int64(len(s)))
	tailFrom := min(max(start-1+count, 0), int64(len(s)))
	return string(s[:head]) + string(r) + string(s[tailFrom:]), nil
}

// regexpReplace is regexp_replace(source, pattern, replacement [, flags])
// with the flags g (every match) and i (ignore case). The replacement
// reads \1 to \9 as groups and \& as the whole match.
func regexpReplace(_ *evalContext, a []any) (any, error) {
	src, repl := a[0].(string), a[2].(string)
	flags := ""
	if len(a) == 4 {
		flags = a[3].(string)
	}
	re, global, err := compileRegexp(a[1].(string), flags)
	if err != nil {
		return nil, err
	}
	template := goReplacement(repl)
	if global {
		return re.ReplaceAllString(src, template), nil
	}
	loc := re.FindStringSubmatchIndex(src)
	if loc == nil {
		return src, nil
	}
	out := re.ExpandString(nil, template, src, loc)
	return src[:loc[0]] + string(out) + src[loc[1]:], nil
}

// compileRegexp compiles a pattern with the flags of regexp_replace and
// regexp_matches: g (every match, reported as global), i (ignore case)
// and c (case sensitive, the default), the last of i and c winning.
// PostgreSQL's other flags return 0A000, and unknown ones 22023.
// NOTE: patterns are Go RE2 syntax, so PostgreSQL's back references and
// lookahead are rejected.
func compileRegexp(pattern, flags string) (re *regexp.Regexp, global bool, err error) {
	ignoreCase := false
	for _, f := range flags {
		switch f {
		case 'g':
			global = true
		case 'i':
			ignoreCase = true
		case 'c':
			ignoreCase = false
		default:
			if strings.ContainsRune("bemnpqstwx", f) {
				return nil, false, pgerror.Newf(pgcode.FeatureNotSupported, "regular expression option %q is not supported", string(f))
			}
			return nil, false, pgerror.Newf(pgcode.InvalidParameterValue, "invalid regular expression option: %q", string(f))
		}
	}
	if ignoreCase {
		pattern = "(?i)" + pattern
	}
	if re, err = regexp.Compile(pattern); err != nil {
		return nil, false, pgerror.Newf(pgcode.InvalidRegularExpression, "invalid regular expression: %v", err)
	}
	return re, global, nil
}

// goReplacement turns a PostgreSQL replacement string into Go's template
// syntax.
func goReplacement(repl string) string {
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch {
		case c == '$':
			b.WriteString("$$")
		case c == '\\' && i+1 < len(repl) && repl[i+1] >= '1' && repl[i+1] <= '9':
			b.WriteString("${" + string(repl[i+1]) + "}")
			i++
		case c == '\\' && i+1 < len(repl) && repl[i+1] == '&':
			b.WriteString("${0}")
			i++
		case c == '\\' && i+1 < len(repl) && repl[i+1] == '\\':
			b.WriteByte('\\')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
