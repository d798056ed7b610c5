package executor

import (
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// rowChecks holds the compiled constraints a written row must satisfy:
// CHECK conditions and the foreign keys this table declares.
type rowChecks struct {
	table  *catalog.TableDescriptor
	checks []compiledCheck
	fks    []*fkRef
}

type compiledCheck struct {
	name string
	cond expr
}

// fkRef is a foreign key resolved against its tables.
type fkRef struct {
	fk     catalog.ForeignKey
	child  *catalog.TableDescriptor
	parent *catalog.TableDescriptor
	// childCols and parentCols are row positions in each table.
	childCols, parentCols []int
	parentCodec           *rowCodec
	childCodec            *rowCodec
	// parentIndex is the unique index of the referenced columns, or nil
	// when they are the parent's primary key.
	parentIndex *indexCodec
	// keyOrder maps the columns of that key, in key order, to positions
	// in the foreign key, for a foreign key that lists them in another
	// order. It is nil when the orders agree.
	keyOrder []int
}

// compileRowChecks compiles the CHECK constraints and foreign keys of t.
func (a *analyser) compileRowChecks(t *catalog.TableDescriptor) (*rowChecks, error) {
	rc := &rowChecks{table: t}
	for _, c := range t.Checks {
		cc, err := a.compileCheck(t, c)
		if err != nil {
			return nil, err
		}
		rc.checks = append(rc.checks, cc)
	}
	for _, fk := range t.ForeignKeys {
		ref, err := a.resolveFK(t, fk)
		if err != nil {
			return nil, err
		}
		rc.fks = append(rc.fks, ref)
	}
	return rc, nil
}

// compileCheck compiles the stored condition of a CHECK constraint.
func (a *analyser) compileCheck(t *catalog.TableDescriptor, c catalog.CheckConstraint) (compiledCheck, error) {
	tree, err := pg_query.Parse("SELECT " + c.Expr)
	if err != nil {
		return compiledCheck{}, pgerror.Internal("stored check constraint %q does not parse: %v", c.Name, err)
	}
	b := &builder{sess: a.sess, scope: tableScope(t, t.Name), params: &paramTypes{}, clause: "check constraints"}
	e, err := b.build(tree.Stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val)
	if err != nil {
		return compiledCheck{}, err
	}
	return compiledCheck{name: c.Name, cond: e}, nil
}

func (a *analyser) resolveFK(child *catalog.TableDescriptor, fk catalog.ForeignKey) (*fkRef, error) {
	parent := child
	if fk.RefTable != child.ID {
		var err error
		if parent, err = a.sess.srv.cat.TableByID(a.txn, fk.RefTable); err != nil {
			return nil, err
		}
		if parent == nil {
			return nil, pgerror.Internal("table of foreign key %q is gone", fk.Name)
		}
	}
	ref := &fkRef{fk: fk, child: child, parent: parent, childCodec: newRowCodec(child), parentCodec: newRowCodec(parent)}
	for _, id := range fk.Columns {
		ref.childCols = append(ref.childCols, ref.childCodec.colIndex[id])
	}
	for _, id := range fk.RefColumns {
		ref.parentCols = append(ref.parentCols, ref.parentCodec.colIndex[id])
	}
	// Like PostgreSQL, take a unique key over the same set of columns in
	// any order, preferring the primary key and then one in the same
	// order.
	key := parent.PrimaryKey
	if !sameColumnSet(fk.RefColumns, key) {
		for _, ic := range ref.parentCodec.indexCodecs() {
			if !ic.desc.Unique || !sameColumnSet(ic.desc.Columns, fk.RefColumns) {
				continue
			}
			if ref.parentIndex == nil || sameOrder(ic.desc.Columns, fk.RefColumns) {
				ref.parentIndex, key = ic, ic.desc.Columns
			}
		}
		if ref.parentIndex == nil {
			return nil, pgerror.Newf(pgcode.InvalidForeignKey, "there is no unique constraint matching given keys for referenced table %q", parent.Name)
		}
	}
	if !sameOrder(key, fk.RefColumns) {
		for _, id := range key {
			ref.keyOrder = append(ref.keyOrder, slices.Index(fk.RefColumns, id))
		}
	}
	return ref, nil
}

func sameOrder(a, b []uint32) bool {
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

// check verifies a new or changed row against the CHECK constraints and
// queues it for the foreign key checks, which run when the statement has
// written all its rows, as PostgreSQL's constraint triggers do.
func (rc *rowChecks) check(ec *evalContext, row []any, pending *fkPending) error {
	if rc == nil {
		return nil
	}
	for _, c := range rc.checks {
		ok, err := c.cond.eval(ec, row)
		if err != nil {
			return err
		}
		if ok == false {
			return pgerror.Newf(pgcode.CheckViolation, "new row for relation %q violates check constraint %q", rc.table.Name, c.name).
				WithDetailf("Failing row contains (%s).", formatRow(rc.table, row)).
				WithConstraint(rc.table.Name, c.name)
		}
	}
	for _, fk := range rc.fks {
		pending.children = append(pending.children, fkRow{fk: fk, row: row})
	}
	return nil
}

// fkPending holds the foreign key checks of one statement.
type fkPending struct {
	// children are written rows whose parent key must exist.
	children []fkRow
	// parents are removed or changed parent rows that no child row may
	// still reference (NO ACTION and RESTRICT).
	parents []fkRow
}

type fkRow struct {
	fk  *fkRef
	row []any
	// restrict marks a RESTRICT action, which unlike NO ACTION does not
	// accept a parent key that another row took back.
	restrict bool
}

// run performs the queued checks against the statement's final writes.
func (p *fkPending) run(ec *evalContext) error {
	for _, c := range p.children {
		if err := c.fk.checkParentExists(ec, c.row, ec.actor().ID); err != nil {
			return err
		}
	}
	for _, r := range p.parents {
		vals := make([]any, len(r.fk.parentCols))
		for i, pos := range r.fk.parentCols {
			vals[i] = r.row[pos]
		}
		// Under NO ACTION another row may have taken the key meanwhile.
		if !r.restrict {
			if back, err := r.fk.parentHas(ec.sess.txn.kv, ec.actor().ID, vals); err != nil || back {
				if err != nil {
					return err
				}
				continue
			}
		}
		children, err := r.fk.childRows(ec, r.row)
		if err != nil {
			return err
		}
		if len(children) > 0 {
			return r.fk.stillReferenced(r.row)
		}
	}
	return nil
}

// formatRow prints a row's visible columns as PostgreSQL's "Failing row
// contains" detail does.
func formatRow(t *catalog.TableDescriptor, row []any) string {
	var parts []string
	for i, c := range t.Columns {
		if c.Hidden {
			continue
		}
		if row[i] == nil {
			parts = append(parts, "null")
			continue
		}
		parts = append(parts, textOf(row[i], c.Type.OID))
	}
	return strings.Join(parts, ", ")
}

// checkParentExists fails with 23503 when a child row references a parent
// key that does not exist. Under MATCH SIMPLE a NULL in the key skips the
// check. Under MATCH FULL a key of only NULLs skips it, and a key with
// both NULLs and values fails.
func (fk *fkRef) checkParentExists(ec *evalContext, row []any, owner uint32) error {
	nulls := 0
	for _, pos := range fk.childCols {
		if row[pos] == nil {
			nulls++
		}
	}
	switch {
	case nulls == 0:
	case fk.fk.Match != catalog.FKMatchFull || nulls == len(fk.childCols):
		return nil
	default:
		return pgerror.Newf(pgcode.ForeignKeyViolation, "insert or update on table %q violates foreign key constraint %q", fk.child.Name, fk.fk.Name).
			WithDetail("MATCH FULL does not allow mixing of null and nonnull key values.").
			WithConstraint(fk.child.Name, fk.fk.Name)
	}
	vals := make([]any, len(fk.childCols))
	for i, pos := range fk.childCols {
		v, err := castDatum(row[pos], fk.child.Columns[pos].Type.OID, fk.parent.Columns[fk.parentCols[i]].Type, false, ec.sess.location())
		if err != nil {
			return err
		}
		vals[i] = v
	}
	found, err := fk.parentHas(ec.sess.txn.kv, owner, vals)
	if err != nil || found {
		return err
	}
	return pgerror.Newf(pgcode.ForeignKeyViolation, "insert or update on table %q violates foreign key constraint %q", fk.child.Name, fk.fk.Name).
		WithDetailf("Key (%s)=(%s) is not present in table %q.", columnNames(fk.child, fk.childCols), formatValues(fk.child, fk.childCols, row), fk.parent.Name).
		WithConstraint(fk.child.Name, fk.fk.Name)
}

// parentHas reports whether the parent table has a row with the key, among
// owner's rows when the parent is a per-user table.
func (fk *fkRef) parentHas(txn kv.Txn, owner uint32, vals []any) (bool, error) {
	pc := fk.parentCodec
	cols := fk.parentCols
	if fk.keyOrder != nil {
		keyVals, keyCols := make([]any, len(vals)), make([]int, len(vals))
		for j, i := range fk.keyOrder {
			keyVals[j], keyCols[j] = vals[i], fk.parentCols[i]
		}
		vals, cols = keyVals, keyCols
	}
	if fk.parentIndex == nil {
		key, err := pc.encodeKeyPrefix(vals, owner)
		if err != nil {
			return false, err
		}
		_, found, err := txn.Get(key)
		return found, err
	}
	key := append([]byte(nil), fk.parentIndex.entryPrefix(pc, owner)...)
	for i, v := range vals {
		var err error
		if key, err = encodeKeyDatum(key, v, fk.parent.Columns[cols[i]].Type.OID); err != nil {
			return false, err
		}
	}
	_, found, err := txn.Get(key)
	return found, err
}

func columnNames(t *catalog.TableDescriptor, cols []int) string {
	names := make([]string, len(cols))
	for i, pos := range cols {
		names[i] = t.Columns[pos].Name
	}
	return strings.Join(names, ", ")
}

func formatValues(t *catalog.TableDescriptor, cols []int, row []any) string {
	vals := make([]string, len(cols))
	for i, pos := range cols {
		vals[i] = textOf(row[pos], t.Columns[pos].Type.OID)
	}
	return strings.Join(vals, ", ")
}

// writeConstraints compiles what a write to t must enforce: its own CHECK
// constraints and foreign keys, and the foreign keys that reference it.
func (a *analyser) writeConstraints(t *catalog.TableDescriptor) (*rowChecks, []*fkRef, error) {
	checks, err := a.compileRowChecks(t)
	if err != nil {
		return nil, nil, err
	}
	refs, err := a.referencingFKs(t)
	if err != nil {
		return nil, nil, err
	}
	return checks, refs, nil
}

// referencingFKs returns the foreign keys of every table that reference t.
func (a *analyser) referencingFKs(t *catalog.TableDescriptor) ([]*fkRef, error) {
	tables, err := a.sess.srv.cat.StoredTables(a.txn)
	if err != nil {
		return nil, err
	}
	var out []*fkRef
	for _, child := range tables {
		for _, fk := range child.ForeignKeys {
			if fk.RefTable != t.ID {
				continue
			}
			ref, err := a.resolveFK(child, fk)
			if err != nil {
				return nil, err
			}
			if child.ID == t.ID {
				// A self reference uses the descriptor this statement planned with.
				ref.child, ref.parent = t, t
			}
			out = append(out, ref)
		}
	}
	return out, nil
}

// childRows returns the rows of the child table whose foreign key holds
// the parent row's referenced values.
func (fk *fkRef) childRows(ec *evalContext, parentRow []any) ([][]any, error) {
	txn := ec.sess.txn.kv
	cc := fk.childCodec
	prefix := cc.rowsPrefix(ec.actor().ID)
	it, err := txn.NewIterator(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		return nil, err
	}
	var out [][]any
	for ok := it.First(); ok; ok = it.Next() {
		row := make([]any, cc.width())
		if _, err := cc.decodeValue(it.Value(), row); err != nil {
			_ = it.Close()
			return nil, err
		}
		match := true
		for i, pos := range fk.childCols {
			pv := parentRow[fk.parentCols[i]]
			if row[pos] == nil || pv == nil || compareTyped(row[pos], pv, fk.child.Columns[pos].Type.OID) != 0 {
				match = false
				break
			}
		}
		if match {
			if cc.perUser {
				row[cc.ownerSlot()] = ec.actor().Name
			}
			out = append(out, row)
		}
	}
	return out, it.Close()
}

// onParentChange applies the foreign keys that reference a parent row
// being deleted (newRow nil) or updated. NO ACTION and RESTRICT queue a
// check that no child row remains; CASCADE deletes or updates them; SET NULL clears
// their key.
func onParentChange(ec *evalContext, refs []*fkRef, oldRow, newRow []any, pending *fkPending, depth int) error {
	if depth > 64 {
		return pgerror.New(pgcode.ProgramLimitExceeded, "foreign key cascades nest too deeply")
	}
	for _, fk := range refs {
		if newRow != nil {
			changed := false
			for _, pos := range fk.parentCols {
				if compareNullable(oldRow[pos], newRow[pos]) != 0 {
					changed = true
				}
			}
			if !changed {
				continue
			}
		}
		action := fk.fk.OnDelete
		if newRow != nil {
			action = fk.fk.OnUpdate
		}
		if action == catalog.FKNoAction || action == catalog.FKRestrict {
			pending.parents = append(pending.parents, fkRow{fk: fk, row: oldRow, restrict: action == catalog.FKRestrict})
			continue
		}
		children, err := fk.childRows(ec, oldRow)
		if err != nil {
			return err
		}
		if len(children) == 0 {
			continue
		}
		switch action {
		case catalog.FKCascade:
			if err := cascade(ec, fk, children, newRow, pending, depth); err != nil {
				return err
			}
		case catalog.FKSetNull:
			if err := setChildKeys(ec, fk, children, nil, pending, depth); err != nil {
				return err
			}
		case catalog.FKSetDefault:
			return pgerror.NotSupported("SET DEFAULT foreign key actions")
		}
	}
	return nil
}

// stillReferenced is the error for a parent row that child rows still
// reference.
func (fk *fkRef) stillReferenced(parentRow []any) error {
	return pgerror.Newf(pgcode.ForeignKeyViolation, "update or delete on table %q violates foreign key constraint %q on table %q", fk.parent.Name, fk.fk.Name, fk.child.Name).
		WithDetailf("Key (%s)=(%s) is still referenced from table %q.", columnNames(fk.parent, fk.parentCols), formatValues(fk.parent, fk.parentCols, parentRow), fk.child.Name).
		WithConstraint(fk.child.Name, fk.fk.Name)
}

func compareNullable(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil || b == nil:
		return 1
	}
	return compareDatums(a, b)
}

// cascade deletes the child rows (newParent nil) or moves their keys to
// the parent's new values.
func cascade(ec *evalContext, fk *fkRef, children [][]any, newParent []any, pending *fkPending, depth int) error {
	if newParent != nil {
		vals := make([]any, len(fk.parentCols))
		for i, pos := range fk.parentCols {
			vals[i] = newParent[pos]
		}
		return setChildKeys(ec, fk, children, vals, pending, depth)
	}
	an := &analyser{sess: ec.sess, txn: ec.sess.txn.kv}
	grandchildren, err := an.referencingFKs(fk.child)
	if err != nil {
		return err
	}
	txn := ec.sess.txn.kv
	owner := ec.actor().ID
	for _, row := range children {
		if err := onParentChange(ec, grandchildren, row, nil, pending, depth+1); err != nil {
			return err
		}
		key, err := fk.childCodec.encodeKey(row, owner)
		if err != nil {
			return err
		}
		if err := txn.Delete(key); err != nil {
			return err
		}
		if err := fk.childCodec.deleteIndexEntries(txn, row, owner); err != nil {
			return err
		}
	}
	return nil
}

// setChildKeys sets the foreign key columns of the child rows to vals, or
// to NULL when vals is nil.
func setChildKeys(ec *evalContext, fk *fkRef, children [][]any, vals []any, pending *fkPending, depth int) error {
	an := &analyser{sess: ec.sess, txn: ec.sess.txn.kv}
	grandchildren, err := an.referencingFKs(fk.child)
	if err != nil {
		return err
	}
	for _, row := range children {
		updated := append([]any(nil), row...)
		for i, pos := range fk.childCols {
			if vals == nil {
				updated[pos] = nil
			} else {
				updated[pos] = vals[i]
			}
		}
		if err := onParentChange(ec, grandchildren, row, updated, pending, depth+1); err != nil {
			return err
		}
		if err := rewriteRow(ec.sess.txn.kv, fk.childCodec, row, updated, ec.actor().ID, ec.now().UnixMicro()); err != nil {
			return err
		}
	}
	return nil
}
