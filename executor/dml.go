package executor

import (
	"strconv"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/security"
)

// returning is a compiled RETURNING list.
type returning struct {
	exprs []expr
	names []string
}

func (a *analyser) analyseReturning(list []*pg_query.Node, t *catalog.TableDescriptor, sc *scope) (*returning, error) {
	if len(list) == 0 {
		return nil, nil
	}
	sp := &selectPlan{}
	b := &builder{sess: a.sess, scope: sc, params: a.params, clause: "RETURNING"}
	for _, n := range list {
		rt := n.GetResTarget()
		if cr := rt.Val.GetColumnRef(); cr != nil && isStar(cr) {
			if err := expandStar(sc, cr, sp); err != nil {
				return nil, err
			}
			continue
		}
		e, err := b.build(rt.Val)
		if err != nil {
			return nil, err
		}
		sp.targets = append(sp.targets, e)
		sp.names = append(sp.names, targetName(rt, nil))
	}
	return &returning{exprs: sp.targets, names: sp.names}, nil
}

func (r *returning) project(ec *evalContext, row []any) ([]any, error) {
	out := make([]any, len(r.exprs))
	for i, e := range r.exprs {
		v, err := e.eval(ec, row)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// dmlPlan wraps a DML executor into a plan with optional RETURNING rows.
func dmlPlan(t *catalog.TableDescriptor, ret *returning, verb string, exec func(ec *evalContext, emit func(row []any) error) (int64, error)) *plan {
	p := &plan{retryable: true}
	if ret != nil {
		p.cols = columnsOf(t, ret.exprs, ret.names)
	}
	p.run = func(ec *evalContext) (*result, error) {
		if err := ec.requireWritable(verb); err != nil {
			return nil, err
		}
		var rows [][]any
		emit := func(row []any) error {
			if ret == nil {
				return nil
			}
			out, err := ret.project(ec, row)
			if err != nil {
				return err
			}
			rows = append(rows, out)
			return nil
		}
		n, err := exec(ec, emit)
		if err != nil {
			return nil, err
		}
		tag := verb + " " + strconv.FormatInt(n, 10)
		if verb == "INSERT" {
			tag = "INSERT 0 " + strconv.FormatInt(n, 10)
		}
		res := &result{tag: tag}
		if ret != nil {
			res.rows = &sliceIter{rows: rows}
		}
		return res, nil
	}
	return p
}

func (a *analyser) planInsert(ins *pg_query.InsertStmt) (*plan, error) {
	if ins.WithClause != nil {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "WITH clauses on INSERT, UPDATE and DELETE are not supported")
	}
	t, _, err := a.resolveTable(ins.Relation)
	if err != nil {
		return nil, err
	}
	if err := rejectViewWrite(t, "insert into"); err != nil {
		return nil, err
	}
	if err := a.checkTable(t, security.OpInsert); err != nil {
		return nil, err
	}
	codec := newRowCodec(t)

	// Target columns: the list given, or every visible column.
	var targets []int
	if len(ins.Cols) > 0 {
		seen := map[int]bool{}
		for _, c := range ins.Cols {
			rt := c.GetResTarget()
			col := t.ColumnByName(rt.Name)
			if col == nil || col.Hidden {
				return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q of relation %q does not exist", rt.Name, t.Name).WithPosition(rt.Location + 1)
			}
			idx := codec.colIndex[col.ID]
			if seen[idx] {
				return nil, pgerror.Newf(pgcode.DuplicateColumn, "column %q specified more than once", rt.Name).WithPosition(rt.Location + 1)
			}
			seen[idx] = true
			targets = append(targets, idx)
		}
	} else {
		for i, c := range t.Columns {
			if !c.Hidden {
				targets = append(targets, i)
			}
		}
	}

	defaults, err := a.columnDefaults(t)
	if err != nil {
		return nil, err
	}

	// Source rows: VALUES lists compiled per column, or a SELECT.
	var valueRows [][]expr
	var source *selectPlan
	sel := ins.SelectStmt.GetSelectStmt()
	b := &builder{sess: a.sess, params: a.params, clause: "VALUES", an: a}
	switch {
	case ins.SelectStmt == nil:
		// INSERT ... DEFAULT VALUES
		valueRows = [][]expr{make([]expr, len(targets))}
	case sel != nil && len(sel.ValuesLists) > 0:
		// Without a column list, VALUES may cover only the leading columns.
		if len(ins.Cols) == 0 {
			width := len(sel.ValuesLists[0].GetList().Items)
			if width < len(targets) {
				targets = targets[:width]
			}
		}
		for _, l := range sel.ValuesLists {
			items := l.GetList().Items
			if len(items) > len(targets) {
				return nil, pgerror.New(pgcode.SyntaxError, "INSERT has more expressions than target columns")
			}
			if len(items) < len(targets) {
				return nil, pgerror.New(pgcode.SyntaxError, "INSERT has more target columns than expressions")
			}
			row := make([]expr, len(targets))
			for i, it := range items {
				if it.GetSetToDefault() != nil {
					continue
				}
				e, err := b.build(it)
				if err != nil {
					return nil, err
				}
				col := t.Columns[targets[i]]
				if col.Identity == catalog.IdentityAlways && ins.Override != pg_query.OverridingKind_OVERRIDING_SYSTEM_VALUE {
					return nil, pgerror.Newf(pgcode.GeneratedAlways, "cannot insert a non-DEFAULT value into column %q", col.Name).
						WithDetailf("Column %q is an identity column defined as GENERATED ALWAYS.", col.Name).
						WithHint("Use OVERRIDING SYSTEM VALUE to override.")
				}
				if row[i], err = b.coerceForAssignment(e, col.Type, col.Name); err != nil {
					return nil, err
				}
			}
			valueRows = append(valueRows, row)
		}
	case sel != nil:
		if source, err = a.analyseSelect(sel); err != nil {
			return nil, err
		}
		if len(ins.Cols) == 0 && len(source.targets) < len(targets) {
			targets = targets[:len(source.targets)]
		}
		if len(source.targets) != len(targets) {
			if len(source.targets) > len(targets) {
				return nil, pgerror.New(pgcode.SyntaxError, "INSERT has more expressions than target columns")
			}
			return nil, pgerror.New(pgcode.SyntaxError, "INSERT has more target columns than expressions")
		}
		for i, e := range source.targets {
			col := t.Columns[targets[i]]
			if from := e.resultType().OID; from != col.Type.OID && from != oidUnknown && !assignmentCastAllowed(from, col.Type.OID) {
				return nil, pgerror.Newf(pgcode.DatatypeMismatch, "column %q is of type %s but expression is of type %s", col.Name, formatType(col.Type), typeName(from))
			}
		}
	default:
		return nil, pgerror.NotSupported("this form of INSERT")
	}
	// A subquery in the new rows would see the rows inserted before it, so
	// such rows are all computed before the first is written.
	computeFirst := a.hasSubquery

	var conflict *onConflict
	if ins.OnConflictClause != nil {
		if conflict, err = a.analyseOnConflict(ins.OnConflictClause, t, codec); err != nil {
			return nil, err
		}
	}
	ret, err := a.analyseReturning(ins.ReturningList, t, tableScope(t, t.Name))
	if err != nil {
		return nil, err
	}
	checks, refs, err := a.writeConstraints(t)
	if err != nil {
		return nil, err
	}
	return dmlPlan(t, ret, "INSERT", func(ec *evalContext, emit func([]any) error) (n int64, err error) {
		ins := &inserter{table: t, codec: codec, defaults: defaults, targets: targets, conflict: conflict, touched: map[string]bool{},
			checks: checks, refs: refs, pending: &fkPending{}}
		defer func() {
			if err == nil {
				err = ins.pending.run(ec)
			}
		}()
		// put writes one row, or resolves its conflict, and reports it.
		put := func(row []any) error {
			out, err := ins.put(ec, row)
			if err != nil || out == nil {
				return err
			}
			n++
			return emit(out)
		}
		add := put
		var computed [][]any
		if computeFirst {
			add = func(row []any) error {
				computed = append(computed, row)
				return nil
			}
		}
		if err := ins.forEachRow(ec, source, valueRows, add); err != nil {
			return n, err
		}
		for _, row := range computed {
			if err := put(row); err != nil {
				return n, err
			}
		}
		return n, nil
	}), nil
}

// forEachRow builds the rows to insert, from the rows of source or else
// from the VALUES lists, and calls add on each.
func (ins *inserter) forEachRow(ec *evalContext, source *selectPlan, valueRows [][]expr, add func(row []any) error) error {
	if source != nil {
		it, err := source.open(ec)
		if err != nil {
			return err
		}
		defer it.close()
		for {
			vals, err := it.next(ec)
			if vals == nil || err != nil {
				return err
			}
			row, err := ins.row(ec, nil, vals)
			if err != nil {
				return err
			}
			if err := add(row); err != nil {
				return err
			}
		}
	}
	for _, exprs := range valueRows {
		row, err := ins.row(ec, exprs, nil)
		if err != nil {
			return err
		}
		if err := add(row); err != nil {
			return err
		}
	}
	return nil
}

// inserter builds and writes the rows of one INSERT.
type inserter struct {
	table    *catalog.TableDescriptor
	codec    *rowCodec
	defaults []expr
	targets  []int
	conflict *onConflict
	// touched holds the keys of the rows this statement inserted or
	// updated, which ON CONFLICT DO UPDATE may not update again.
	touched map[string]bool
	checks  *rowChecks
	// refs are the foreign keys referencing the table, which an ON
	// CONFLICT update of a referenced key must respect.
	refs    []*fkRef
	pending *fkPending
	// seqs caches the implicit sequences of the identity columns, by
	// column position.
	seqs []*catalog.TableDescriptor
}

// put inserts row or, under ON CONFLICT, resolves its collision. It
// returns the row to report, or nil for a row DO NOTHING skipped.
func (ins *inserter) put(ec *evalContext, row []any) ([]any, error) {
	if ins.conflict != nil {
		existing, err := ins.conflict.conflictingRow(ec, ins.codec, row)
		if err != nil {
			return nil, err
		}
		if existing != nil {
			return ins.conflict.apply(ec, ins, existing, row)
		}
	}
	if err := ins.checks.check(ec, row, ins.pending); err != nil {
		return nil, err
	}
	if err := ins.insert(ec, row); err != nil {
		return nil, err
	}
	if ins.conflict != nil {
		key, err := ins.codec.encodeKey(row, ec.actor().ID)
		if err != nil {
			return nil, err
		}
		ins.touched[string(key)] = true
	}
	return row, nil
}

// row builds a full table row from compiled value expressions or from
// already evaluated values, filling the other columns with defaults.
func (ins *inserter) row(ec *evalContext, exprs []expr, vals []any) ([]any, error) {
	t := ins.table
	row := make([]any, ins.codec.width())
	given := make([]bool, len(row))
	for i, idx := range ins.targets {
		switch {
		case vals != nil:
			col := t.Columns[idx]
			v, err := castDatum(vals[i], inferOID(vals[i], col.Type.OID), col.Type, true, ec.sess.location())
			if err != nil {
				return nil, err
			}
			row[idx], given[idx] = v, true
		case exprs[i] != nil:
			v, err := exprs[i].eval(ec, nil)
			if err != nil {
				return nil, err
			}
			row[idx], given[idx] = v, true
		}
	}
	if ins.codec.perUser {
		row[ins.codec.ownerSlot()], given[ins.codec.ownerSlot()] = ec.actor().Name, true
	}
	for i := range row {
		if given[i] {
			continue
		}
		v, err := ins.defaultValue(ec, i)
		if err != nil {
			return nil, err
		}
		row[i] = v
	}
	for i, c := range t.Columns {
		if row[i] == nil && c.NotNull {
			return nil, notNullViolation(t, c.Name, row)
		}
	}
	return row, nil
}

// inferOID returns the type a value from a SELECT source has, for the
// assignment cast. Values of the column type pass through unchanged.
func inferOID(v any, colOID uint32) uint32 {
	switch v.(type) {
	case string:
		if isStringType(colOID) || colOID == oidJSON || colOID == oidJSONB {
			return colOID
		}
		return oidText
	}
	return colOID
}

func (ins *inserter) defaultValue(ec *evalContext, i int) (any, error) {
	col := &ins.table.Columns[i]
	if col.Identity != catalog.IdentityNone {
		if ins.seqs == nil {
			ins.seqs = make([]*catalog.TableDescriptor, len(ins.table.Columns))
		}
		seq := ins.seqs[i]
		if seq == nil {
			seq = catalog.ColumnSequence(ins.table, col)
			ins.seqs[i] = seq
		}
		v, err := ec.sess.srv.cat.NextValue(seq)
		if err != nil {
			return nil, err
		}
		// The hidden row id is not a sequence a user can name.
		if !col.Hidden {
			ec.sess.seqs.used(seq, v)
		}
		return v, nil
	}
	if ins.defaults[i] == nil {
		return nil, nil
	}
	return ins.defaults[i].eval(ec, nil)
}

func (ins *inserter) insert(ec *evalContext, row []any) error {
	key, err := ins.codec.encodeKey(row, ec.actor().ID)
	if err != nil {
		return err
	}
	txn := ec.sess.txn.kv
	old, exists, err := txn.Get(key)
	if err != nil {
		return err
	}
	if exists {
		if !ins.expired(ec, old) {
			return ins.uniqueViolation(row)
		}
		// The expired row gives way: its index entries go first.
		expired := make([]any, ins.codec.width())
		if _, err := ins.codec.decodeValue(old, expired); err != nil {
			return err
		}
		if err := ins.codec.deleteIndexEntries(txn, expired, ec.actor().ID); err != nil {
			return err
		}
	}
	val, err := ins.codec.encodeValue(nil, row, ec.now().UnixMicro())
	if err != nil {
		return err
	}
	if err := txn.Put(key, val); err != nil {
		return err
	}
	return ins.codec.putIndexEntries(txn, row, ec.actor().ID)
}

// expired reports whether a stored STREAM row is past its TTL: it is
// invisible, so a new row may take its key before the sweep removes it.
func (ins *inserter) expired(ec *evalContext, value []byte) bool {
	t := ins.table
	if t.Kind != catalog.TableKindStream || t.TTLSeconds <= 0 {
		return false
	}
	created, err := ins.codec.decodeValue(value, make([]any, ins.codec.width()))
	if err != nil {
		return false
	}
	return created < ec.now().Add(-time.Duration(t.TTLSeconds)*time.Second).UnixMicro()
}

func (ins *inserter) uniqueViolation(row []any) error {
	t := ins.table
	var names, vals []string
	for _, i := range ins.codec.keyCols {
		names = append(names, t.Columns[i].Name)
		vals = append(vals, formatDatum(row[i], t.Columns[i].Type.OID))
	}
	return pgerror.Newf(pgcode.UniqueViolation, "duplicate key value violates unique constraint \"%s\"", t.PrimaryKeyConstraint()).
		WithDetailf("Key (%s)=(%s) already exists.", joinComma(names), joinComma(vals)).
		WithConstraint(t.Name, t.PrimaryKeyConstraint())
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// notNullViolation is the 23502 error of a row with NULL in a NOT NULL
// column, with the row in its detail as PostgreSQL shows it.
func notNullViolation(t *catalog.TableDescriptor, column string, row []any) error {
	return pgerror.Newf(pgcode.NotNullViolation, "null value in column %q of relation %q violates not-null constraint", column, t.Name).
		WithDetailf("Failing row contains (%s).", formatRow(t, row)).
		WithColumn(t.Name, column)
}

// columnDefaults compiles the DEFAULT expressions of a table.
func (a *analyser) columnDefaults(t *catalog.TableDescriptor) ([]expr, error) {
	out := make([]expr, len(t.Columns))
	for i, c := range t.Columns {
		if c.Default == "" {
			continue
		}
		e, err := a.compileDefault(c)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func (a *analyser) compileDefault(c catalog.ColumnDescriptor) (expr, error) {
	tree, err := pg_query.Parse("SELECT " + c.Default)
	if err != nil {
		return nil, pgerror.Internal("stored default of column %q does not parse: %v", c.Name, err)
	}
	node := tree.Stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val
	b := &builder{sess: a.sess, params: &paramTypes{}, clause: "DEFAULT expressions"}
	e, err := b.build(node)
	if err != nil {
		return nil, err
	}
	return b.coerceForAssignment(e, c.Type, c.Name)
}

func (a *analyser) planUpdate(up *pg_query.UpdateStmt) (*plan, error) {
	if up.WithClause != nil {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "WITH clauses on INSERT, UPDATE and DELETE are not supported")
	}
	t, codec, sc, err := a.targetTable(up.Relation)
	if err != nil {
		return nil, err
	}
	if t.Kind == catalog.TableKindSystem {
		return a.planRestoreUsers(up, t, sc)
	}
	if err := rejectViewWrite(t, "update"); err != nil {
		return nil, err
	}
	if err := a.checkTable(t, security.OpUpdate); err != nil {
		return nil, err
	}
	targetScope := sc
	from, sc, err := a.withFromItems(sc, up.FromClause)
	if err != nil {
		return nil, err
	}
	b := &builder{sess: a.sess, scope: sc, params: a.params, an: a, clause: "UPDATE"}

	var sets []assignment
	assigned := map[string]bool{}
	defaults, err := a.columnDefaults(t)
	if err != nil {
		return nil, err
	}
	for _, n := range up.TargetList {
		rt := n.GetResTarget()
		col := t.ColumnByName(rt.Name)
		if col == nil || col.Hidden {
			return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q of relation %q does not exist", rt.Name, t.Name).WithPosition(rt.Location + 1)
		}
		if len(rt.Indirection) > 0 && rt.Val.GetSetToDefault() != nil {
			return nil, pgerror.NotSupported("assignment of DEFAULT to an array element")
		}
		if assigned[rt.Name] {
			return nil, pgerror.Newf(pgcode.SyntaxError, "multiple assignments to same column %q", rt.Name).WithPosition(rt.Location + 1)
		}
		assigned[rt.Name] = true
		idx := codec.colIndex[col.ID]
		var e expr
		if rt.Val.GetSetToDefault() != nil {
			e = defaults[idx]
			if e == nil {
				e = &constExpr{typ: col.Type}
			}
		} else {
			if col.Identity == catalog.IdentityAlways {
				return nil, pgerror.Newf(pgcode.GeneratedAlways, "column %q can only be updated to DEFAULT", col.Name).
					WithDetailf("Column %q is an identity column defined as GENERATED ALWAYS.", col.Name)
			}
			if e, err = b.build(rt.Val); err != nil {
				return nil, err
			}
			if len(rt.Indirection) > 0 {
				e, err = b.buildArrayAssignment(e, col, idx, rt.Indirection)
			} else {
				e, err = b.coerceForAssignment(e, col.Type, col.Name)
			}
			if err != nil {
				return nil, err
			}
		}
		sets = append(sets, assignment{idx: idx, expr: e})
	}
	// A subquery in SET would see the rows updated before it, so such new
	// rows are all computed before the first is written.
	computeFirst := a.hasSubquery
	filter, err := a.whereFilter(sc, up.WhereClause)
	if err != nil {
		return nil, err
	}
	spec := scanSpec{}
	if from == nil {
		spec = deriveScanSpec(t, codec, filter)
	}
	// NOTE: RETURNING reads only the target table's columns, also with FROM.
	ret, err := a.analyseReturning(up.ReturningList, t, targetScope)
	if err != nil {
		return nil, err
	}
	checks, refs, err := a.writeConstraints(t)
	if err != nil {
		return nil, err
	}
	return dmlPlan(t, ret, "UPDATE", func(ec *evalContext, emit func([]any) error) (int64, error) {
		txn := ec.sess.txn.kv
		owner := ec.actor().ID
		now := ec.now().UnixMicro()
		pending := &fkPending{}
		// write stores the new version of one row.
		write := func(old, updated []any) error {
			if err := checks.check(ec, updated, pending); err != nil {
				return err
			}
			if err := onParentChange(ec, refs, old, updated, pending, 0); err != nil {
				return err
			}
			if err := rewriteRow(txn, codec, old, updated, owner, now); err != nil {
				return err
			}
			return emit(updated)
		}
		var computed [][2][]any
		n, err := forEachTargetRow(ec, codec, spec, filter, from, func(old []any) error {
			updated := append([]any(nil), old[:codec.width()]...)
			for _, s := range sets {
				v, err := s.expr.eval(ec, old)
				if err != nil {
					return err
				}
				updated[s.idx] = v
			}
			if computeFirst {
				// The scan may reuse old for its next row.
				kept := append([]any(nil), old[:codec.width()]...)
				computed = append(computed, [2][]any{kept, updated})
				return nil
			}
			return write(old[:codec.width()], updated)
		})
		if err != nil {
			return 0, err
		}
		for _, c := range computed {
			if err := write(c[0], c[1]); err != nil {
				return 0, err
			}
		}
		return n, pending.run(ec)
	}), nil
}

// forEachTargetRow calls change on each row the statement changes and
// returns their number. A scan of the primary key without FROM items,
// whose filter reads nothing but the row, streams: its iterator does not
// return the writes made after it opened. Otherwise every target row is
// read first, because an index scan looks rows up by key and a subquery
// in the filter reads the table as it is, both of which would see the
// statement's own writes.
func forEachTargetRow(ec *evalContext, codec *rowCodec, spec scanSpec, filter expr, from relation, change func(row []any) error) (int64, error) {
	if from == nil && spec.index == nil && readsOnlyRow(filter) {
		it := newScanIter(ec, codec, spec, filter, scanForWrite)
		defer it.close()
		var n int64
		for {
			row, err := it.next(ec)
			if row == nil || err != nil {
				return n, err
			}
			if err := change(row); err != nil {
				return 0, err
			}
			n++
		}
	}
	rows, err := collectTargetRows(ec, codec, spec, filter, from)
	if err != nil {
		return 0, err
	}
	for _, row := range rows {
		if err := change(row); err != nil {
			return 0, err
		}
	}
	return int64(len(rows)), nil
}

// readsOnlyRow reports whether e is computed from the row, constants and
// parameters alone, through operators and functions.
func readsOnlyRow(e expr) bool {
	switch e.(type) {
	case nil, *columnExpr, *constExpr, *paramExpr:
		return true
	}
	children, known := exprChildren(e)
	if !known {
		return false
	}
	for _, c := range children {
		if !readsOnlyRow(c) {
			return false
		}
	}
	return true
}

// withFromItems adds the FROM items of UPDATE ... FROM or the USING items
// of DELETE ... USING to the target's scope. It returns a nil relation when
// there are none.
func (a *analyser) withFromItems(target *scope, items []*pg_query.Node) (relation, *scope, error) {
	if len(items) == 0 {
		return nil, target, nil
	}
	from, fsc, err := a.analyseFrom(items)
	if err != nil {
		return nil, nil, err
	}
	sc := &scope{parent: a.outer}
	sc.cols = append(append(sc.cols, target.cols...), fsc.cols...)
	return from, sc, nil
}

// collectTargetRows returns the target rows the statement changes, each
// followed by the columns of its first matching row of from when there is
// one. Like PostgreSQL, a target row joined to several FROM rows changes
// once.
func collectTargetRows(ec *evalContext, codec *rowCodec, spec scanSpec, filter expr, from relation) ([][]any, error) {
	if from == nil {
		return collectRows(ec, codec, spec, filter)
	}
	targets, err := collectRows(ec, codec, spec, nil)
	if err != nil {
		return nil, err
	}
	it, err := from.open(ec)
	if err != nil {
		return nil, err
	}
	var others [][]any
	for {
		row, err := it.next(ec)
		if err != nil {
			it.close()
			return nil, err
		}
		if row == nil {
			break
		}
		others = append(others, append([]any(nil), row...))
	}
	it.close()
	var out [][]any
	for _, t := range targets {
		for _, o := range others {
			combined := append(append(make([]any, 0, len(t)+len(o)), t...), o...)
			if filter != nil {
				ok, err := filter.eval(ec, combined)
				if err != nil {
					return nil, err
				}
				if ok != true {
					continue
				}
			}
			out = append(out, combined)
			break
		}
	}
	return out, nil
}

// collectRows reads every row matching filter before any is changed, so an
// UPDATE does not read its own writes.
func collectRows(ec *evalContext, codec *rowCodec, spec scanSpec, filter expr) ([][]any, error) {
	it := newScanIter(ec, codec, spec, filter, scanForWrite)
	defer it.close()
	var rows [][]any
	for {
		row, err := it.next(ec)
		if err != nil {
			return nil, err
		}
		if row == nil {
			return rows, nil
		}
		rows = append(rows, append([]any(nil), row...))
	}
}

func (a *analyser) planDelete(del *pg_query.DeleteStmt) (*plan, error) {
	if del.WithClause != nil {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "WITH clauses on INSERT, UPDATE and DELETE are not supported")
	}
	t, codec, sc, err := a.targetTable(del.Relation)
	if err != nil {
		return nil, err
	}
	if err := rejectViewWrite(t, "delete from"); err != nil {
		return nil, err
	}
	if err := a.checkTable(t, security.OpDelete); err != nil {
		return nil, err
	}
	targetScope := sc
	using, sc, err := a.withFromItems(sc, del.UsingClause)
	if err != nil {
		return nil, err
	}
	filter, err := a.whereFilter(sc, del.WhereClause)
	if err != nil {
		return nil, err
	}
	spec := scanSpec{}
	if using == nil {
		spec = deriveScanSpec(t, codec, filter)
	}
	ret, err := a.analyseReturning(del.ReturningList, t, targetScope)
	if err != nil {
		return nil, err
	}
	refs, err := a.referencingFKs(t)
	if err != nil {
		return nil, err
	}
	return dmlPlan(t, ret, "DELETE", func(ec *evalContext, emit func([]any) error) (int64, error) {
		pending := &fkPending{}
		n, err := forEachTargetRow(ec, codec, spec, filter, using, func(row []any) error {
			if err := onParentChange(ec, refs, row[:codec.width()], nil, pending, 0); err != nil {
				return err
			}
			key, err := codec.encodeKey(row, ec.actor().ID)
			if err != nil {
				return err
			}
			if err := ec.sess.txn.kv.Delete(key); err != nil {
				return err
			}
			if err := codec.deleteIndexEntries(ec.sess.txn.kv, row[:codec.width()], ec.actor().ID); err != nil {
				return err
			}
			return emit(row[:codec.width()])
		})
		if err != nil {
			return 0, err
		}
		return n, pending.run(ec)
	}), nil
}

// targetTable resolves the table a statement reads or writes and builds
// its row codec and the scope its columns are visible in, under the alias
// when one is given.
func (a *analyser) targetTable(rv *pg_query.RangeVar) (*catalog.TableDescriptor, *rowCodec, *scope, error) {
	t, _, err := a.resolveTable(rv)
	if err != nil {
		return nil, nil, nil, err
	}
	alias := t.Name
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	return t, newRowCodec(t), tableScope(t, alias), nil
}

// whereFilter compiles a WHERE clause, or returns nil when there is none.
func (a *analyser) whereFilter(sc *scope, where *pg_query.Node) (expr, error) {
	if where == nil {
		return nil, nil
	}
	b := &builder{sess: a.sess, scope: sc, params: a.params, an: a, clause: "WHERE"}
	filter, err := b.build(where)
	if err != nil {
		return nil, err
	}
	return b.requireBool(filter, "WHERE")
}

// planRestoreUsers handles the one write allowed on a system table:
// UPDATE system.users SET deleted_at = NULL WHERE ..., which restores
// dropped users within the grace period.
func (a *analyser) planRestoreUsers(up *pg_query.UpdateStmt, t *catalog.TableDescriptor, sc *scope) (*plan, error) {
	op := security.OpUpdate
	isRestore := t.ID == systemUsersTableID && len(up.TargetList) == 1
	if isRestore {
		rt := up.TargetList[0].GetResTarget()
		c := rt.Val.GetAConst()
		isRestore = rt.Name == "deleted_at" && c != nil && c.Isnull && len(up.ReturningList) == 0
	}
	if isRestore {
		op = security.OpRestoreUser
	}
	if err := a.checkTable(t, op); err != nil {
		return nil, err
	}
	if !isRestore {
		return nil, pgerror.Newf(pgcode.InsufficientPrivilege, "permission denied for table %s", t.Name).
			WithDetail("The only change allowed on system.users is SET deleted_at = NULL, which restores dropped users.")
	}
	filter, err := a.whereFilter(sc, up.WhereClause)
	if err != nil {
		return nil, err
	}
	return &plan{run: func(ec *evalContext) (*result, error) {
		if err := ec.requireWritable("UPDATE"); err != nil {
			return nil, err
		}
		s := ec.sess
		cat := s.srv.cat
		txn := s.txn.kv
		users, err := cat.Users(txn)
		if err != nil {
			return nil, err
		}
		var restored int64
		for _, u := range users {
			if u.Active() {
				continue
			}
			if filter != nil {
				ok, err := filter.eval(ec, userRow(u))
				if err != nil {
					return nil, err
				}
				if ok != true {
					continue
				}
			}
			if err := security.CheckUserChange(subjectOf(ec.actor()), subjectOf(u), security.UserChange{}, 0); err != nil {
				return nil, err
			}
			if err := cat.RestoreUser(txn, u); err != nil {
				return nil, err
			}
			if err := ec.audit("restore user", u.Name, ""); err != nil {
				return nil, err
			}
			restored++
		}
		return &result{tag: "UPDATE " + strconv.FormatInt(restored, 10)}, nil
	}}, nil
}

// rejectViewWrite fails for DML on a view, which pgkeep does not update
// through, and on a sequence.
func rejectViewWrite(t *catalog.TableDescriptor, action string) error {
	if t.Kind == catalog.TableKindSequence {
		return pgerror.Newf(pgcode.WrongObjectType, "cannot change sequence %q", t.Name)
	}
	if t.Kind != catalog.TableKindView {
		return nil
	}
	return pgerror.Newf(pgcode.FeatureNotSupported, "cannot %s view %q", action, t.Name).
		WithDetail("pgkeep views are read-only.")
}

// rewriteRow replaces the stored row old with updated, moving it when its
// primary key changed and keeping the secondary indexes in step.
// NOTE: rewriting a STREAM row restarts its TTL.
func rewriteRow(txn kv.Txn, codec *rowCodec, old, updated []any, owner uint32, now int64) error {
	t := codec.table
	for i, c := range t.Columns {
		if updated[i] == nil && c.NotNull {
			return notNullViolation(t, c.Name, updated)
		}
	}
	oldKey, err := codec.encodeKey(old, owner)
	if err != nil {
		return err
	}
	newKey, err := codec.encodeKey(updated, owner)
	if err != nil {
		return err
	}
	if string(oldKey) != string(newKey) {
		if _, exists, err := txn.Get(newKey); err != nil {
			return err
		} else if exists {
			return (&inserter{table: t, codec: codec}).uniqueViolation(updated)
		}
		if err := txn.Delete(oldKey); err != nil {
			return err
		}
	}
	if err := codec.deleteIndexEntries(txn, old, owner); err != nil {
		return err
	}
	if err := codec.putIndexEntries(txn, updated, owner); err != nil {
		return err
	}
	val, err := codec.encodeValue(nil, updated, now)
	if err != nil {
		return err
	}
	return txn.Put(newKey, val)
}
