package executor

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// This file plans CREATE, ALTER and DROP SEQUENCE. A sequence is a
// descriptor of kind "sequence" in its schema's name space, so it collides
// with tables and views of the same name as in PostgreSQL. Its state
// (last_value, is_called) is kept by the catalog outside transactions; see
// catalog.NextValue. sequence_funcs.go implements nextval and friends.

// sequenceColumns are the columns SELECT * FROM a sequence returns.
var sequenceColumns = virtualColumns(col("last_value", oidInt8), col("log_cnt", oidInt8), col("is_called", oidBool))

// sequenceOptionSet holds the options of CREATE or ALTER SEQUENCE as
// written; nil fields were not given.
type sequenceOptionSet struct {
	as                 *pg_query.TypeName
	increment, cache   *int64
	minValue, maxValue *int64
	// noMin and noMax are set by NO MINVALUE and NO MAXVALUE.
	noMin, noMax bool
	start        *int64
	// restart is set by RESTART, and restartValue by RESTART WITH n.
	restart      bool
	restartValue *int64
	cycle        *bool
	// ownedBy is the name list of OWNED BY, nil when not given.
	ownedBy []string
}

// parseSequenceOptions reads the DefElem options of CREATE or ALTER
// SEQUENCE. A repeated option fails with 42601, as in PostgreSQL.
func parseSequenceOptions(options []*pg_query.Node, alter bool) (*sequenceOptionSet, error) {
	o := &sequenceOptionSet{}
	seen := map[string]bool{}
	for _, n := range options {
		de := n.GetDefElem()
		if de == nil {
			continue
		}
		if seen[de.Defname] {
			return nil, pgerror.New(pgcode.SyntaxError, "conflicting or redundant options").WithPosition(de.Location + 1)
		}
		seen[de.Defname] = true
		var err error
		switch de.Defname {
		case "as":
			o.as = de.Arg.GetTypeName()
		case "increment":
			o.increment, err = int64Option(de)
		case "minvalue":
			if de.Arg == nil {
				o.noMin = true
			} else {
				o.minValue, err = int64Option(de)
			}
		case "maxvalue":
			if de.Arg == nil {
				o.noMax = true
			} else {
				o.maxValue, err = int64Option(de)
			}
		case "start":
			o.start, err = int64Option(de)
		case "restart":
			if !alter {
				return nil, pgerror.New(pgcode.SyntaxError, "RESTART option not allowed in CREATE SEQUENCE").WithPosition(de.Location + 1)
			}
			o.restart = true
			if de.Arg != nil {
				o.restartValue, err = int64Option(de)
			}
		case "cache":
			o.cache, err = int64Option(de)
		case "cycle":
			cycle := de.Arg.GetBoolean().GetBoolval()
			o.cycle = &cycle
		case "owned_by":
			for _, item := range de.Arg.GetList().GetItems() {
				o.ownedBy = append(o.ownedBy, item.GetString_().GetSval())
			}
		default:
			return nil, pgerror.NotSupported(fmt.Sprintf("sequence option %q", de.Defname)).WithPosition(de.Location + 1)
		}
		if err != nil {
			return nil, err
		}
	}
	return o, nil
}

// int64Option reads a numeric option as bigint, failing like PostgreSQL's
// int8 input for fractions and out-of-range values.
func int64Option(de *pg_query.DefElem) (*int64, error) {
	switch {
	case de.Arg.GetInteger() != nil:
		v := int64(de.Arg.GetInteger().GetIval())
		return &v, nil
	case de.Arg.GetFloat() != nil:
		s := de.Arg.GetFloat().GetFval()
		v, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return &v, nil
		}
		if strings.ContainsAny(s, ".eE") {
			return nil, invalidInput(oidInt8, s)
		}
		return nil, pgerror.Newf(pgcode.NumericValueOutOfRange, "value %q is out of range for type bigint", s)
	}
	return nil, pgerror.Newf(pgcode.SyntaxError, "%s requires a numeric value", de.Defname)
}

// sequenceTypeRange returns the bounds of a sequence data type.
func sequenceTypeRange(oid uint32) (lo, hi int64) {
	switch oid {
	case oidInt2:
		return math.MinInt16, math.MaxInt16
	case oidInt4:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// applySequenceOptions computes the options of a sequence from the options
// as written and, for ALTER SEQUENCE, the current ones (old). It checks
// them in PostgreSQL's order and with its messages. current is the
// sequence's last_value, which new bounds must still contain. restart is
// the value RESTART sets, or nil.
func applySequenceOptions(o *sequenceOptionSet, old *catalog.SequenceOptions, current int64) (opts catalog.SequenceOptions, restart *int64, err error) {
	create := old == nil
	opts, resetMin, resetMax, err := sequenceTypeAndIncrement(o, old)
	if err != nil {
		return opts, nil, err
	}
	if err := applySequenceBounds(&opts, o, create, resetMin, resetMax); err != nil {
		return opts, nil, err
	}

	switch {
	case o.start != nil:
		opts.Start = *o.start
	case create && opts.Increment > 0:
		opts.Start = opts.Min
	case create:
		opts.Start = opts.Max
	}
	if opts.Start < opts.Min {
		return opts, nil, pgerror.Newf(pgcode.InvalidParameterValue, "START value (%d) cannot be less than MINVALUE (%d)", opts.Start, opts.Min)
	}
	if opts.Start > opts.Max {
		return opts, nil, pgerror.Newf(pgcode.InvalidParameterValue, "START value (%d) cannot be greater than MAXVALUE (%d)", opts.Start, opts.Max)
	}

	// The RESTART value, or else the current value, must lie within the
	// new bounds.
	if o.restart {
		v := opts.Start
		if o.restartValue != nil {
			v = *o.restartValue
		}
		restart, current = &v, v
	}
	if !create && current < opts.Min {
		return opts, nil, pgerror.Newf(pgcode.InvalidParameterValue, "RESTART value (%d) cannot be less than MINVALUE (%d)", current, opts.Min)
	}
	if !create && current > opts.Max {
		return opts, nil, pgerror.Newf(pgcode.InvalidParameterValue, "RESTART value (%d) cannot be greater than MAXVALUE (%d)", current, opts.Max)
	}

	if o.cache != nil {
		if *o.cache <= 0 {
			return opts, nil, pgerror.Newf(pgcode.InvalidParameterValue, "CACHE (%d) must be greater than zero", *o.cache)
		}
		opts.Cache = *o.cache
	}
	return opts, restart, nil
}

// sequenceTypeAndIncrement applies AS, INCREMENT and CYCLE to the default
// options (CREATE, old nil) or to old. resetMin and resetMax report that
// AS changed the type of a sequence whose bound was the old type's limit,
// so the bound moves to the new type's limit.
func sequenceTypeAndIncrement(o *sequenceOptionSet, old *catalog.SequenceOptions) (opts catalog.SequenceOptions, resetMin, resetMax bool, err error) {
	if old == nil {
		opts = catalog.SequenceOptions{TypeOID: oidInt8, Increment: 1, Cache: 1}
	} else {
		opts = *old
	}
	if o.as != nil {
		typ, _, err := resolveTypeName(o.as)
		if err != nil {
			return opts, false, false, err
		}
		if typ.OID != oidInt2 && typ.OID != oidInt4 && typ.OID != oidInt8 {
			return opts, false, false, pgerror.New(pgcode.InvalidParameterValue, "sequence type must be smallint, integer, or bigint")
		}
		if old != nil {
			lo, hi := sequenceTypeRange(opts.TypeOID)
			resetMin, resetMax = opts.Min == lo, opts.Max == hi
		}
		opts.TypeOID = typ.OID
	}
	if o.increment != nil {
		if *o.increment == 0 {
			return opts, false, false, pgerror.New(pgcode.InvalidParameterValue, "INCREMENT must not be zero")
		}
		opts.Increment = *o.increment
	}
	if o.cycle != nil {
		opts.Cycle = *o.cycle
	}
	return opts, resetMin, resetMax, nil
}

// applySequenceBounds sets MINVALUE and MAXVALUE. A bound not given, or
// given as NO MINVALUE or NO MAXVALUE, gets PostgreSQL's default, which
// depends on the direction of the increment.
func applySequenceBounds(opts *catalog.SequenceOptions, o *sequenceOptionSet, create, resetMin, resetMax bool) error {
	lo, hi := sequenceTypeRange(opts.TypeOID)
	switch {
	case o.maxValue != nil:
		opts.Max = *o.maxValue
	case create || o.noMax || resetMax:
		opts.Max = -1
		if opts.Increment > 0 || resetMax {
			opts.Max = hi
		}
	}
	if opts.Max < lo || opts.Max > hi {
		return pgerror.Newf(pgcode.InvalidParameterValue, "MAXVALUE (%d) is out of range for sequence data type %s", opts.Max, typeName(opts.TypeOID))
	}

	switch {
	case o.minValue != nil:
		opts.Min = *o.minValue
	case create || o.noMin || resetMin:
		opts.Min = 1
		if opts.Increment < 0 || resetMin {
			opts.Min = lo
		}
	}
	if opts.Min < lo || opts.Min > hi {
		return pgerror.Newf(pgcode.InvalidParameterValue, "MINVALUE (%d) is out of range for sequence data type %s", opts.Min, typeName(opts.TypeOID))
	}
	if opts.Min >= opts.Max {
		return pgerror.Newf(pgcode.InvalidParameterValue, "MINVALUE (%d) must be less than MAXVALUE (%d)", opts.Min, opts.Max)
	}
	return nil
}

func (a *analyser) planCreateSequence(cs *pg_query.CreateSeqStmt) (*plan, error) {
	rv := cs.Sequence
	temporary := isTemporaryRelation(rv)
	if temporary {
		if err := checkTemporaryTarget(rv); err != nil {
			return nil, err
		}
	} else if err := a.checkCreateIn(rv); err != nil {
		return nil, err
	}
	if cs.ForIdentity {
		return nil, pgerror.NotSupported("CREATE SEQUENCE for an identity column")
	}
	o, err := parseSequenceOptions(cs.Options, false)
	if err != nil {
		return nil, err
	}
	opts, _, err := applySequenceOptions(o, nil, 0)
	if err != nil {
		return nil, err
	}
	schemaName := rv.Schemaname
	if schemaName == "" && !temporary {
		if schemaName = a.sess.currentSchema(); schemaName == "" {
			return nil, pgerror.New(pgcode.InvalidSchemaName, "no schema has been selected to create in")
		}
	}
	return writePlan("CREATE SEQUENCE", func(ec *evalContext) error {
		cat := ec.sess.srv.cat
		txn := ec.sess.txn.kv
		var schema *catalog.SchemaDescriptor
		var err error
		if temporary {
			schema, err = ec.sess.temporarySchema(txn, true)
		} else {
			schema, err = writableSchema(ec, schemaName, rv.Relname)
		}
		if err != nil {
			return err
		}
		existing, err := cat.Table(txn, schema.ID, rv.Relname)
		if err != nil {
			return err
		}
		if existing != nil {
			if cs.IfNotExists {
				return ec.notice("42P07", "relation \""+rv.Relname+"\" already exists, skipping")
			}
			return pgerror.Newf(pgcode.DuplicateTable, "relation %q already exists", rv.Relname)
		}
		seqOpts := opts
		desc := &catalog.TableDescriptor{
			SchemaID: schema.ID, Name: rv.Relname, Kind: catalog.TableKindSequence, Owner: ec.sess.user.ID,
			Columns: append([]catalog.ColumnDescriptor(nil), sequenceColumns...), Sequence: &seqOpts,
		}
		var owner *catalog.TableDescriptor
		if o.ownedBy != nil {
			if owner, err = sequenceOwner(ec, o.ownedBy, schema); err != nil {
				return err
			}
			if owner != nil {
				seqOpts.OwnedByTable = owner.ID
				seqOpts.OwnedByColumn = owner.ColumnByName(o.ownedBy[len(o.ownedBy)-1]).ID
			}
		}
		if temporary {
			err = cat.CreateTemporaryTable(txn, desc)
			ec.sess.temporaryDDL()
		} else {
			err = cat.CreateTable(txn, desc)
		}
		if err != nil || owner == nil {
			return err
		}
		owner.OwnedSequences = append(owner.OwnedSequences, desc.ID)
		return cat.PutTable(txn, owner)
	}), nil
}

// writableSchema returns the schema named by CREATE, which must exist and
// hold stored objects.
func writableSchema(ec *evalContext, schemaName, objectName string) (*catalog.SchemaDescriptor, error) {
	schema, err := ec.sess.srv.cat.Schema(ec.sess.txn.kv, schemaName)
	if err != nil {
		return nil, err
	}
	if schema == nil {
		return nil, pgerror.Newf(pgcode.UndefinedSchema, "schema %q does not exist", schemaName)
	}
	if schema.Virtual {
		return nil, pgerror.Newf(pgcode.InsufficientPrivilege, "permission denied to create %q.%q", schemaName, objectName).
			WithDetailf("Schema %s is read-only.", schemaName)
	}
	if schema.Temporary {
		return nil, pgerror.New(pgcode.InvalidTableDefinition, "cannot create relations in temporary schemas of other sessions")
	}
	return schema, nil
}

// sequenceOwner resolves OWNED BY table.column to a private copy of the
// table's descriptor, or nil for OWNED BY NONE. The table must be in the
// sequence's schema, as PostgreSQL requires.
func sequenceOwner(ec *evalContext, names []string, seqSchema *catalog.SchemaDescriptor) (*catalog.TableDescriptor, error) {
	if len(names) == 1 && names[0] == "none" {
		return nil, nil
	}
	if len(names) < 2 {
		return nil, pgerror.New(pgcode.SyntaxError, "invalid OWNED BY option").
			WithHint("Specify OWNED BY table.column or OWNED BY NONE.")
	}
	if len(names) > 4 {
		return nil, pgerror.Newf(pgcode.SyntaxError, "improper qualified name (too many dotted names): %s", strings.Join(names, "."))
	}

	rv := &pg_query.RangeVar{Relname: names[len(names)-2], Location: -1}
	if len(names) > 2 {
		rv.Schemaname = names[len(names)-3]
	}
	if len(names) > 3 {
		rv.Catalogname = names[0]
	}
	an := &analyser{sess: ec.sess, txn: ec.sess.txn.kv}
	t, _, err := an.resolveTable(rv)
	if err != nil {
		return nil, err
	}

	switch t.Kind {
	case catalog.TableKindView, catalog.TableKindSequence, catalog.TableKindSystem:
		kinds := map[string]string{catalog.TableKindView: "views", catalog.TableKindSequence: "sequences", catalog.TableKindSystem: "system tables"}
		return nil, pgerror.Newf(pgcode.ObjectNotInPrerequisiteState, "sequence cannot be owned by relation %q", t.Name).
			WithDetailf("This operation is not supported for %s.", kinds[t.Kind])
	}
	if t.SchemaID != seqSchema.ID {
		return nil, pgerror.New(pgcode.ObjectNotInPrerequisiteState, "sequence must be in same schema as table it is linked to")
	}
	colName := names[len(names)-1]
	if c := t.ColumnByName(colName); c == nil || c.Hidden {
		return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q of relation %q does not exist", colName, t.Name)
	}
	return ec.sess.srv.cat.TableByID(ec.sess.txn.kv, t.ID)
}

// resolveSequence finds the sequence a RangeVar names, failing with 42809
// when the relation is not a sequence. The implicit sequence of a serial or
// identity column is found too.
func (a *analyser) resolveSequence(rv *pg_query.RangeVar) (*catalog.TableDescriptor, error) {
	t, _, err := a.resolveTable(rv)
	if pgerror.HasCode(err, pgcode.UndefinedTable) {
		if seq, colErr := a.columnSequence(rv); colErr != nil || seq != nil {
			return seq, colErr
		}
	}
	if err != nil {
		return nil, err
	}
	if t.Kind != catalog.TableKindSequence {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "%q is not a sequence", t.Name)
	}
	return t, nil
}

// columnSequence finds the serial or identity column whose implicit
// sequence rv names and returns that sequence, or nil. A name of the form
// table_column_seq is tried at each underscore. A sequence that kept its
// name through a rename is found among the tables of the schemas rv may
// name.
func (a *analyser) columnSequence(rv *pg_query.RangeVar) (*catalog.TableDescriptor, error) {
	if base, ok := strings.CutSuffix(rv.Relname, "_seq"); ok {
		for i := 1; i < len(base)-1; i++ {
			if base[i] != '_' {
				continue
			}
			t, _, err := a.resolveTable(&pg_query.RangeVar{Schemaname: rv.Schemaname, Relname: base[:i], Location: rv.Location})
			if pgerror.HasCode(err, pgcode.UndefinedTable) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if c := t.ColumnByName(base[i+1:]); c != nil && !c.Hidden && c.Identity != catalog.IdentityNone && catalog.ColumnSequenceName(t, c) == rv.Relname {
				return catalog.ColumnSequence(t, c), nil
			}
		}
	}
	return a.renamedColumnSequence(rv)
}

// renamedColumnSequence looks for a column whose sequence kept the name
// rv gives through a rename, in rv's schema or those of the search_path.
func (a *analyser) renamedColumnSequence(rv *pg_query.RangeVar) (*catalog.TableDescriptor, error) {
	cat := a.sess.srv.cat
	schemas := []string{rv.Schemaname}
	if rv.Schemaname == "" {
		schemas = catalogSearchPath(a.sess)
	} else if rv.Schemaname == "pg_temp" {
		schemas = []string{a.sess.temp.schema}
	}
	for _, name := range schemas {
		schema, err := cat.Schema(a.txn, name)
		if err != nil {
			return nil, err
		}
		if schema == nil || schema.Virtual {
			continue
		}
		tables, err := cat.Tables(a.txn, schema.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range tables {
			for i := range t.Columns {
				c := &t.Columns[i]
				if c.SequenceName == rv.Relname && c.Identity != catalog.IdentityNone {
					return catalog.ColumnSequence(t, c), nil
				}
			}
		}
	}
	return nil, nil
}

func (a *analyser) planAlterSequence(as *pg_query.AlterSeqStmt) (*plan, error) {
	if as.ForIdentity {
		return nil, pgerror.NotSupported("ALTER SEQUENCE of an identity column")
	}
	gate, err := a.ddlGate("alter sequence", as.Sequence.Relname)
	if err != nil {
		return nil, err
	}
	o, err := parseSequenceOptions(as.Options, true)
	if err != nil {
		return nil, err
	}
	rv := as.Sequence
	return writePlan("ALTER SEQUENCE", func(ec *evalContext) error {
		cat := ec.sess.srv.cat
		txn := ec.sess.txn.kv
		an := &analyser{sess: ec.sess, txn: txn}
		seq, err := an.resolveSequence(rv)
		if err != nil {
			if as.MissingOk && pgerror.HasCode(err, pgcode.UndefinedTable) {
				return ec.notice("00000", fmt.Sprintf("relation %q does not exist, skipping", rv.Relname))
			}
			return err
		}
		if err := gate.check(seq); err != nil {
			return err
		}
		if seq.Sequence.Column != 0 {
			return alterColumnSequence(ec, seq, o, len(as.Options))
		}
		// The descriptor is changed in place: work on a private copy.
		if seq, err = cat.TableByID(txn, seq.ID); err != nil {
			return err
		}
		current, _, _, err := cat.SequenceState(seq)
		if err != nil {
			return err
		}
		opts, restart, err := applySequenceOptions(o, seq.Sequence, current)
		if err != nil {
			return err
		}
		if o.ownedBy != nil {
			schema := &catalog.SchemaDescriptor{ID: seq.SchemaID}
			owner, err := sequenceOwner(ec, o.ownedBy, schema)
			if err != nil {
				return err
			}
			opts.OwnedByTable, opts.OwnedByColumn = 0, 0
			if owner != nil {
				opts.OwnedByTable = owner.ID
				opts.OwnedByColumn = owner.ColumnByName(o.ownedBy[len(o.ownedBy)-1]).ID
				owner.OwnedSequences = append(owner.OwnedSequences, seq.ID)
				if err := cat.PutTable(txn, owner); err != nil {
					return err
				}
			}
		}
		seq.Sequence = &opts
		if err := cat.PutTable(txn, seq); err != nil {
			return err
		}
		if restart != nil {
			// NOTE: RESTART commits at once, like setval. In PostgreSQL it
			// rolls back with the transaction.
			return cat.SetSequenceValue(seq, *restart, false)
		}
		return nil
	}), nil
}

// alterColumnSequence runs ALTER SEQUENCE on the implicit sequence of a
// serial or identity column, which has no stored descriptor: only RESTART
// is supported.
func alterColumnSequence(ec *evalContext, seq *catalog.TableDescriptor, o *sequenceOptionSet, options int) error {
	if !o.restart || options != 1 {
		return pgerror.Newf(pgcode.FeatureNotSupported, "ALTER SEQUENCE of %q, the sequence of a serial or identity column, supports only RESTART", seq.Name)
	}
	_, restart, err := applySequenceOptions(o, seq.Sequence, 0)
	if err != nil {
		return err
	}
	return ec.sess.srv.cat.SetSequenceValue(seq, *restart, false)
}

func (a *analyser) planDropSequences(ds *pg_query.DropStmt) (*plan, error) {
	gate, err := a.ddlGate("drop sequence", "")
	if err != nil {
		return nil, err
	}
	var names []*pg_query.RangeVar
	for _, obj := range ds.Objects {
		rv, err := rangeVarFromNames(obj.GetList().GetItems())
		if err != nil {
			return nil, err
		}
		names = append(names, rv)
	}
	cascade := ds.Behavior == pg_query.DropBehavior_DROP_CASCADE
	return writePlan("DROP SEQUENCE", func(ec *evalContext) error {
		cat := ec.sess.srv.cat
		txn := ec.sess.txn.kv
		an := &analyser{sess: ec.sess, txn: txn}
		var drop []*catalog.TableDescriptor
		for _, rv := range names {
			t, _, err := an.resolveTable(rv)
			if pgerror.HasCode(err, pgcode.UndefinedTable) {
				if err := dropColumnSequenceError(an, rv, cascade); err != nil {
					return err
				}
			}
			missing := pgerror.HasCode(err, pgcode.UndefinedTable) || pgerror.HasCode(err, pgcode.UndefinedSchema)
			switch {
			case missing && ds.MissingOk:
				if err := ec.notice("00000", fmt.Sprintf("sequence %q does not exist, skipping", rv.Relname)); err != nil {
					return err
				}
				continue
			case pgerror.HasCode(err, pgcode.UndefinedTable):
				return pgerror.Newf(pgcode.UndefinedTable, "sequence %q does not exist", rv.Relname)
			case err != nil:
				return err
			case t.Kind != catalog.TableKindSequence:
				return pgerror.Newf(pgcode.WrongObjectType, "%q is not a sequence", rv.Relname).WithHint(dropHint(t))
			}
			if err := gate.check(t); err != nil {
				return err
			}
			drop = append(drop, t)
		}
		for _, seq := range drop {
			if err := dropSequenceDefaults(ec, seq, cascade); err != nil {
				return err
			}
			if err := cat.DropTable(txn, seq); err != nil {
				return err
			}
		}
		return nil
	}), nil
}

// dropColumnSequenceError returns PostgreSQL's error for a DROP SEQUENCE of
// the implicit sequence of a serial or identity column, which goes only
// with its column, or nil when rv names no such sequence.
func dropColumnSequenceError(an *analyser, rv *pg_query.RangeVar, cascade bool) error {
	seq, err := an.columnSequence(rv)
	if err != nil || seq == nil {
		return err
	}
	t, err := an.sess.srv.cat.TableByID(an.txn, seq.ID)
	if err != nil {
		return err
	}
	c := t.ColumnByID(seq.Sequence.Column)
	if c.Serial && cascade {
		return pgerror.NotSupported("DROP SEQUENCE ... CASCADE of the sequence of a serial column")
	}
	if c.Serial {
		return pgerror.Newf(pgcode.DependentObjectsStillExist, "cannot drop sequence %s because other objects depend on it", seq.Name).
			WithDetail(fmt.Sprintf("default value for column %s of table %s depends on sequence %s", c.Name, t.Name, seq.Name)).
			WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	return pgerror.Newf(pgcode.DependentObjectsStillExist, "cannot drop sequence %s because column %s of table %s requires it", seq.Name, c.Name, t.Name).
		WithHint(fmt.Sprintf("You can drop column %s of table %s instead.", c.Name, t.Name))
}

// dropHint names the DROP statement for a relation of the wrong kind.
func dropHint(t *catalog.TableDescriptor) string {
	switch t.Kind {
	case catalog.TableKindView:
		return "Use DROP VIEW to remove a view."
	case catalog.TableKindSequence:
		return "Use DROP SEQUENCE to remove a sequence."
	}
	return "Use DROP TABLE to remove a table."
}

// rangeVarFromNames builds a RangeVar from the name list of a DROP
// statement: [catalog.][schema.]name.
func rangeVarFromNames(items []*pg_query.Node) (*pg_query.RangeVar, error) {
	parts := make([]string, len(items))
	for i, item := range items {
		parts[i] = item.GetString_().GetSval()
	}
	rv := &pg_query.RangeVar{Location: -1}
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
		return nil, pgerror.Newf(pgcode.SyntaxError, "improper qualified name (too many dotted names): %s", strings.Join(parts, "."))
	}
	return rv, nil
}

// sequenceDefault is a column whose DEFAULT calls a sequence function on a
// sequence being dropped.
type sequenceDefault struct {
	table  *catalog.TableDescriptor
	column string
}

// dropSequenceDefaults handles the column defaults that name a sequence
// being dropped: without CASCADE they make the drop fail, with it they are
// removed, as PostgreSQL removes the dependent defaults.
// NOTE: PostgreSQL records the dependency by OID when the default is
// created. pgkeep stores the default as text, so it finds the dependency
// by resolving the names in it now, with this session's search_path.
func dropSequenceDefaults(ec *evalContext, seq *catalog.TableDescriptor, cascade bool) error {
	deps, err := sequenceDefaults(ec, seq)
	if err != nil || len(deps) == 0 {
		return err
	}
	if !cascade {
		return pgerror.Newf(pgcode.DependentObjectsStillExist, "cannot drop sequence %s because other objects depend on it", seq.Name).
			WithDetailf("default value for column %s of table %s depends on sequence %s", deps[0].column, deps[0].table.Name, seq.Name).
			WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	cat := ec.sess.srv.cat
	for _, d := range deps {
		if err := ec.notice("00000", fmt.Sprintf("drop cascades to default value for column %s of table %s", d.column, d.table.Name)); err != nil {
			return err
		}
		t, err := cat.TableByID(ec.sess.txn.kv, d.table.ID)
		if err != nil {
			return err
		}
		t.ColumnByName(d.column).Default = ""
		if err := cat.PutTable(ec.sess.txn.kv, t); err != nil {
			return err
		}
	}
	return nil
}

// sequenceDefaults returns the columns, in tables this session can see,
// whose DEFAULT names seq in a call of nextval, currval or setval.
func sequenceDefaults(ec *evalContext, seq *catalog.TableDescriptor) ([]sequenceDefault, error) {
	cat := ec.sess.srv.cat
	txn := ec.sess.txn.kv
	schemas, err := cat.Schemas(txn)
	if err != nil {
		return nil, err
	}
	an := &analyser{sess: ec.sess, txn: txn}
	var out []sequenceDefault
	for _, s := range schemas {
		if s.Virtual || ec.sess.otherSessionSchema(s) {
			continue
		}
		tables, err := cat.Tables(txn, s.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range tables {
			for _, c := range t.Columns {
				if !strings.Contains(c.Default, "val(") {
					continue
				}
				names, err := sequenceNamesIn(c.Default)
				if err != nil {
					return nil, err
				}
				for _, rv := range names {
					if ref, _, err := an.resolveTable(rv); err == nil && ref.ID == seq.ID {
						out = append(out, sequenceDefault{table: t, column: c.Name})
						break
					}
				}
			}
		}
	}
	return out, nil
}

// sequenceNamesIn returns the sequence names that a stored expression
// passes as constants to nextval, currval or setval.
func sequenceNamesIn(exprText string) ([]*pg_query.RangeVar, error) {
	tree, err := pg_query.Parse("SELECT " + exprText)
	if err != nil {
		return nil, pgerror.Internal("stored expression does not parse: %v", err)
	}
	var out []*pg_query.RangeVar
	var walkErr error
	walkMessages(tree.ProtoReflect(), func(m protoreflect.Message) {
		fc, ok := m.Interface().(*pg_query.FuncCall)
		if !ok || len(fc.Args) == 0 || !sequenceFunctionNames[funcCallName(fc)] {
			return
		}
		text, ok := sequenceNameConstant(fc.Args[0])
		if !ok {
			return
		}
		rv, err := parseRelationName(text, -1)
		if err != nil {
			walkErr = err
			return
		}
		out = append(out, rv)
	})
	return out, walkErr
}
