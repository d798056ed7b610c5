package executor

import (
	"strconv"
	"strings"
	"time"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// parseArray converts an array literal such as '{1,2}', '{{a,b},{c,d}}'
// or '[1:2]={x,y}' to an array of type typ. Malformed input fails with
// 22P02 and the same DETAIL as PostgreSQL's array_in. An element that is
// not valid input for the element type fails as that type's input does.
func parseArray(s string, typ catalog.ColumnType, loc *time.Location) ([]any, error) {
	p := &arrayParser{src: s}
	p.skipSpace()
	var declared []int
	if p.peek() == '[' {
		var err error
		if declared, err = p.dimensions(); err != nil {
			return nil, err
		}
		p.skipSpace()
	}
	if p.peek() != '{' {
		return nil, p.malformed(`Array value must start with "{" or dimension information.`)
	}
	raw, err := p.level(1)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return nil, p.malformed("Junk after closing right brace.")
	}
	if _, err := p.shape(raw); err != nil {
		return nil, err
	}
	if declared != nil && !equalInts(declared, arrayDims(raw)) {
		return nil, p.malformed("Specified array dimensions do not match array contents.")
	}

	elem := elemType(typ)
	return mapArray(raw, func(v any) (any, error) {
		return parseDatum(v.(string), elem, loc)
	})
}

// arrayParser reads the text form of an array. Leaves are kept as their
// element text (string) or nil for NULL until the shape is checked.
type arrayParser struct {
	src string
	pos int
}

func (p *arrayParser) malformed(detail string) error {
	return pgerror.New(pgcode.InvalidTextRepresentation, `malformed array literal: "`+p.src+`"`).WithDetail(detail)
}

func (p *arrayParser) unexpected(c byte) error {
	return p.malformed(`Unexpected "` + string(c) + `" character.`)
}

// peek returns the current byte, or 0 at the end of the input.
func (p *arrayParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// isArraySpace reports the characters array input skips around elements,
// as PostgreSQL's array_isspace does.
func isArraySpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func (p *arrayParser) skipSpace() {
	for p.pos < len(p.src) && isArraySpace(p.src[p.pos]) {
		p.pos++
	}
}

// dimensions reads a decoration such as [1:2][1:3]= and returns the
// lengths. Only lower bound 1 is supported.
func (p *arrayParser) dimensions() ([]int, error) {
	var dims []int
	for p.peek() == '[' {
		p.pos++
		end := strings.IndexByte(p.src[p.pos:], ']')
		if end < 0 {
			return nil, p.malformed(`Missing "]" after array dimensions.`)
		}
		spec := p.src[p.pos : p.pos+end]
		p.pos += end + 1
		lower, upper := "1", spec
		if i := strings.IndexByte(spec, ':'); i >= 0 {
			lower, upper = spec[:i], spec[i+1:]
		}
		lo, err1 := strconv.Atoi(strings.TrimSpace(lower))
		hi, err2 := strconv.Atoi(strings.TrimSpace(upper))
		if err1 != nil || err2 != nil {
			return nil, p.malformed(`"[" must introduce explicitly-specified array dimensions.`)
		}
		if hi < lo {
			return nil, pgerror.New(pgcode.ArraySubscriptError, "upper bound cannot be less than lower bound")
		}
		if lo != 1 {
			return nil, pgerror.NotSupported("array lower bounds other than 1")
		}
		dims = append(dims, hi-lo+1)
		if len(dims) > maxArrayDims {
			return nil, tooManyArrayDims(len(dims))
		}
	}
	if p.peek() != '=' {
		return nil, p.malformed(`Missing "=" after array dimensions.`)
	}
	p.pos++
	return dims, nil
}

func tooManyArrayDims(n int) error {
	return pgerror.Newf(pgcode.ProgramLimitExceeded, "number of array dimensions (%d) exceeds the maximum allowed (%d)", n, maxArrayDims)
}

// level reads one brace-enclosed level, starting at its '{'. Its items
// are either all elements or all sub-levels.
func (p *arrayParser) level(depth int) ([]any, error) {
	if depth > maxArrayDims {
		return nil, tooManyArrayDims(depth)
	}
	p.pos++
	items := []any{}
	p.skipSpace()
	if p.peek() == '}' {
		// Only the outermost level may be empty: '{}' but not '{{}}'.
		if depth > 1 {
			return nil, p.unexpected('}')
		}
		p.pos++
		return items, nil
	}
	hasLevels, hasElements := false, false
	for {
		p.skipSpace()
		c := p.peek()
		switch {
		case p.pos >= len(p.src):
			return nil, p.malformed("Unexpected end of input.")
		case c == '{':
			if hasElements {
				return nil, p.unexpected('{')
			}
			sub, err := p.level(depth + 1)
			if err != nil {
				return nil, err
			}
			hasLevels = true
			items = append(items, sub)
		case c == '}' || c == ',':
			return nil, p.unexpected(c)
		case hasLevels:
			return nil, p.malformed("Unexpected array element.")
		default:
			item, err := p.element()
			if err != nil {
				return nil, err
			}
			hasElements = true
			items = append(items, item)
		}

		p.skipSpace()
		switch c := p.peek(); {
		case p.pos >= len(p.src):
			return nil, p.malformed("Unexpected end of input.")
		case c == ',':
			p.pos++
		case c == '}':
			p.pos++
			return items, nil
		case c == '{':
			return nil, p.unexpected('{')
		default:
			return nil, p.malformed("Unexpected array element.")
		}
	}
}

// element reads one element, quoted or not, and returns its text or nil
// for an unquoted NULL. Backslash escapes the next character in both
// forms. An unquoted element ends at ',', '}', '{' or '"' and loses its
// trailing unescaped white space.
func (p *arrayParser) element() (any, error) {
	var b strings.Builder
	if p.peek() == '"' {
		p.pos++
		for {
			if p.pos >= len(p.src) {
				return nil, p.malformed("Unexpected end of input.")
			}
			c := p.src[p.pos]
			p.pos++
			switch c {
			case '"':
				return b.String(), nil
			case '\\':
				if p.pos >= len(p.src) {
					return nil, p.malformed("Unexpected end of input.")
				}
				b.WriteByte(p.src[p.pos])
				p.pos++
			default:
				b.WriteByte(c)
			}
		}
	}
	escaped := false
	// keep is the length of b up to its last escaped or non-space byte.
	keep := 0
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == ',' || c == '}' || c == '{' || c == '"' {
			break
		}
		p.pos++
		if c == '\\' {
			if p.pos >= len(p.src) {
				return nil, p.malformed("Unexpected end of input.")
			}
			b.WriteByte(p.src[p.pos])
			p.pos++
			escaped = true
			keep = b.Len()
			continue
		}
		b.WriteByte(c)
		if !isArraySpace(c) {
			keep = b.Len()
		}
	}
	text := b.String()[:keep]
	if !escaped && strings.EqualFold(text, "null") {
		return nil, nil
	}
	return text, nil
}

// shape checks that sibling sub-levels have the same dimensions and
// returns the dimensions of v.
func (p *arrayParser) shape(v []any) ([]int, error) {
	var inner []int
	for i, item := range v {
		sub, ok := item.([]any)
		if !ok {
			return []int{len(v)}, nil
		}
		dims, err := p.shape(sub)
		if err != nil {
			return nil, err
		}
		if i > 0 && !equalInts(dims, inner) {
			return nil, p.malformed("Multidimensional arrays must have sub-arrays with matching dimensions.")
		}
		inner = dims
	}
	return append([]int{len(v)}, inner...), nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
