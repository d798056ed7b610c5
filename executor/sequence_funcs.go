package executor

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// This file implements nextval, currval, setval and lastval, and reading a
// sequence with SELECT * FROM.
//
// PostgreSQL passes the sequence as a regclass, so a constant name is
// resolved once, when the statement is analysed. pgkeep does the same for
// a string constant and for 'name'::regclass. The cached plan keeps the
// sequence until the schema changes. Any other text argument is resolved
// at each call.

// sequenceFunctionNames are the functions whose first argument names a
// sequence.
var sequenceFunctionNames = map[string]bool{"nextval": true, "currval": true, "setval": true}

// sequenceOverloads describe the parameters of the sequence functions, for
// argument matching and its error message.
var sequenceOverloads = map[string][]builtin{
	"nextval": {{argTypes: []uint32{oidText}}},
	"currval": {{argTypes: []uint32{oidText}}},
	"setval":  {{argTypes: []uint32{oidText, oidInt8}}, {argTypes: []uint32{oidText, oidInt8, oidBool}}},
	"lastval": {{argTypes: []uint32{}}},
}

// sequenceSession is the per-session state of the sequence functions.
type sequenceSession struct {
	// values holds, per sequence, the value nextval last returned or
	// setval last set with is_called true in this session, for currval.
	values map[sequenceID]int64
	// last is the sequence nextval last advanced, for lastval; the zero
	// sequenceID for none.
	last sequenceID
}

// sequenceID identifies a sequence in the session state: the descriptor
// ID of a named sequence, or the table and column IDs of a column's
// implicit sequence.
type sequenceID struct{ id, column uint32 }

func sequenceIDOf(seq *catalog.TableDescriptor) sequenceID {
	return sequenceID{seq.ID, seq.Sequence.Column}
}

// sequenceCallExpr is a call of a sequence function.
type sequenceCallExpr struct {
	name string
	args []expr
	// seq is the sequence resolved at analysis, or nil when the name is
	// computed and resolved at each call.
	seq *catalog.TableDescriptor
}

func (e *sequenceCallExpr) resultType() catalog.ColumnType { return plainType(oidInt8) }

func funcCallName(fc *pg_query.FuncCall) string {
	if len(fc.Funcname) == 0 {
		return ""
	}
	return fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval()
}

// sequenceNameConstant returns the text of a sequence argument written as
// a string constant or a string constant cast to regclass.
func sequenceNameConstant(n *pg_query.Node) (string, bool) {
	if tc := n.GetTypeCast(); tc != nil && isRegclass(tc.TypeName) {
		n = tc.Arg
	}
	c := n.GetAConst()
	if c == nil || c.Isnull || c.GetSval() == nil {
		return "", false
	}
	return c.GetSval().GetSval(), true
}

func isRegclass(tn *pg_query.TypeName) bool {
	if tn == nil || len(tn.Names) == 0 || len(tn.ArrayBounds) > 0 {
		return false
	}
	return tn.Names[len(tn.Names)-1].GetString_().GetSval() == "regclass"
}

// buildSequenceCall compiles a call of nextval, currval, setval or lastval.
func (b *builder) buildSequenceCall(name string, fc *pg_query.FuncCall, argNodes []*pg_query.Node) (expr, error) {
	args := make([]expr, len(argNodes))
	var constName *string
	nameLocation := fc.Location
	for i, n := range argNodes {
		if i == 0 && sequenceFunctionNames[name] {
			if text, ok := sequenceNameConstant(n); ok {
				constName = &text
				args[0] = &constExpr{val: text, typ: plainType(oidText)}
				nameLocation = exprLocation(n)
				continue
			}
			if tc := n.GetTypeCast(); tc != nil && isRegclass(tc.TypeName) {
				return nil, pgerror.NotSupported("regclass values other than string constants").WithPosition(tc.Location + 1)
			}
		}
		e, err := b.build(n)
		if err != nil {
			return nil, err
		}
		args[i] = e
	}
	candidates := sequenceOverloads[name]
	for _, exactOnly := range []bool{true, false} {
		for i := range candidates {
			cast, ok, _ := b.matchArgs(&candidates[i], args, exactOnly)
			if !ok {
				continue
			}
			call := &sequenceCallExpr{name: name, args: cast}
			if constName != nil {
				resolve := func(txn kv.Txn) error {
					var err error
					call.seq, err = resolveSequenceName(b.sess, txn, *constName, nameLocation)
					return err
				}
				var err error
				if b.an != nil {
					err = resolve(b.an.txn)
				} else {
					err = b.sess.withReadTxn(resolve)
				}
				if err != nil {
					return nil, err
				}
			}
			return call, nil
		}
	}
	types := make([]string, len(args))
	for i, a := range args {
		types[i] = typeName(a.resultType().OID)
		if i == 0 && constName != nil {
			types[i] = "unknown"
		}
	}
	return nil, pgerror.Newf(pgcode.UndefinedFunction, "function %s(%s) does not exist", name, strings.Join(types, ", ")).
		WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").
		WithPosition(fc.Location + 1)
}

// exprLocation returns the location of a string constant argument, or of
// the cast around it.
func exprLocation(n *pg_query.Node) int32 {
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.Arg
	}
	if c := n.GetAConst(); c != nil {
		return c.Location
	}
	return -1
}

func (e *sequenceCallExpr) eval(ec *evalContext, row []any) (any, error) {
	// nextval changes what the sequence functions return next, so a
	// subquery that calls them is not memoized.
	ec.volatileCalls++
	if e.name == "lastval" {
		return ec.sess.lastval()
	}
	seq := e.seq
	if seq == nil {
		v, err := e.args[0].eval(ec, row)
		if err != nil || v == nil {
			return nil, err
		}
		if seq, err = resolveSequenceName(ec.sess, ec.sess.txn.kv, v.(string), -1); err != nil {
			return nil, err
		}
	}
	state := &ec.sess.seqs
	switch e.name {
	case "nextval":
		if err := requireSequenceWrite(ec, seq, "nextval()"); err != nil {
			return nil, err
		}
		v, err := ec.sess.srv.cat.NextValue(seq)
		if err != nil {
			return nil, err
		}
		state.used(seq, v)
		return v, nil
	case "currval":
		v, ok := state.values[sequenceIDOf(seq)]
		if !ok {
			return nil, pgerror.Newf(pgcode.ObjectNotInPrerequisiteState, "currval of sequence %q is not yet defined in this session", seq.Name)
		}
		return v, nil
	}
	return setval(ec, e.args, row, seq)
}

// setval is setval(seq, value [, is_called]).
func setval(ec *evalContext, args []expr, row []any, seq *catalog.TableDescriptor) (any, error) {
	value, err := args[1].eval(ec, row)
	if err != nil || value == nil {
		return nil, err
	}
	called := any(true)
	if len(args) == 3 {
		if called, err = args[2].eval(ec, row); err != nil || called == nil {
			return nil, err
		}
	}
	if err := requireSequenceWrite(ec, seq, "setval()"); err != nil {
		return nil, err
	}
	v, o := value.(int64), seq.Sequence
	if v < o.Min || v > o.Max {
		return nil, pgerror.Newf(pgcode.NumericValueOutOfRange, "setval: value %d is out of bounds for sequence %q (%d..%d)", v, seq.Name, o.Min, o.Max)
	}
	if err := ec.sess.srv.cat.SetSequenceValue(seq, v, called == true); err != nil {
		return nil, err
	}
	if called == true {
		ec.sess.seqs.remember(seq, v)
	}
	return v, nil
}

// requireSequenceWrite rejects changing a permanent sequence in a READ
// ONLY transaction; temporary sequences may change, as in PostgreSQL.
func requireSequenceWrite(ec *evalContext, seq *catalog.TableDescriptor, function string) error {
	if seq.Temporary {
		return nil
	}
	return ec.requireWritable(function)
}

// remember records v as the session's current value of seq, for currval.
func (s *sequenceSession) remember(seq *catalog.TableDescriptor, v int64) {
	if s.values == nil {
		s.values = map[sequenceID]int64{}
	}
	s.values[sequenceIDOf(seq)] = v
}

// used records that nextval returned v from seq, for currval and lastval.
func (s *sequenceSession) used(seq *catalog.TableDescriptor, v int64) {
	s.remember(seq, v)
	s.last = sequenceIDOf(seq)
}

// lastval returns the value nextval last returned in the session, from a
// sequence that still exists.
func (s *Session) lastval() (any, error) {
	notDefined := pgerror.New(pgcode.ObjectNotInPrerequisiteState, "lastval is not yet defined in this session")
	last := s.seqs.last
	if last.id == 0 {
		return nil, notDefined
	}
	t, err := s.srv.cat.TableByID(s.txn.kv, last.id)
	if err != nil {
		return nil, err
	}
	if t == nil || (last.column != 0 && t.ColumnByID(last.column) == nil) {
		return nil, notDefined
	}
	return s.seqs.values[last], nil
}

// resolveSequenceName resolves the text of a regclass argument, such as
// 'public."My Seq"', to a sequence. location is the argument's position in
// the statement for errors, or -1.
func resolveSequenceName(sess *Session, txn kv.Txn, text string, location int32) (*catalog.TableDescriptor, error) {
	rv, err := parseRelationName(text, location)
	if err != nil {
		return nil, err
	}
	if rv.Catalogname != "" && rv.Catalogname != sess.database {
		return nil, pgerror.Newf(pgcode.FeatureNotSupported, "cross-database references are not implemented: %q", text).WithPosition(location + 1)
	}
	rv.Catalogname = ""
	an := &analyser{sess: sess, txn: txn}
	return an.resolveSequence(rv)
}

// parseRelationName splits a possibly qualified relation name written as
// text, as PostgreSQL's regclass input does. Parts are separated by dots,
// and white space around them is ignored. A part in double quotes keeps its
// case and may contain dots, and an unquoted part is folded to lower case
// (ASCII letters only, as PostgreSQL does in UTF-8).
func parseRelationName(text string, location int32) (*pg_query.RangeVar, error) {
	invalid := func() error {
		return pgerror.New(pgcode.InvalidName, "invalid name syntax").WithPosition(location + 1)
	}
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' }
	var parts []string
	i := 0
	for {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		var part strings.Builder
		if i < len(text) && text[i] == '"' {
			i++
			for {
				if i >= len(text) {
					return nil, invalid()
				}
				if text[i] == '"' {
					if i+1 < len(text) && text[i+1] == '"' {
						part.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				part.WriteByte(text[i])
				i++
			}
		} else {
			for i < len(text) && text[i] != '.' && !isSpace(text[i]) {
				c := text[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				part.WriteByte(c)
				i++
			}
		}
		if part.Len() == 0 {
			return nil, invalid()
		}
		parts = append(parts, part.String())
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i == len(text) {
			break
		}
		if text[i] != '.' {
			return nil, invalid()
		}
		i++
	}
	rv := &pg_query.RangeVar{Location: location}
	switch len(parts) {
	case 3:
		rv.Catalogname = parts[0]
		fallthrough
	case 2:
		rv.Schemaname = parts[len(parts)-2]
		fallthrough
	case 1:
		rv.Relname = parts[len(parts)-1]
	default:
		return nil, pgerror.Newf(pgcode.SyntaxError, "improper relation name (too many dotted names): %s", text).WithPosition(location + 1)
	}
	return rv, nil
}

// sequenceVirtualTable reads a sequence as PostgreSQL shows it: one row of
// last_value, log_cnt and is_called.
func sequenceVirtualTable(seq *catalog.TableDescriptor) *virtualTable {
	return &virtualTable{desc: seq, rows: func(ec *evalContext, _ expr) ([][]any, error) {
		last, logCount, called, err := ec.sess.srv.cat.SequenceState(seq)
		if err != nil {
			return nil, err
		}
		return [][]any{{last, logCount, called}}, nil
	}}
}
