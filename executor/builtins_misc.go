package executor

import (
	"crypto/sha256"
	"crypto/sha512"
	"time"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// miscBuiltins are the SHA-2 digests and timeofday.
var miscBuiltins = map[string][]builtin{
	"sha224": {digestFunc(func(b []byte) []byte { sum := sha256.Sum224(b); return sum[:] })},
	"sha256": {digestFunc(func(b []byte) []byte { sum := sha256.Sum256(b); return sum[:] })},
	"sha384": {digestFunc(func(b []byte) []byte { sum := sha512.Sum384(b); return sum[:] })},
	"sha512": {digestFunc(func(b []byte) []byte { sum := sha512.Sum512(b); return sum[:] })},
	// timeofday returns the current time, not the transaction's, as text
	// in the session time zone: "Sat Dec 05 02:08:12.345678 2026 UTC".
	"timeofday": {{result: fixed(oidText), volatile: true, fn: func(ec *evalContext, _ []any) (any, error) {
		return time.Now().In(ec.sess.location()).Format("Mon Jan 02 15:04:05.000000 2006 MST"), nil
	}}},
}

func digestFunc(sum func([]byte) []byte) builtin {
	return builtin{argTypes: []uint32{oidBytea}, result: fixed(oidBytea), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return sum(a[0].([]byte)), nil
	}}
}

// resolveRegexpMatches builds regexp_matches(string, pattern [, flags]),
// which returns a text array of the capture groups of the first match, or
// of every match with the flag g. A pattern without groups returns the
// whole match.
func (b *builder) resolveRegexpMatches(args []expr, location int32) (setFunction, []expr, error) {
	if len(args) != 2 && len(args) != 3 {
		return setFunction{}, nil, pgerror.Newf(pgcode.UndefinedFunction, "function regexp_matches with %d arguments does not exist", len(args)).WithPosition(location + 1)
	}
	cast := make([]expr, len(args))
	for i, a := range args {
		c, err := b.castTo(a, plainType(oidText), false)
		if err != nil {
			return setFunction{}, nil, err
		}
		cast[i] = c
	}
	fn := setFunction{
		argTypes: make([]uint32, len(args)),
		columns: func([]expr) []scopeColumn {
			return []scopeColumn{{name: "regexp_matches", typ: plainType(oidTextArray)}}
		},
		rows: regexpMatchesRows,
	}
	for i := range fn.argTypes {
		fn.argTypes[i] = oidText
	}
	return fn, cast, nil
}

func regexpMatchesRows(_ *evalContext, a []any) ([][]any, error) {
	for _, v := range a {
		if v == nil {
			return nil, nil
		}
	}
	src := a[0].(string)
	flags := ""
	if len(a) == 3 {
		flags = a[2].(string)
	}
	re, global, err := compileRegexp(a[1].(string), flags)
	if err != nil {
		return nil, err
	}

	limit := 1
	if global {
		limit = -1
	}

	var out [][]any
	for _, m := range re.FindAllStringSubmatchIndex(src, limit) {
		var groups []any
		if len(m) == 2 {
			groups = []any{src[m[0]:m[1]]}
		}
		for i := 2; i < len(m); i += 2 {
			if m[i] < 0 {
				groups = append(groups, nil)
				continue
			}
			groups = append(groups, src[m[i]:m[i+1]])
		}
		out = append(out, []any{groups})
	}
	return out, nil
}
