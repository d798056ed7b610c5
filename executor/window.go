package executor

import (
	"regexp"
	"sort"

	"github.com/cockroachdb/apd/v3"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Window functions run after WHERE, GROUP BY and HAVING and before
// DISTINCT, ORDER BY and LIMIT. windowIter reads every input row, sorts
// the rows once per window, and appends one value per window call to each
// row. A windowRefExpr in the targets reads that value back.

// Frame option bits of pg_query.WindowDef.FrameOptions, as defined by
// PostgreSQL's parsenodes.h (FRAMEOPTION_*).
const (
	frameNonDefault              = 0x00001
	frameRange                   = 0x00002
	frameRows                    = 0x00004
	frameGroups                  = 0x00008
	frameStartUnboundedPreceding = 0x00020
	frameEndUnboundedFollowing   = 0x00100
	frameStartCurrentRow         = 0x00200
	frameEndCurrentRow           = 0x00400
	frameStartOffsetPreceding    = 0x00800
	frameEndOffsetPreceding      = 0x01000
	frameStartOffsetFollowing    = 0x02000
	frameEndOffsetFollowing      = 0x04000
	frameExclusion               = 0x08000 | 0x10000 | 0x20000
	frameStartOffset             = frameStartOffsetPreceding | frameStartOffsetFollowing
	frameEndOffset               = frameEndOffsetPreceding | frameEndOffsetFollowing
)

// windowFunctionNames are the functions that exist only as window
// functions. Aggregates become window functions with an OVER clause.
var windowFunctionNames = map[string]bool{
	"row_number": true, "rank": true, "dense_rank": true, "percent_rank": true,
	"cume_dist": true, "ntile": true, "lag": true, "lead": true,
	"first_value": true, "last_value": true, "nth_value": true,
}

// windowCollector gathers the window function calls of one query level.
type windowCollector struct {
	calls []*windowCall
	// named contains the WINDOW clause's definitions and built lists the
	// specs already built for them, so calls naming one window share it.
	named map[string]*pg_query.WindowDef
	built map[string]*windowSpec
	// forbidden names the clause being built when it rejects window calls
	// (HAVING), and nestedIn names the part of a window call being built,
	// which may not hold another one.
	forbidden string
	nestedIn  string
}

// windowSpec is a resolved window: PARTITION BY, ORDER BY and the frame.
type windowSpec struct {
	partition []expr
	order     []expr
	// orderKeys sort the key vector partition values ++ order values.
	orderKeys    []sortKey
	frameOptions int32
	startOffset  expr
	endOffset    expr
}

// windowCall is one window function call. agg is set for an aggregate
// used as a window function.
type windowCall struct {
	name   string
	args   []expr
	agg    *aggSpec
	window *windowSpec
	typ    catalog.ColumnType
}

// windowRefExpr reads the value of the idx-th window call, which
// windowIter appends after the input columns.
type windowRefExpr struct {
	idx       int
	collector *windowCollector
}

func (e *windowRefExpr) eval(_ *evalContext, row []any) (any, error) {
	return row[len(row)-len(e.collector.calls)+e.idx], nil
}

func (e *windowRefExpr) resultType() catalog.ColumnType {
	return e.collector.calls[e.idx].typ
}

// children lists the expressions a window call reads, for walkExpr.
func (e *windowRefExpr) children() []expr {
	call := e.collector.calls[e.idx]
	out := append([]expr{}, call.args...)
	if call.agg != nil {
		out = append(out, call.agg.arg, call.agg.filter)
	}
	out = append(out, call.window.partition...)
	return append(out, call.window.order...)
}

// newWindowCollector checks the WINDOW clause for duplicate names.
func newWindowCollector(clause []*pg_query.Node) (*windowCollector, error) {
	wc := &windowCollector{named: map[string]*pg_query.WindowDef{}, built: map[string]*windowSpec{}}
	for _, n := range clause {
		def := n.GetWindowDef()
		if _, dup := wc.named[def.Name]; dup {
			return nil, pgerror.Newf(pgcode.WindowingError, "window %q is already defined", def.Name).WithPosition(def.Location + 1)
		}
		wc.named[def.Name] = def
	}
	return wc, nil
}

// buildWindowCall compiles name(args) OVER (...).
func (b *builder) buildWindowCall(name string, fc *pg_query.FuncCall) (expr, error) {
	var wc *windowCollector
	if b.aggs != nil {
		wc = b.aggs.windows
	}
	switch {
	case b.clause == "aggregate function calls":
		return nil, pgerror.New(pgcode.GroupingError, "aggregate function calls cannot contain window function calls").WithPosition(fc.Location + 1)
	case wc != nil && wc.nestedIn == "arguments":
		return nil, pgerror.New(pgcode.WindowingError, "window function calls cannot be nested").WithPosition(fc.Location + 1)
	case wc != nil && wc.nestedIn != "":
		return nil, pgerror.New(pgcode.WindowingError, "window functions are not allowed in window definitions").WithPosition(fc.Location + 1)
	case wc != nil && wc.forbidden != "":
		return nil, pgerror.Newf(pgcode.WindowingError, "window functions are not allowed in %s", wc.forbidden).WithPosition(fc.Location + 1)
	case wc == nil:
		clause := b.clause
		if clause == "" {
			clause = "this context"
		}
		return nil, pgerror.Newf(pgcode.WindowingError, "window functions are not allowed in %s", clause).WithPosition(fc.Location + 1)
	}
	isAggregate := aggregateNames[name]
	if !isAggregate && !windowFunctionNames[name] {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "OVER specified, but %s is not a window function nor an aggregate function", name).WithPosition(fc.Location + 1)
	}
	if fc.AggDistinct {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "DISTINCT is not implemented for window functions").WithPosition(fc.Location + 1)
	}
	if len(fc.AggOrder) > 0 {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "aggregate ORDER BY is not implemented for window functions").WithPosition(fc.Location + 1)
	}
	if !isAggregate && fc.AggFilter != nil {
		return nil, pgerror.New(pgcode.WrongObjectType, "FILTER is not implemented for non-aggregate window functions").WithPosition(fc.Location + 1)
	}

	// Arguments may hold aggregates of the query (sum(count(*)) OVER ())
	// but no other window call.
	wc.nestedIn = "arguments"
	defer func() { wc.nestedIn = "" }()
	inner := *b
	call := &windowCall{name: name}
	var err error
	if isAggregate {
		if call.agg, err = inner.aggregateSpec(name, fc); err != nil {
			return nil, err
		}
		call.typ = call.agg.typ
	} else if err = inner.windowFunctionArgs(call, fc); err != nil {
		return nil, err
	}
	wc.nestedIn = "definition"
	if call.window, err = inner.windowSpecFor(fc.Over); err != nil {
		return nil, err
	}
	wc.calls = append(wc.calls, call)
	return &windowRefExpr{idx: len(wc.calls) - 1, collector: wc}, nil
}

// windowFunctionArgs checks and types the arguments of a window function
// that is not an aggregate, and sets the call's result type.
func (b *builder) windowFunctionArgs(call *windowCall, fc *pg_query.FuncCall) error {
	for _, a := range fc.Args {
		e, err := b.build(a)
		if err != nil {
			return err
		}
		call.args = append(call.args, e)
	}
	noMatch := func() error {
		types := ""
		for i, a := range call.args {
			if i > 0 {
				types += ", "
			}
			types += typeName(a.resultType().OID)
		}
		return pgerror.Newf(pgcode.UndefinedFunction, "function %s(%s) does not exist", call.name, types).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").
			WithPosition(fc.Location + 1)
	}
	// castArg converts argument i to integer, the type of every count or
	// offset argument.
	castArg := func(i int) error {
		t := call.args[i].resultType().OID
		if t != oidUnknown && !isIntType(t) {
			return noMatch()
		}
		c, err := b.castTo(call.args[i], plainType(oidInt4), false)
		call.args[i] = c
		return err
	}
	n := len(call.args)
	switch call.name {
	case "row_number", "rank", "dense_rank":
		if n != 0 {
			return noMatch()
		}
		call.typ = plainType(oidInt8)
	case "percent_rank", "cume_dist":
		if n != 0 {
			return noMatch()
		}
		call.typ = plainType(oidFloat8)
	case "ntile":
		if n != 1 {
			return noMatch()
		}
		call.typ = plainType(oidInt4)
		return castArg(0)
	case "first_value", "last_value":
		if n != 1 {
			return noMatch()
		}
		return b.valueArg(call)
	case "nth_value":
		if n != 2 {
			return noMatch()
		}
		if err := castArg(1); err != nil {
			return err
		}
		return b.valueArg(call)
	case "lag", "lead":
		if n < 1 || n > 3 {
			return noMatch()
		}
		if n >= 2 {
			if err := castArg(1); err != nil {
				return err
			}
		}
		if n == 3 {
			// The value and the default take their common type, as
			// PostgreSQL's anycompatible parameters do.
			typ, err := b.unifyAll([]expr{call.args[0], call.args[2]}, call.name)
			if err != nil {
				return err
			}
			for _, i := range []int{0, 2} {
				if call.args[i], err = b.castTo(call.args[i], typ, false); err != nil {
					return err
				}
			}
		}
		return b.valueArg(call)
	}
	return nil
}

// valueArg types a function returning its first argument, which an
// unknown literal makes text.
func (b *builder) valueArg(call *windowCall) error {
	if call.args[0].resultType().OID == oidUnknown {
		c, err := b.castTo(call.args[0], plainType(oidText), false)
		if err != nil {
			return err
		}
		call.args[0] = c
	}
	call.typ = call.args[0].resultType()
	return nil
}

// windowSpecFor resolves an OVER clause against the WINDOW clause and
// builds its expressions.
func (b *builder) windowSpecFor(over *pg_query.WindowDef) (*windowSpec, error) {
	if over.Name != "" {
		// OVER w uses the named window as it is.
		return b.namedWindow(over.Name, over.Location)
	}
	return b.buildWindowDef(over)
}

// namedWindow returns the spec of a WINDOW clause entry, building it the
// first time.
func (b *builder) namedWindow(name string, location int32) (*windowSpec, error) {
	wc := b.aggs.windows
	if spec, ok := wc.built[name]; ok {
		return spec, nil
	}
	def, ok := wc.named[name]
	if !ok {
		return nil, pgerror.Newf(pgcode.UndefinedObject, "window %q does not exist", name).WithPosition(location + 1)
	}
	spec, err := b.buildWindowDef(def)
	if err != nil {
		return nil, err
	}
	wc.built[name] = spec
	return spec, nil
}

// buildWindowDef builds a window definition, copying PARTITION BY and
// ORDER BY from the window it names, with PostgreSQL's rules for what a
// copy may add.
func (b *builder) buildWindowDef(def *pg_query.WindowDef) (*windowSpec, error) {
	spec := &windowSpec{frameOptions: def.FrameOptions}
	orderClause := def.OrderClause
	if def.Refname != "" {
		base, ok := b.aggs.windows.named[def.Refname]
		if !ok {
			return nil, pgerror.Newf(pgcode.UndefinedObject, "window %q does not exist", def.Refname).WithPosition(def.Location + 1)
		}
		switch {
		case len(def.PartitionClause) > 0:
			return nil, pgerror.Newf(pgcode.WindowingError, "cannot override PARTITION BY clause of window %q", def.Refname).WithPosition(def.Location + 1)
		case len(def.OrderClause) > 0 && len(base.OrderClause) > 0:
			return nil, pgerror.Newf(pgcode.WindowingError, "cannot override ORDER BY clause of window %q", def.Refname).WithPosition(def.Location + 1)
		case base.FrameOptions&frameNonDefault != 0:
			return nil, pgerror.Newf(pgcode.WindowingError, "cannot copy window %q because it has a frame clause", def.Refname).
				WithHint("Omit the parentheses in this OVER clause.").WithPosition(def.Location + 1)
		}
		baseSpec, err := b.namedWindow(def.Refname, def.Location)
		if err != nil {
			return nil, err
		}
		spec.partition = baseSpec.partition
		if len(orderClause) == 0 {
			spec.order, spec.orderKeys = baseSpec.order, baseSpec.orderKeys
		}
	} else {
		for _, p := range def.PartitionClause {
			e, err := b.build(p)
			if err != nil {
				return nil, err
			}
			spec.partition = append(spec.partition, e)
		}
	}
	if len(orderClause) > 0 {
		spec.orderKeys = spec.orderKeys[:0]
		for _, n := range orderClause {
			sb := n.GetSortBy()
			if sb.SortbyDir == pg_query.SortByDir_SORTBY_USING {
				return nil, pgerror.NotSupported("ORDER BY ... USING in a window definition")
			}
			e, err := b.build(sb.Node)
			if err != nil {
				return nil, err
			}
			spec.order = append(spec.order, e)
			spec.orderKeys = append(spec.orderKeys, sortKeyOf(sb, e))
		}
	}
	// The key vector is partition values followed by order values.
	keys := make([]sortKey, 0, len(spec.partition)+len(spec.orderKeys))
	for i, p := range spec.partition {
		keys = append(keys, sortKey{col: i, typ: p.resultType().OID})
	}
	for i, k := range spec.orderKeys {
		k.col = len(spec.partition) + i
		keys = append(keys, k)
	}
	spec.orderKeys = keys[len(spec.partition):]
	return spec, b.buildFrame(spec, def)
}

// sortKeyOf reads the direction and NULLS placement of an ORDER BY item
// whose sort expression is e.
func sortKeyOf(sb *pg_query.SortBy, e expr) sortKey {
	key := sortKey{desc: sb.SortbyDir == pg_query.SortByDir_SORTBY_DESC, typ: e.resultType().OID}
	key.nullsFirst = key.desc
	switch sb.SortbyNulls {
	case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
		key.nullsFirst = true
	case pg_query.SortByNulls_SORTBY_NULLS_LAST:
		key.nullsFirst = false
	}
	return key
}

// buildFrame checks the frame clause and builds its offsets. ROWS frames
// are complete, but RANGE frames are supported only without offsets.
func (b *builder) buildFrame(spec *windowSpec, def *pg_query.WindowDef) error {
	opts := def.FrameOptions
	switch {
	case opts&frameGroups != 0:
		return pgerror.NotSupported("GROUPS window frames")
	case opts&frameExclusion != 0:
		return pgerror.NotSupported("EXCLUDE in window frames")
	case opts&frameRange != 0 && opts&(frameStartOffset|frameEndOffset) != 0:
		if len(spec.order) != 1 {
			return pgerror.New(pgcode.WindowingError, "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column").WithPosition(def.Location + 1)
		}
		return pgerror.NotSupported("RANGE window frames with an offset")
	}
	// Frame offsets may not read columns, so they are built without a
	// scope and evaluated once per execution.
	ob := &builder{sess: b.sess, params: b.params, clause: "ROWS"}
	var err error
	if def.StartOffset != nil {
		if spec.startOffset, err = ob.buildOffset(def.StartOffset); err != nil {
			return err
		}
	}
	if def.EndOffset != nil {
		if spec.endOffset, err = ob.buildOffset(def.EndOffset); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) buildOffset(n *pg_query.Node) (expr, error) {
	e, err := b.build(n)
	if err != nil {
		if pe, ok := pgerror.Flatten(err); ok && pe.Code == pgcode.UndefinedColumn {
			return nil, pgerror.New(pgcode.InvalidColumnReference, "argument of ROWS must not contain variables")
		}
		return nil, err
	}
	return b.castTo(e, plainType(oidInt8), false)
}

// windowInput is one input row with the aggregate values of its group.
type windowInput struct {
	row  []any
	aggs []any
}

// windowIter computes the window calls over its whole input and returns
// the rows with one value per call appended, in the order of the last
// call's window.
type windowIter struct {
	src   rowIter
	calls []*windowCall
	out   []windowInput
	pos   int
	done  bool
}

func (it *windowIter) next(ec *evalContext) ([]any, error) {
	if !it.done {
		if err := it.compute(ec); err != nil {
			return nil, err
		}
		it.done = true
	}
	if it.pos >= len(it.out) {
		return nil, nil
	}
	it.pos++
	// The projection reads the aggregate values of the row's own group.
	ec.aggValues = it.out[it.pos-1].aggs
	return it.out[it.pos-1].row, nil
}

func (it *windowIter) close() { it.src.close() }

func (it *windowIter) compute(ec *evalContext) error {
	var inputs []windowInput
	for {
		row, err := it.src.next(ec)
		if err != nil {
			return err
		}
		if row == nil {
			break
		}
		inputs = append(inputs, windowInput{row: append([]any(nil), row...), aggs: ec.aggValues})
		if len(inputs)%1024 == 0 {
			if err := ec.checkCancel(); err != nil {
				return err
			}
		}
	}
	values := make([][]any, len(inputs))
	for i := range values {
		values[i] = make([]any, len(it.calls))
	}
	var order []int
	sorted := map[*windowSpec]*sortedWindow{}
	for ci, call := range it.calls {
		sw := sorted[call.window]
		if sw == nil {
			var err error
			if sw, err = sortWindow(ec, call.window, inputs); err != nil {
				return err
			}
			sorted[call.window] = sw
		}
		if err := sw.evaluate(ec, call, inputs, values, ci); err != nil {
			return err
		}
		order = sw.order
	}
	it.out = make([]windowInput, len(order))
	for k, i := range order {
		row := append(append(make([]any, 0, len(inputs[i].row)+len(it.calls)), inputs[i].row...), values[i]...)
		it.out[k] = windowInput{row: row, aggs: inputs[i].aggs}
	}
	return nil
}

// evalInput evaluates e over an input row and its group's aggregates.
func evalInput(ec *evalContext, e expr, in windowInput) (any, error) {
	ec.aggValues = in.aggs
	return e.eval(ec, in.row)
}

// sortedWindow is the input in the order of one window, with the bounds
// of each position's partition and peer group (rows equal in ORDER BY).
// Bounds are positions in order, the end ones exclusive.
type sortedWindow struct {
	spec               *windowSpec
	order              []int
	partStart, partEnd []int
	peerStart, peerEnd []int
}

func sortWindow(ec *evalContext, spec *windowSpec, inputs []windowInput) (*sortedWindow, error) {
	width := len(spec.partition) + len(spec.order)
	keyVals := make([][]any, len(inputs))
	for i, in := range inputs {
		keyVals[i] = make([]any, 0, width)
		for _, e := range append(append([]expr{}, spec.partition...), spec.order...) {
			v, err := evalInput(ec, e, in)
			if err != nil {
				return nil, err
			}
			keyVals[i] = append(keyVals[i], v)
		}
	}
	keys := make([]sortKey, 0, width)
	for i, p := range spec.partition {
		keys = append(keys, sortKey{col: i, typ: p.resultType().OID})
	}
	keys = append(keys, spec.orderKeys...)
	// The key values only order and group the rows, so jsonb values can
	// become their sort keys.
	if hasJSONBKey(keys) {
		for _, vals := range keyVals {
			replaceJSONBSortKeys(vals, keys)
		}
	}
	cmp := &sortIter{keys: keys}
	sw := &sortedWindow{spec: spec, order: make([]int, len(inputs))}
	for i := range sw.order {
		sw.order[i] = i
	}
	sort.SliceStable(sw.order, func(a, b int) bool { return cmp.less(keyVals[sw.order[a]], keyVals[sw.order[b]]) })

	n := len(inputs)
	sw.partStart, sw.partEnd = make([]int, n), make([]int, n)
	sw.peerStart, sw.peerEnd = make([]int, n), make([]int, n)
	equalFrom := func(a, b []any, from int) bool {
		for i := from; i < len(a); i++ {
			if !equalTyped(a[i], b[i], keys[i].typ) {
				return false
			}
		}
		return true
	}
	samePartition := func(p, q int) bool {
		return equalFrom(keyVals[sw.order[p]][:len(spec.partition)], keyVals[sw.order[q]][:len(spec.partition)], 0)
	}
	for p := 0; p < n; {
		end := p + 1
		for end < n && samePartition(p, end) {
			end++
		}
		for q := p; q < end; {
			peerEnd := q + 1
			for peerEnd < end && equalFrom(keyVals[sw.order[q]], keyVals[sw.order[peerEnd]], len(spec.partition)) {
				peerEnd++
			}
			for r := q; r < peerEnd; r++ {
				sw.partStart[r], sw.partEnd[r] = p, end
				sw.peerStart[r], sw.peerEnd[r] = q, peerEnd
			}
			q = peerEnd
		}
		p = end
	}
	return sw, nil
}

// frameOffsets evaluates the frame's offsets, which must be non-negative
// and not NULL.
func (spec *windowSpec) frameOffsets(ec *evalContext) (start, end int64, err error) {
	eval := func(e expr, which string) (int64, error) {
		if e == nil {
			return 0, nil
		}
		v, err := e.eval(ec, nil)
		if err != nil {
			return 0, err
		}
		if v == nil {
			return 0, pgerror.Newf(pgcode.NullValueNotAllowed, "frame %s offset must not be null", which)
		}
		if v.(int64) < 0 {
			return 0, pgerror.Newf(pgcode.InvalidPrecedingOrFollowingSize, "frame %s offset must not be negative", which)
		}
		return v.(int64), nil
	}
	if start, err = eval(spec.startOffset, "starting"); err != nil {
		return 0, 0, err
	}
	end, err = eval(spec.endOffset, "ending")
	return start, end, err
}

// frame returns the frame of sorted position p as positions [start, end).
func (sw *sortedWindow) frame(p int, startOffset, endOffset int64) (int, int) {
	opts := sw.spec.frameOptions
	ps, pe := sw.partStart[p], sw.partEnd[p]
	rows := opts&frameRows != 0
	clamp := func(x int64) int {
		switch {
		case x < int64(ps):
			return ps
		case x > int64(pe):
			return pe
		}
		return int(x)
	}
	start, end := ps, pe
	switch {
	case opts&frameStartUnboundedPreceding != 0:
		start = ps
	case opts&frameStartCurrentRow != 0 && rows:
		start = p
	case opts&frameStartCurrentRow != 0:
		start = sw.peerStart[p]
	case opts&frameStartOffsetPreceding != 0:
		start = clamp(int64(p) - startOffset)
	case opts&frameStartOffsetFollowing != 0:
		start = clamp(int64(p) + startOffset)
	}
	switch {
	case opts&frameEndUnboundedFollowing != 0:
		end = pe
	case opts&frameEndCurrentRow != 0 && rows:
		end = p + 1
	case opts&frameEndCurrentRow != 0:
		end = sw.peerEnd[p]
	case opts&frameEndOffsetPreceding != 0:
		end = clamp(int64(p) - endOffset + 1)
	case opts&frameEndOffsetFollowing != 0:
		end = clamp(int64(p) + endOffset + 1)
	}
	if end < start {
		end = start
	}
	return start, end
}

// evaluate stores the value of call for every input row in
// values[row][ci].
func (sw *sortedWindow) evaluate(ec *evalContext, call *windowCall, inputs []windowInput, values [][]any, ci int) error {
	startOffset, endOffset, err := sw.spec.frameOffsets(ec)
	if err != nil {
		return err
	}
	at := func(p int) windowInput { return inputs[sw.order[p]] }
	var agg aggregateFrame
	denseRank, ntileArg := int64(0), any(nil)
	for p := range sw.order {
		if p%1024 == 1023 {
			if err := ec.checkCancel(); err != nil {
				return err
			}
		}
		ps, pe := sw.partStart[p], sw.partEnd[p]
		if p == ps {
			denseRank = 0
			agg = aggregateFrame{}
			if call.name == "ntile" && call.agg == nil {
				if ntileArg, err = evalInput(ec, call.args[0], at(p)); err != nil {
					return err
				}
			}
		}
		if p == sw.peerStart[p] {
			denseRank++
		}
		var v any
		if call.agg != nil {
			start, end := sw.frame(p, startOffset, endOffset)
			if v, err = agg.value(ec, call.agg, start, end, at); err != nil {
				return err
			}
			values[sw.order[p]][ci] = v
			continue
		}
		switch call.name {
		case "row_number":
			v = int64(p - ps + 1)
		case "rank":
			v = int64(sw.peerStart[p] - ps + 1)
		case "dense_rank":
			v = denseRank
		case "percent_rank":
			v = 0.0
			if pe-ps > 1 {
				v = float64(sw.peerStart[p]-ps) / float64(pe-ps-1)
			}
		case "cume_dist":
			v = float64(sw.peerEnd[p]-ps) / float64(pe-ps)
		case "ntile":
			if v, err = ntile(ntileArg, p-ps, pe-ps); err != nil {
				return err
			}
		case "lag", "lead":
			if v, err = sw.shifted(ec, call, p, at); err != nil {
				return err
			}
		case "first_value", "last_value", "nth_value":
			if v, err = sw.frameValue(ec, call, p, startOffset, endOffset, at); err != nil {
				return err
			}
		}
		values[sw.order[p]][ci] = v
	}
	return nil
}

// ntile returns the bucket, from 1, of position pos of n rows split into
// buckets of equal size, the first n % buckets ones a row larger.
func ntile(arg any, pos, n int) (any, error) {
	if arg == nil {
		return nil, nil
	}
	buckets := arg.(int64)
	if buckets <= 0 {
		return nil, pgerror.New(pgcode.InvalidArgumentForNtile, "argument of ntile must be greater than zero")
	}
	size, extra := int64(n)/buckets, int64(n)%buckets
	p := int64(pos)
	if p < extra*(size+1) {
		return p/(size+1) + 1, nil
	}
	return (p-extra*(size+1))/size + extra + 1, nil
}

// shifted computes lag and lead: the value offset rows before (lag) or
// after (lead) in the partition, or the default outside it.
func (sw *sortedWindow) shifted(ec *evalContext, call *windowCall, p int, at func(int) windowInput) (any, error) {
	offset := int64(1)
	if len(call.args) > 1 {
		v, err := evalInput(ec, call.args[1], at(p))
		if err != nil || v == nil {
			return nil, err
		}
		offset = v.(int64)
	}
	if call.name == "lag" {
		offset = -offset
	}
	target := int64(p) + offset
	if target < int64(sw.partStart[p]) || target >= int64(sw.partEnd[p]) {
		if len(call.args) < 3 {
			return nil, nil
		}
		return evalInput(ec, call.args[2], at(p))
	}
	return evalInput(ec, call.args[0], at(int(target)))
}

// frameValue computes first_value, last_value and nth_value, which are
// NULL when the frame has no such row.
func (sw *sortedWindow) frameValue(ec *evalContext, call *windowCall, p int, startOffset, endOffset int64, at func(int) windowInput) (any, error) {
	start, end := sw.frame(p, startOffset, endOffset)
	target := start
	switch call.name {
	case "last_value":
		target = end - 1
	case "nth_value":
		v, err := evalInput(ec, call.args[1], at(p))
		if err != nil || v == nil {
			return nil, err
		}
		n := v.(int64)
		if n <= 0 {
			return nil, pgerror.New(pgcode.InvalidArgumentForNthValue, "argument of nth_value must be greater than zero")
		}
		if n > int64(end-start) {
			return nil, nil
		}
		target = start + int(n) - 1
	}
	if target < start || target >= end {
		return nil, nil
	}
	return evalInput(ec, call.args[0], at(target))
}

// aggregateFrame is the running state of an aggregate over the frame of
// the previous position. A frame that keeps its start and grows at the end
// only adds rows, and any other frame is aggregated again from its start.
// NOTE: so a frame whose start moves (ROWS n PRECEDING, CURRENT ROW AND
// UNBOUNDED FOLLOWING) costs its own size per row, which is quadratic for
// the latter over a large partition.
type aggregateFrame struct {
	state      aggState
	start, end int
	valid      bool
}

func (f *aggregateFrame) value(ec *evalContext, spec *aggSpec, start, end int, at func(int) windowInput) (any, error) {
	if !f.valid || start != f.start || end < f.end {
		f.state, f.start, f.end, f.valid = aggState{}, start, start, true
	}
	for ; f.end < end; f.end++ {
		in := at(f.end)
		ec.aggValues = in.aggs
		if err := accumulate(ec, spec, &f.state, in.row); err != nil {
			return nil, err
		}
	}
	v, err := finalAggregate(spec, &f.state)
	if err != nil {
		return nil, err
	}
	// The running sum is updated in place as the frame grows, so the value
	// of this row must not share it.
	if d, ok := v.(*apd.Decimal); ok {
		v = new(apd.Decimal).Set(d)
	}
	return v, nil
}

// locationField matches the source positions in a node's text form.
var locationField = regexp.MustCompile(`location:\s*-?\d+`)

// sameNode reports whether two parse trees are equal apart from their
// source positions, as PostgreSQL matches a DISTINCT ON item or an
// aggregate's ORDER BY item with another clause.
func sameNode(a, b *pg_query.Node) bool {
	format := prototext.MarshalOptions{}
	return locationField.ReplaceAllString(format.Format(a), "") == locationField.ReplaceAllString(format.Format(b), "")
}
