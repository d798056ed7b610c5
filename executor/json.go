package executor

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

// json and jsonb values are held as their text. A jsonb text is already
// normalized (see normalizeJSONB), so a sub-value cut from it is the
// normalized text of that sub-value, and a json text keeps the input's
// spacing, as PostgreSQL's json does.

// isJSONType reports whether oid is json or jsonb.
func isJSONType(oid uint32) bool { return oid == oidJSON || oid == oidJSONB }

// buildJSONOperator compiles the json and jsonb operators ->, ->>, #>,
// #>>, @>, <@, ?, ?| and ?&. ok is false for other operators.
func (b *builder) buildJSONOperator(op string, l, r expr, location int32) (e expr, ok bool, err error) {
	switch op {
	case "->", "->>", "#>", "#>>", "@>", "<@", "?", "?|", "?&":
	default:
		return nil, false, nil
	}
	lt, rt := l.resultType().OID, r.resultType().OID
	if lt == oidUnknown && (rt == oidUnknown || op == "->" || op == "->>") {
		return nil, true, pgerror.Newf(pgcode.AmbiguousFunction, "operator is not unique: %s %s %s", typeName(lt), op, typeName(rt)).
			WithHint("Could not choose a best candidate operator. You might need to add explicit type casts.").WithPosition(location + 1)
	}
	switch op {
	case "->", "->>":
		if !isJSONType(lt) {
			return nil, true, undefinedOperator(op, typeName(lt), rt, location)
		}
		byIndex := isIntType(rt)
		if !byIndex {
			if rt != oidUnknown && !isStringType(rt) {
				return nil, true, undefinedOperator(op, typeName(lt), rt, location)
			}
			if r, err = b.castTo(r, plainType(oidText), false); err != nil {
				return nil, true, err
			}
		}
		return &jsonGetExpr{doc: l, key: r, byIndex: byIndex, asText: op == "->>", typ: lt}, true, nil
	case "#>", "#>>":
		if !isJSONType(lt) || (rt != oidUnknown && rt != oidTextArray && !isStringType(rt)) {
			return nil, true, undefinedOperator(op, typeName(lt), rt, location)
		}
		// The path is a text[]. A text value is read as an array literal
		// when the query runs.
		pathType := uint32(oidTextArray)
		if isStringType(rt) {
			pathType = oidText
		}
		if r, err = b.castTo(r, plainType(pathType), false); err != nil {
			return nil, true, err
		}
		return &jsonPathExpr{doc: l, path: r, asText: op == "#>>", typ: lt}, true, nil
	case "@>", "<@":
		for _, side := range []*expr{&l, &r} {
			t := (*side).resultType().OID
			if t != oidJSONB && t != oidUnknown {
				return nil, true, undefinedOperator(op, typeName(lt), rt, location)
			}
			if *side, err = b.castTo(*side, plainType(oidJSONB), false); err != nil {
				return nil, true, err
			}
		}
		if op == "<@" {
			l, r = r, l
		}
		return &jsonContainsExpr{left: l, right: r}, true, nil
	}
	// ?, ?| and ?&: a key, or a text array literal of keys.
	if lt != oidJSONB || (rt != oidUnknown && !isStringType(rt)) {
		return nil, true, undefinedOperator(op, typeName(lt), rt, location)
	}
	if r, err = b.castTo(r, plainType(oidText), false); err != nil {
		return nil, true, err
	}
	return &jsonExistsExpr{doc: l, keys: r, op: op}, true, nil
}

// jsonGetExpr is doc -> key and doc ->> key.
type jsonGetExpr struct {
	doc, key expr
	byIndex  bool
	asText   bool
	typ      uint32
}

func (e *jsonGetExpr) eval(ec *evalContext, row []any) (any, error) {
	d, k, err := evalOperands(ec, row, e.doc, e.key)
	if err != nil || d == nil {
		return nil, err
	}
	raw, found := jsonChild([]byte(d.(string)), k)
	if !found {
		return nil, nil
	}
	return jsonResult(raw, e.asText), nil
}

func (e *jsonGetExpr) resultType() catalog.ColumnType {
	if e.asText {
		return plainType(oidText)
	}
	return plainType(e.typ)
}

// jsonPathExpr is doc #> path and doc #>> path, with the path given as a
// text array literal such as '{a,0,b}'.
type jsonPathExpr struct {
	doc, path expr
	asText    bool
	typ       uint32
}

func (e *jsonPathExpr) eval(ec *evalContext, row []any) (any, error) {
	d, p, err := evalOperands(ec, row, e.doc, e.path)
	if err != nil || d == nil {
		return nil, err
	}
	var steps []*string
	if text, ok := p.(string); ok {
		steps, err = parseTextArrayLiteral(text)
	} else {
		steps, err = jsonPathArray(p)
	}
	if err != nil {
		return nil, err
	}
	return jsonExtractPath(d.(string), steps, e.asText), nil
}

// jsonExtractPath returns the value at the path steps below the JSON text
// doc, as json text or with asText as SQL text, or nil when the path
// leads nowhere or has a NULL step.
func jsonExtractPath(doc string, steps []*string, asText bool) any {
	raw := bytes.TrimSpace([]byte(doc))
	for _, s := range steps {
		if s == nil {
			return nil
		}
		var key any = *s
		if len(raw) > 0 && raw[0] == '[' {
			n, err := strconv.ParseInt(*s, 10, 64)
			if err != nil {
				return nil
			}
			key = n
		}
		var found bool
		if raw, found = jsonChild(raw, key); !found {
			return nil
		}
	}
	return jsonResult(raw, asText)
}

// jsonExtractPathFunc returns json[b]_extract_path(doc, VARIADIC steps)
// and, with asText, json[b]_extract_path_text.
func jsonExtractPathFunc(asText bool) func(*evalContext, []any) (any, error) {
	return func(_ *evalContext, a []any) (any, error) {
		// The function is strict, so no step is NULL.
		steps := make([]*string, len(a)-1)
		for i, v := range a[1:] {
			s := v.(string)
			steps[i] = &s
		}
		return jsonExtractPath(a[0].(string), steps, asText), nil
	}
}

func (e *jsonPathExpr) resultType() catalog.ColumnType {
	if e.asText {
		return plainType(oidText)
	}
	return plainType(e.typ)
}

// jsonChild returns the member key (a string) of an object or the element
// key (an int64, negative from the end) of an array.
func jsonChild(doc []byte, key any) ([]byte, bool) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 {
		return nil, false
	}
	switch k := key.(type) {
	case string:
		if doc[0] != '{' {
			return nil, false
		}
		var members map[string]json.RawMessage
		if json.Unmarshal(doc, &members) != nil {
			return nil, false
		}
		v, ok := members[k]
		return v, ok
	case int64:
		if doc[0] != '[' {
			return nil, false
		}
		var elems []json.RawMessage
		if json.Unmarshal(doc, &elems) != nil {
			return nil, false
		}
		if k < 0 {
			k += int64(len(elems))
		}
		if k < 0 || k >= int64(len(elems)) {
			return nil, false
		}
		return elems[k], true
	}
	return nil, false
}

// jsonResult renders an extracted value: as json text, or for ->> and #>>
// as SQL text, where a JSON string loses its quotes and null is NULL.
func jsonResult(raw []byte, asText bool) any {
	if !asText {
		return string(raw)
	}
	switch {
	case string(raw) == "null":
		return nil
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// parseTextArrayLiteral reads a one-dimensional text array literal such as
// {a,"b c",NULL}. A nil element is NULL.
func parseTextArrayLiteral(s string) ([]*string, error) {
	t := strings.TrimSpace(s)
	bad := pgerror.Newf(pgcode.InvalidTextRepresentation, "malformed array literal: %q", s)
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
		return nil, bad.WithDetail(`Array value must start with "{" or dimension information.`)
	}
	body := t[1 : len(t)-1]
	if strings.TrimSpace(body) == "" {
		return nil, nil
	}
	var out []*string
	for i := 0; i <= len(body); {
		for i < len(body) && body[i] == ' ' {
			i++
		}
		var elem strings.Builder
		quoted := false
		if i < len(body) && body[i] == '"' {
			quoted = true
			i++
			for i < len(body) && body[i] != '"' {
				if body[i] == '\\' && i+1 < len(body) {
					i++
				}
				elem.WriteByte(body[i])
				i++
			}
			if i >= len(body) {
				return nil, bad.WithDetail("Unexpected end of input.")
			}
			i++
		} else {
			for i < len(body) && body[i] != ',' {
				if body[i] == '{' || body[i] == '"' {
					return nil, bad
				}
				elem.WriteByte(body[i])
				i++
			}
		}
		v := strings.TrimRight(elem.String(), " ")
		if !quoted {
			v = strings.TrimSpace(elem.String())
		}
		if !quoted && strings.EqualFold(v, "NULL") {
			out = append(out, nil)
		} else {
			out = append(out, &v)
		}
		for i < len(body) && body[i] == ' ' {
			i++
		}
		if i < len(body) && body[i] != ',' {
			return nil, bad
		}
		i++
	}
	return out, nil
}

// jsonContainsExpr is left @> right on jsonb (<@ swaps its operands).
type jsonContainsExpr struct{ left, right expr }

func (e *jsonContainsExpr) eval(ec *evalContext, row []any) (any, error) {
	l, r, err := evalOperands(ec, row, e.left, e.right)
	if err != nil || l == nil {
		return nil, err
	}
	a, err := decodeJSON(l.(string))
	if err != nil {
		return nil, err
	}
	b, err := decodeJSON(r.(string))
	if err != nil {
		return nil, err
	}
	return jsonContains(a, b, true), nil
}

func (e *jsonContainsExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalidInput(oidJSONB, s).WithDetail("The input is not valid JSON.")
	}
	return v, nil
}

// jsonContains follows jsonb containment: an object contains the members
// it has with contained values, an array contains the elements that some
// element of it contains, and at the top level an array also contains a
// scalar element.
func jsonContains(a, b any, top bool) bool {
	switch bv := b.(type) {
	case map[string]any:
		av, ok := a.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range bv {
			x, ok := av[k]
			if !ok || !jsonContains(x, v, false) {
				return false
			}
		}
		return true
	case []any:
		av, ok := a.([]any)
		if !ok {
			return false
		}
		for _, want := range bv {
			found := false
			for _, have := range av {
				if jsonContains(have, want, false) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	if av, ok := a.([]any); ok && top {
		for _, have := range av {
			if jsonScalarEqual(have, b) {
				return true
			}
		}
		return false
	}
	return jsonScalarEqual(a, b)
}

func jsonScalarEqual(a, b any) bool {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		x, _, err1 := apd.NewFromString(string(an))
		y, _, err2 := apd.NewFromString(string(bn))
		return err1 == nil && err2 == nil && x.Cmp(y) == 0
	}
	switch a.(type) {
	case map[string]any, []any:
		return false
	}
	return a == b
}

// jsonExistsExpr is doc ? key, doc ?| keys and doc ?& keys.
type jsonExistsExpr struct {
	doc, keys expr
	op        string
}

func (e *jsonExistsExpr) eval(ec *evalContext, row []any) (any, error) {
	d, k, err := evalOperands(ec, row, e.doc, e.keys)
	if err != nil || d == nil {
		return nil, err
	}
	v, err := decodeJSON(d.(string))
	if err != nil {
		return nil, err
	}
	if e.op == "?" {
		return jsonHasKey(v, k.(string)), nil
	}
	keys, err := parseTextArrayLiteral(k.(string))
	if err != nil {
		return nil, err
	}
	all := e.op == "?&"
	for _, key := range keys {
		if key == nil {
			continue
		}
		if jsonHasKey(v, *key) != all {
			return !all, nil
		}
	}
	return all, nil
}

func (e *jsonExistsExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

// jsonHasKey reports whether key is a member of an object, a string element
// of an array, or the string itself.
func jsonHasKey(v any, key string) bool {
	switch x := v.(type) {
	case map[string]any:
		_, ok := x[key]
		return ok
	case []any:
		for _, el := range x {
			if s, ok := el.(string); ok && s == key {
				return true
			}
		}
		return false
	case string:
		return x == key
	}
	return false
}

// jsonBuildExpr is json_build_object, jsonb_build_object,
// json_build_array, jsonb_build_array, to_json and to_jsonb.
type jsonBuildExpr struct {
	name   string
	args   []expr
	object bool
	// single is to_json and to_jsonb: one value, no container.
	single bool
	typ    uint32
}

func (b *builder) buildJSONFunc(name string, args []expr, location int32) (expr, bool, error) {
	e := &jsonBuildExpr{name: name, args: args, typ: oidJSON}
	if strings.HasPrefix(name, "jsonb") || name == "to_jsonb" {
		e.typ = oidJSONB
	}
	switch name {
	case "json_build_object", "jsonb_build_object":
		if len(args)%2 != 0 {
			return nil, true, pgerror.New(pgcode.InvalidParameterValue, "argument list must have even number of elements").
				WithHint("The arguments of " + name + "() must consist of alternating keys and values.")
		}
		e.object = true
	case "json_build_array", "jsonb_build_array":
	case "to_json", "to_jsonb":
		if len(args) != 1 {
			return nil, false, nil
		}
		e.single = true
	case "row_to_json":
		if len(args) != 1 || args[0].resultType().OID != oidRecord {
			return nil, false, nil
		}
		e.single = true
	case "array_to_json":
		// array_to_json(array) is to_json restricted to arrays.
		if len(args) != 1 || !isArrayType(args[0].resultType().OID) {
			return nil, false, nil
		}
		e.single = true
	default:
		return nil, false, nil
	}
	// Unknown literals are text, as in PostgreSQL.
	for i, a := range args {
		if a.resultType().OID == oidUnknown {
			c, err := b.castTo(a, plainType(oidText), false)
			if err != nil {
				return nil, true, err
			}
			e.args[i] = c
		}
	}
	return e, true, nil
}

func (e *jsonBuildExpr) eval(ec *evalContext, row []any) (any, error) {
	var buf strings.Builder
	switch {
	case e.single:
		v, err := e.args[0].eval(ec, row)
		if err != nil || v == nil {
			return nil, err
		}
		writeJSONValue(&buf, ec, v, e.args[0].resultType().OID)
	case e.object:
		buf.WriteByte('{')
		for i := 0; i < len(e.args); i += 2 {
			k, err := e.args[i].eval(ec, row)
			if err != nil {
				return nil, err
			}
			if k == nil {
				return nil, pgerror.Newf(pgcode.InvalidParameterValue, "argument %d: key must not be null", i+1)
			}
			v, err := e.args[i+1].eval(ec, row)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				buf.WriteString(", ")
			}
			writeJSONString(&buf, textOf(k, e.args[i].resultType().OID))
			buf.WriteString(" : ")
			writeJSONValue(&buf, ec, v, e.args[i+1].resultType().OID)
		}
		buf.WriteByte('}')
	default:
		buf.WriteByte('[')
		for i, a := range e.args {
			v, err := a.eval(ec, row)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				buf.WriteString(", ")
			}
			writeJSONValue(&buf, ec, v, a.resultType().OID)
		}
		buf.WriteByte(']')
	}
	if e.typ == oidJSONB {
		return normalizeJSONB(buf.String())
	}
	return buf.String(), nil
}

func (e *jsonBuildExpr) resultType() catalog.ColumnType { return plainType(e.typ) }

// writeJSONValue writes a SQL value as JSON the way to_json does.
func writeJSONValue(buf *strings.Builder, ec *evalContext, v any, oid uint32) {
	switch {
	case v == nil:
		buf.WriteString("null")
	case isArrayType(oid):
		// Arrays become JSON arrays, nested by dimension, without spaces.
		buf.WriteByte('[')
		for i, item := range v.([]any) {
			if i > 0 {
				buf.WriteByte(',')
			}
			if _, sub := item.([]any); sub {
				writeJSONValue(buf, ec, item, oid)
			} else {
				writeJSONValue(buf, ec, item, arrayElem(oid))
			}
		}
		buf.WriteByte(']')
	case isJSONType(oid):
		buf.WriteString(v.(string))
	case oid == oidRecord:
		writeJSONRecord(buf, ec, v.(*recordValue))
	case oid == oidBool:
		buf.WriteString(strconv.FormatBool(v.(bool)))
	case isNumericType(oid):
		text := textOf(v, oid)
		if f, err := strconv.ParseFloat(text, 64); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			// NaN and Infinity have no JSON number form.
			writeJSONString(buf, text)
			return
		}
		buf.WriteString(text)
	case (oid == oidTimestamptz || oid == oidTimestamp) && pgtext.InfinitySign(v.(time.Time)) != 0:
		writeJSONString(buf, textOf(v, oid))
	case oid == oidTimestamptz:
		writeJSONString(buf, v.(time.Time).In(ec.sess.location()).Format("2006-01-02T15:04:05.999999-07:00"))
	case oid == oidTimestamp:
		writeJSONString(buf, v.(time.Time).Format("2006-01-02T15:04:05.999999"))
	default:
		writeJSONString(buf, textOf(v, oid))
	}
}

// writeJSONRecord writes a record as an object of its fields, without
// spaces, as PostgreSQL's row_to_json does.
func writeJSONRecord(buf *strings.Builder, ec *evalContext, r *recordValue) {
	buf.WriteByte('{')
	for i, v := range r.values {
		if i > 0 {
			buf.WriteByte(',')
		}
		name := "f" + strconv.Itoa(i+1)
		if i < len(r.names) {
			name = r.names[i]
		}
		writeJSONString(buf, name)
		buf.WriteByte(':')
		writeJSONValue(buf, ec, v, r.types[i])
	}
	buf.WriteByte('}')
}

// writeJSONString writes s as a JSON string the way PostgreSQL's
// escape_json does: quotes, backslashes and control characters are
// escaped, and every other character, <, > and U+2028 included, is
// written as it is (encoding/json would escape those).
func writeJSONString(buf *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf.WriteString(s[start:i])
		start = i + 1
		switch c {
		case '"', '\\':
			buf.WriteByte('\\')
			buf.WriteByte(c)
		case '\b':
			buf.WriteString(`\b`)
		case '\f':
			buf.WriteString(`\f`)
		case '\n':
			buf.WriteString(`\n`)
		case '\r':
			buf.WriteString(`\r`)
		case '\t':
			buf.WriteString(`\t`)
		default:
			buf.WriteString(`\u00`)
			buf.WriteByte(hex[c>>4])
			buf.WriteByte(hex[c&0xf])
		}
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

// jsonTypeof is json_typeof and jsonb_typeof.
func jsonTypeof(_ *evalContext, a []any) (any, error) {
	raw := bytes.TrimSpace([]byte(a[0].(string)))
	if len(raw) == 0 {
		return nil, nil
	}
	switch raw[0] {
	case '{':
		return "object", nil
	case '[':
		return "array", nil
	case '"':
		return "string", nil
	case 't', 'f':
		return "boolean", nil
	case 'n':
		return "null", nil
	}
	return "number", nil
}

// jsonArrayLength is json_array_length and jsonb_array_length.
func jsonArrayLength(_ *evalContext, a []any) (any, error) {
	raw := bytes.TrimSpace([]byte(a[0].(string)))
	if len(raw) == 0 || raw[0] != '[' {
		if len(raw) > 0 && raw[0] == '{' {
			return nil, pgerror.New(pgcode.InvalidParameterValue, "cannot get array length of a non-array")
		}
		return nil, pgerror.New(pgcode.InvalidParameterValue, "cannot get array length of a scalar")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, invalidInput(oidJSON, string(raw))
	}
	return int64(len(elems)), nil
}

// similarToEscape translates an SQL regular expression (SIMILAR TO) into
// a POSIX one anchored at both ends, as PostgreSQL's similar_to_escape
// does. escape is the escape character, or "" for none.
func similarToEscape(pattern, escape string) (string, error) {
	if len([]rune(escape)) > 1 {
		return "", pgerror.New(pgcode.InvalidEscapeSequence, "invalid escape string").
			WithHint("Escape string must be empty or one character.")
	}
	esc := rune(-1)
	if escape != "" {
		esc = []rune(escape)[0]
	}
	var b strings.Builder
	b.WriteString("^(?:")
	afterEscape, inClass := false, false
	for _, c := range pattern {
		switch {
		case afterEscape:
			b.WriteByte('\\')
			b.WriteRune(c)
			afterEscape = false
		case c == esc:
			afterEscape = true
		case inClass:
			if c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(c)
			if c == ']' {
				inClass = false
			}
		case c == '[':
			b.WriteRune(c)
			inClass = true
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteByte('.')
		case c == '(':
			b.WriteString("(?:")
		case c == '\\' || c == '.' || c == '^' || c == '$':
			b.WriteByte('\\')
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteString(")$")
	return b.String(), nil
}

// jsonBuiltins are the json and jsonb functions with fixed signatures, and
// similar_to_escape, which SIMILAR TO calls.
var jsonBuiltins = map[string][]builtin{
	"json_typeof":             {{argTypes: []uint32{oidJSON}, result: fixed(oidText), strict: true, fn: jsonTypeof}},
	"jsonb_typeof":            {{argTypes: []uint32{oidJSONB}, result: fixed(oidText), strict: true, fn: jsonTypeof}},
	"json_array_length":       {{argTypes: []uint32{oidJSON}, result: fixed(oidInt4), strict: true, fn: jsonArrayLength}},
	"jsonb_array_length":      {{argTypes: []uint32{oidJSONB}, result: fixed(oidInt4), strict: true, fn: jsonArrayLength}},
	"json_extract_path":       {{argTypes: []uint32{oidJSON, oidText}, variadic: true, result: fixed(oidJSON), strict: true, fn: jsonExtractPathFunc(false)}},
	"jsonb_extract_path":      {{argTypes: []uint32{oidJSONB, oidText}, variadic: true, result: fixed(oidJSONB), strict: true, fn: jsonExtractPathFunc(false)}},
	"json_extract_path_text":  {{argTypes: []uint32{oidJSON, oidText}, variadic: true, result: fixed(oidText), strict: true, fn: jsonExtractPathFunc(true)}},
	"jsonb_extract_path_text": {{argTypes: []uint32{oidJSONB, oidText}, variadic: true, result: fixed(oidText), strict: true, fn: jsonExtractPathFunc(true)}},
	"similar_to_escape": {
		{argTypes: []uint32{oidText}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return similarToEscape(a[0].(string), `\`)
		}},
		{argTypes: []uint32{oidText, oidText}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return similarToEscape(a[0].(string), a[1].(string))
		}},
	},
}
