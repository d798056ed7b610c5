package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// onConflict is the analysed ON CONFLICT clause of an INSERT.
type onConflict struct {
	nothing bool
	// arbiters are the unique indexes whose conflicts the clause handles;
	// nil stands for the primary key. all marks DO NOTHING without a
	// target, which handles every unique index and the primary key.
	arbiters   []*indexCodec
	primaryKey bool
	all        bool
	// sets and where are compiled over the existing row followed by the
	// proposed row, which SQL calls EXCLUDED.
	sets  []assignment
	where expr
}

// assignment is one SET column = expression of UPDATE or DO UPDATE.
type assignment struct {
	idx  int
	expr expr
}

// analyseOnConflict compiles ON CONFLICT for table t.
func (a *analyser) analyseOnConflict(oc *pg_query.OnConflictClause, t *catalog.TableDescriptor, codec *rowCodec) (*onConflict, error) {
	out := &onConflict{nothing: oc.Action == pg_query.OnConflictAction_ONCONFLICT_NOTHING}
	if oc.Infer == nil {
		if !out.nothing {
			return nil, pgerror.New(pgcode.SyntaxError, "ON CONFLICT DO UPDATE requires inference specification or constraint name").
				WithHint("For example, ON CONFLICT (column_name).")
		}
		out.all = true
		return out, nil
	}
	if oc.Infer.Conname != "" {
		if primaryKeyIndex(t) && oc.Infer.Conname == t.PrimaryKeyConstraint() {
			out.primaryKey = true
		} else if ix := t.IndexByName(oc.Infer.Conname); ix != nil && ix.Unique {
			out.arbiters = append(out.arbiters, codecOfIndex(codec, ix.ID))
		} else {
			return nil, pgerror.Newf(pgcode.UndefinedObject, "constraint %q for table %q does not exist", oc.Infer.Conname, t.Name)
		}
	} else {
		var cols []uint32
		for _, n := range oc.Infer.IndexElems {
			elem := n.GetIndexElem()
			col := t.ColumnByName(elem.Name)
			if elem.Expr != nil || col == nil {
				return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q does not exist", elem.Name)
			}
			cols = append(cols, col.ID)
		}
		switch {
		case sameColumnSet(cols, t.PrimaryKey):
			out.primaryKey = true
		default:
			for i := range t.Indexes {
				if ix := &t.Indexes[i]; ix.Unique && sameColumnSet(cols, ix.Columns) {
					out.arbiters = append(out.arbiters, codecOfIndex(codec, ix.ID))
				}
			}
		}
		if !out.primaryKey && len(out.arbiters) == 0 {
			return nil, pgerror.New(pgcode.InvalidColumnReference, "there is no unique or exclusion constraint matching the ON CONFLICT specification")
		}
	}
	if out.nothing {
		return out, nil
	}

	// DO UPDATE SET ... WHERE ... reads the existing row by the table's
	// name and the proposed one as EXCLUDED.
	sc := tableScope(t, t.Name)
	excluded := tableScope(t, "excluded")
	sc.cols = append(sc.cols, excluded.cols...)
	sc.parent = a.outer
	b := &builder{sess: a.sess, scope: sc, params: a.params, an: a, clause: "ON CONFLICT DO UPDATE"}
	seen := map[string]bool{}
	for _, n := range oc.TargetList {
		rt := n.GetResTarget()
		col := t.ColumnByName(rt.Name)
		if col == nil || col.Hidden {
			return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q of relation %q does not exist", rt.Name, t.Name)
		}
		if seen[rt.Name] {
			return nil, pgerror.Newf(pgcode.SyntaxError, "multiple assignments to same column %q", rt.Name)
		}
		seen[rt.Name] = true
		e, err := b.build(rt.Val)
		if err != nil {
			return nil, err
		}
		if e, err = b.coerceForAssignment(e, col.Type, col.Name); err != nil {
			return nil, err
		}
		out.sets = append(out.sets, assignment{idx: codec.colIndex[col.ID], expr: e})
	}
	if oc.WhereClause != nil {
		w, err := b.build(oc.WhereClause)
		if err != nil {
			return nil, err
		}
		if out.where, err = b.requireBool(w, "WHERE"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func codecOfIndex(codec *rowCodec, id uint32) *indexCodec {
	for _, ic := range codec.indexCodecs() {
		if ic.desc.ID == id {
			return ic
		}
	}
	return nil
}

func sameColumnSet(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[uint32]bool{}
	for _, x := range a {
		set[x] = true
	}
	for _, x := range b {
		if !set[x] {
			return false
		}
	}
	return true
}

// conflictingRow returns the stored row that the proposed row collides
// with on one of the clause's arbiters, or nil.
func (oc *onConflict) conflictingRow(ec *evalContext, codec *rowCodec, row []any) ([]any, error) {
	txn := ec.sess.txn.kv
	owner := ec.actor().ID
	load := func(key []byte) ([]any, error) {
		value, found, err := txn.Get(key)
		if err != nil || !found {
			return nil, err
		}
		existing := make([]any, codec.width())
		if _, err := codec.decodeValue(value, existing); err != nil {
			return nil, err
		}
		if codec.perUser {
			existing[codec.ownerSlot()] = ec.actor().Name
		}
		return existing, nil
	}
	if oc.primaryKey || oc.all {
		key, err := codec.encodeKey(row, owner)
		if err != nil {
			return nil, err
		}
		if existing, err := load(key); err != nil || existing != nil {
			return existing, err
		}
	}
	arbiters := oc.arbiters
	if oc.all {
		arbiters = nil
		for _, ic := range codec.indexCodecs() {
			if ic.desc.Unique {
				arbiters = append(arbiters, ic)
			}
		}
	}
	pk, err := codec.pkSuffix(row)
	if err != nil {
		return nil, err
	}
	for _, ic := range arbiters {
		key, unique, err := ic.entry(codec, row, owner, pk)
		if err != nil {
			return nil, err
		}
		if !unique {
			// A NULL in the indexed values never conflicts.
			continue
		}
		entry, found, err := txn.Get(key)
		if err != nil {
			return nil, err
		}
		if found {
			rowKey := append(append([]byte(nil), codec.rowsPrefix(owner)...), entry...)
			return load(rowKey)
		}
	}
	return nil, nil
}

// apply handles a proposed row that collides with existing. It returns
// the row to report for RETURNING, or nil when the row is skipped.
func (oc *onConflict) apply(ec *evalContext, ins *inserter, existing, proposed []any) ([]any, error) {
	codec, touched := ins.codec, ins.touched
	if oc.nothing {
		return nil, nil
	}
	key, err := codec.encodeKey(existing, ec.actor().ID)
	if err != nil {
		return nil, err
	}
	if touched[string(key)] {
		return nil, pgerror.New(pgcode.CardinalityViolation, "ON CONFLICT DO UPDATE command cannot affect row a second time").
			WithHint("Ensure that no rows proposed for insertion within the same command have duplicate constrained values.")
	}
	combined := append(append(make([]any, 0, 2*len(existing)), existing...), proposed...)
	if oc.where != nil {
		ok, err := oc.where.eval(ec, combined)
		if err != nil {
			return nil, err
		}
		if ok != true {
			return nil, nil
		}
	}
	updated := append([]any(nil), existing...)
	for _, s := range oc.sets {
		v, err := s.expr.eval(ec, combined)
		if err != nil {
			return nil, err
		}
		updated[s.idx] = v
	}
	if err := ins.checks.check(ec, updated, ins.pending); err != nil {
		return nil, err
	}
	if err := onParentChange(ec, ins.refs, existing, updated, ins.pending, 0); err != nil {
		return nil, err
	}
	if err := rewriteRow(ec.sess.txn.kv, codec, existing, updated, ec.actor().ID, ec.now().UnixMicro()); err != nil {
		return nil, err
	}
	newKey, err := codec.encodeKey(updated, ec.actor().ID)
	if err != nil {
		return nil, err
	}
	touched[string(newKey)] = true
	return updated, nil
}
