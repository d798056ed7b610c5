package executor

import (
	"fmt"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// planAlterTable handles ALTER TABLE: columns added and dropped, column
// types, defaults and NOT NULL changed, constraints (the primary key
// among them) added and dropped, and the reloption form of SET ACCESS
// LEVEL.
func (a *analyser) planAlterTable(at *pg_query.AlterTableStmt) (*plan, error) {
	if len(at.Cmds) == 1 {
		cmd := at.Cmds[0].GetAlterTableCmd()
		if cmd != nil && cmd.Subtype == pg_query.AlterTableType_AT_SetRelOptions {
			items := cmd.Def.GetList().GetItems()
			if len(items) == 1 && strings.EqualFold(items[0].GetDefElem().GetDefname(), "access_level") {
				return a.planAlterAccessLevel(&alterAccessLevelStmt{
					schema: at.Relation.Schemaname,
					table:  at.Relation.Relname,
					level:  strings.ToLower(defElemString(items[0].GetDefElem())),
				})
			}
			return nil, pgerror.NotSupported("ALTER TABLE ... SET with options other than access_level")
		}
	}
	if at.Objtype != pg_query.ObjectType_OBJECT_TABLE {
		return nil, pgerror.NotSupported("ALTER " + strings.TrimPrefix(at.Objtype.String(), "OBJECT_"))
	}
	gate, err := a.ddlGate("alter table", at.Relation.Relname)
	if err != nil {
		return nil, err
	}
	var cmds []*pg_query.AlterTableCmd
	for _, n := range at.Cmds {
		cmd := n.GetAlterTableCmd()
		switch cmd.Subtype {
		case pg_query.AlterTableType_AT_AddColumn, pg_query.AlterTableType_AT_DropColumn,
			pg_query.AlterTableType_AT_ColumnDefault, pg_query.AlterTableType_AT_SetNotNull,
			pg_query.AlterTableType_AT_DropNotNull, pg_query.AlterTableType_AT_AddConstraint,
			pg_query.AlterTableType_AT_DropConstraint, pg_query.AlterTableType_AT_AlterColumnType:
			cmds = append(cmds, cmd)
		default:
			return nil, pgerror.NotSupported("ALTER TABLE ... " + strings.TrimPrefix(cmd.Subtype.String(), "AT_"))
		}
	}
	rv := at.Relation
	return writePlan("ALTER TABLE", func(ec *evalContext) error {
		t, ok, err := alterTarget(ec, rv, at.MissingOk)
		if err != nil || !ok {
			return err
		}
		if err := gate.check(t); err != nil {
			return err
		}
		alt := &tableAlteration{ec: ec, an: &analyser{sess: ec.sess, txn: ec.sess.txn.kv}, t: t}
		for _, cmd := range cmds {
			if err := alt.apply(cmd); err != nil {
				return err
			}
		}
		return ec.sess.srv.cat.PutTable(ec.sess.txn.kv, alt.t)
	}), nil
}

// alterTarget resolves the table an ALTER statement changes. With IF
// EXISTS a missing table gives a notice and ok false.
func alterTarget(ec *evalContext, rv *pg_query.RangeVar, missingOK bool) (t *catalog.TableDescriptor, ok bool, err error) {
	an := &analyser{sess: ec.sess, txn: ec.sess.txn.kv}
	t, _, err = an.resolveTable(rv)
	if err != nil {
		if missingOK && (pgerror.HasCode(err, pgcode.UndefinedTable) || pgerror.HasCode(err, pgcode.UndefinedSchema)) {
			return nil, false, ec.notice("00000", fmt.Sprintf("relation %q does not exist, skipping", rv.Relname))
		}
		return nil, false, err
	}
	if t.Kind == catalog.TableKindView || t.Kind == catalog.TableKindSystem || t.Kind == catalog.TableKindSequence {
		return nil, false, pgerror.Newf(pgcode.WrongObjectType, "%q is not a table", t.Name)
	}
	// The descriptor is changed in place: work on a private copy.
	t, err = ec.sess.srv.cat.TableByID(ec.sess.txn.kv, t.ID)
	if err != nil {
		return nil, false, err
	}
	return t, true, nil
}

// tableAlteration applies the commands of one ALTER TABLE to a descriptor
// and to the stored rows.
type tableAlteration struct {
	ec *evalContext
	an *analyser
	t  *catalog.TableDescriptor
}

func (alt *tableAlteration) apply(cmd *pg_query.AlterTableCmd) error {
	switch cmd.Subtype {
	case pg_query.AlterTableType_AT_AddColumn:
		return alt.addColumn(cmd.Def.GetColumnDef(), cmd.MissingOk)
	case pg_query.AlterTableType_AT_DropColumn:
		return alt.dropColumn(cmd.Name, cmd.MissingOk, cmd.Behavior == pg_query.DropBehavior_DROP_CASCADE)
	case pg_query.AlterTableType_AT_ColumnDefault:
		return alt.setDefault(cmd.Name, cmd.Def)
	case pg_query.AlterTableType_AT_SetNotNull:
		return alt.setNotNull(cmd.Name)
	case pg_query.AlterTableType_AT_DropNotNull:
		return alt.dropNotNull(cmd.Name)
	case pg_query.AlterTableType_AT_AddConstraint:
		return alt.addConstraint(cmd.Def.GetConstraint())
	case pg_query.AlterTableType_AT_AlterColumnType:
		return alt.alterColumnType(cmd.Name, cmd.Def.GetColumnDef())
	case pg_query.AlterTableType_AT_DropConstraint:
		return alt.dropConstraint(cmd.Name, cmd.MissingOk, cmd.Behavior == pg_query.DropBehavior_DROP_CASCADE)
	}
	return pgerror.Internal("unexpected ALTER TABLE command %s", cmd.Subtype)
}

// column returns the visible column name, or 42703.
func (alt *tableAlteration) column(name string) (*catalog.ColumnDescriptor, error) {
	col := alt.t.ColumnByName(name)
	if col == nil || col.Hidden {
		return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q of relation %q does not exist", name, alt.t.Name)
	}
	return col, nil
}

func (alt *tableAlteration) addColumn(cd *pg_query.ColumnDef, ifNotExists bool) error {
	t := alt.t
	if existing := t.ColumnByName(cd.Colname); (existing != nil && !existing.Hidden) || (t.PerUser() && cd.Colname == ownerColumn) {
		if ifNotExists {
			return alt.ec.notice("42701", fmt.Sprintf("column %q of relation %q already exists, skipping", cd.Colname, t.Name))
		}
		return pgerror.Newf(pgcode.DuplicateColumn, "column %q of relation %q already exists", cd.Colname, t.Name)
	}
	if t.ColumnByName(cd.Colname) != nil {
		return pgerror.NotSupported(fmt.Sprintf("a column named %q in a table without a primary key", cd.Colname))
	}
	col, isPK, isUnique, err := alt.an.columnDescriptor(cd, t.NextColumnID)
	if err != nil {
		return err
	}
	t.NextColumnID++
	t.Columns = append(t.Columns, col)
	if err := alt.fillNewColumn(col); err != nil {
		return err
	}
	if isPK {
		if err := alt.addPrimaryKey("", []string{col.Name}); err != nil {
			return err
		}
	}
	if isUnique {
		if err := alt.addUnique("", []string{col.Name}); err != nil {
			return err
		}
	}
	for _, cn := range cd.Constraints {
		c := cn.GetConstraint()
		switch c.Contype {
		case pg_query.ConstrType_CONSTR_CHECK:
		case pg_query.ConstrType_CONSTR_FOREIGN:
			c.FkAttrs = []*pg_query.Node{pg_query.MakeStrNode(col.Name)}
		default:
			continue
		}
		if err := alt.addConstraint(c); err != nil {
			return err
		}
	}
	return nil
}

// fillNewColumn gives the stored rows the new column's default or
// identity value, and enforces its NOT NULL.
func (alt *tableAlteration) fillNewColumn(col catalog.ColumnDescriptor) error {
	t := alt.t
	var def expr
	if col.Default != "" {
		var err error
		if def, err = alt.an.compileDefault(col); err != nil {
			return err
		}
	}
	if def == nil && col.Identity == catalog.IdentityNone && !col.NotNull {
		return nil
	}
	codec := newRowCodec(t)
	rows, err := readStoredRows(alt.ec.sess.txn.kv, codec)
	if err != nil {
		return err
	}
	pos := codec.colIndex[col.ID]
	ins := &inserter{table: t, codec: codec, defaults: make([]expr, len(t.Columns))}
	ins.defaults[pos] = def
	for _, r := range rows {
		v, err := ins.defaultValue(alt.ec, pos)
		if err != nil {
			return err
		}
		if v == nil {
			if col.NotNull {
				return nullsInColumn(t, col.Name)
			}
			continue
		}
		r.row[pos] = v
		if err := r.rewrite(alt.ec.sess.txn.kv, codec); err != nil {
			return err
		}
	}
	return nil
}

func nullsInColumn(t *catalog.TableDescriptor, column string) error {
	return pgerror.Newf(pgcode.NotNullViolation, "column %q of relation %q contains null values", column, t.Name)
}

func (alt *tableAlteration) dropColumn(name string, ifExists, cascade bool) error {
	t := alt.t
	col := t.ColumnByName(name)
	if col == nil || col.Hidden {
		if ifExists {
			return alt.ec.notice("00000", fmt.Sprintf("column %q of relation %q does not exist, skipping", name, t.Name))
		}
		return pgerror.Newf(pgcode.UndefinedColumn, "column %q of relation %q does not exist", name, t.Name)
	}
	refs, err := alt.an.referencingFKs(t)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if ref.child.ID == t.ID || !slices.Contains(ref.fk.RefColumns, col.ID) {
			continue
		}
		if !cascade {
			return pgerror.Newf(pgcode.DependentObjectsStillExist, "cannot drop column %s of table %s because other objects depend on it", name, t.Name).
				WithDetailf("constraint %s on table %s depends on column %s of table %s", ref.fk.Name, ref.child.Name, name, t.Name).
				WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
		}
		if err := dropForeignKey(alt.ec, ref); err != nil {
			return err
		}
	}
	if slices.Contains(t.PrimaryKey, col.ID) {
		return pgerror.NotSupported("dropping a primary key column")
	}
	visible := 0
	for _, c := range t.Columns {
		if !c.Hidden {
			visible++
		}
	}
	if visible == 1 {
		return pgerror.New(pgcode.FeatureNotSupported, "tables without columns are not supported")
	}
	// Indexes, foreign keys and checks on the column go with it, as in
	// PostgreSQL.
	for _, ix := range slices.Clone(t.Indexes) {
		if slices.Contains(ix.Columns, col.ID) {
			if err := deleteIndexEntries(alt.ec.sess.txn.kv, t, ix.ID); err != nil {
				return err
			}
			t.Indexes = slices.DeleteFunc(t.Indexes, func(x catalog.IndexDescriptor) bool { return x.ID == ix.ID })
		}
	}
	t.ForeignKeys = slices.DeleteFunc(t.ForeignKeys, func(fk catalog.ForeignKey) bool {
		return slices.Contains(fk.Columns, col.ID) || (fk.RefTable == t.ID && slices.Contains(fk.RefColumns, col.ID))
	})
	t.Columns = slices.DeleteFunc(t.Columns, func(c catalog.ColumnDescriptor) bool { return c.ID == col.ID })
	var kept []catalog.CheckConstraint
	for _, c := range t.Checks {
		if _, err := alt.an.compileCheck(t, c); err != nil {
			if pgerror.HasCode(err, pgcode.UndefinedColumn) {
				continue
			}
			return err
		}
		kept = append(kept, c)
	}
	t.Checks = kept
	return nil
}

func (alt *tableAlteration) setDefault(name string, def *pg_query.Node) error {
	col, err := alt.column(name)
	if err != nil {
		return err
	}
	if col.Identity != catalog.IdentityNone {
		return pgerror.Newf(pgcode.SyntaxError, "column %q of relation %q is an identity column", name, alt.t.Name).
			WithHint("Use ALTER TABLE ... ALTER COLUMN ... DROP IDENTITY instead.")
	}
	if def == nil {
		col.Default = ""
		return nil
	}
	text, err := alt.an.validateDefault(def, *col)
	if err != nil {
		return err
	}
	col.Default = text
	return nil
}

func (alt *tableAlteration) setNotNull(name string) error {
	col, err := alt.column(name)
	if err != nil {
		return err
	}
	if col.NotNull {
		return nil
	}
	codec := newRowCodec(alt.t)
	rows, err := readStoredRows(alt.ec.sess.txn.kv, codec)
	if err != nil {
		return err
	}
	pos := codec.colIndex[col.ID]
	for _, r := range rows {
		if r.row[pos] == nil {
			return nullsInColumn(alt.t, name)
		}
	}
	col.NotNull = true
	return nil
}

func (alt *tableAlteration) dropNotNull(name string) error {
	col, err := alt.column(name)
	if err != nil {
		return err
	}
	switch {
	case slices.Contains(alt.t.PrimaryKey, col.ID):
		return pgerror.Newf(pgcode.InvalidTableDefinition, "column %q is in a primary key", name)
	case col.Identity != catalog.IdentityNone:
		return pgerror.Newf(pgcode.SyntaxError, "column %q of relation %q is an identity column", name, alt.t.Name)
	}
	col.NotNull = false
	return nil
}

// constraintTaken reports whether t has a constraint of that name.
func constraintTaken(t *catalog.TableDescriptor, name string) bool {
	if checkOrForeignKeyTaken(t, name) {
		return true
	}
	if primaryKeyIndex(t) && t.PrimaryKeyConstraint() == name {
		return true
	}
	ix := t.IndexByName(name)
	return ix != nil && ix.Constraint
}

// checkOrForeignKeyTaken reports whether t has a CHECK or FOREIGN KEY
// constraint of that name.
func checkOrForeignKeyTaken(t *catalog.TableDescriptor, name string) bool {
	return slices.ContainsFunc(t.Checks, func(c catalog.CheckConstraint) bool { return c.Name == name }) ||
		slices.ContainsFunc(t.ForeignKeys, func(fk catalog.ForeignKey) bool { return fk.Name == name })
}

func (alt *tableAlteration) addConstraint(c *pg_query.Constraint) error {
	t := alt.t
	// The name of a UNIQUE or PRIMARY KEY constraint is also the name of
	// its index, so a name taken by another index fails later as a
	// relation that already exists (42P07), as in PostgreSQL.
	indexBacked := c.Contype == pg_query.ConstrType_CONSTR_UNIQUE || c.Contype == pg_query.ConstrType_CONSTR_PRIMARY
	if c.Conname != "" && ((indexBacked && checkOrForeignKeyTaken(t, c.Conname)) || (!indexBacked && constraintTaken(t, c.Conname))) {
		return pgerror.Newf(pgcode.DuplicateObject, "constraint %q for relation %q already exists", c.Conname, t.Name)
	}
	switch c.Contype {
	case pg_query.ConstrType_CONSTR_CHECK:
		if err := alt.an.addCheck(t, c); err != nil {
			return err
		}
		added := t.Checks[len(t.Checks)-1]
		if c.SkipValidation {
			return nil
		}
		return alt.validateCheck(added)
	case pg_query.ConstrType_CONSTR_FOREIGN:
		if err := alt.an.addForeignKey(t, &pg_query.RangeVar{Relname: t.Name}, c); err != nil {
			return err
		}
		fk := &t.ForeignKeys[len(t.ForeignKeys)-1]
		if fk.RefTable == 0 {
			fk.RefTable = t.ID
		}
		if c.SkipValidation {
			return nil
		}
		return alt.validateForeignKey(*fk)
	case pg_query.ConstrType_CONSTR_UNIQUE, pg_query.ConstrType_CONSTR_PRIMARY:
		var cols []string
		for _, k := range c.Keys {
			cols = append(cols, k.GetString_().GetSval())
		}
		if c.Contype == pg_query.ConstrType_CONSTR_PRIMARY {
			switch {
			case c.Indexname != "":
				return pgerror.NotSupported("ADD PRIMARY KEY USING INDEX")
			case len(c.Including) > 0:
				return pgerror.NotSupported("INCLUDE in a primary key")
			case c.Deferrable:
				return pgerror.NotSupported("DEFERRABLE on a primary key")
			}
			return alt.addPrimaryKey(c.Conname, cols)
		}
		return alt.addUnique(c.Conname, cols)
	}
	return pgerror.NotSupported("ALTER TABLE ... ADD " + constraintName(c.Contype) + " constraints")
}

// validateCheck fails when a stored row violates a new CHECK constraint.
func (alt *tableAlteration) validateCheck(c catalog.CheckConstraint) error {
	cc, err := alt.an.compileCheck(alt.t, c)
	if err != nil {
		return err
	}
	codec := newRowCodec(alt.t)
	rows, err := readStoredRows(alt.ec.sess.txn.kv, codec)
	if err != nil {
		return err
	}
	for _, r := range rows {
		ok, err := cc.cond.eval(alt.ec, r.row)
		if err != nil {
			return err
		}
		if ok == false {
			return pgerror.Newf(pgcode.CheckViolation, "check constraint %q of relation %q is violated by some row", c.Name, alt.t.Name)
		}
	}
	return nil
}

// validateForeignKey fails when a stored row references a missing parent
// key. Rows of a per-user table are checked against their owner's rows.
func (alt *tableAlteration) validateForeignKey(fk catalog.ForeignKey) error {
	ref, err := alt.an.resolveFK(alt.t, fk)
	if err != nil {
		return err
	}
	codec := newRowCodec(alt.t)
	rows, err := readStoredRows(alt.ec.sess.txn.kv, codec)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := ref.checkParentExists(alt.ec, r.row, r.owner); err != nil {
			return err
		}
	}
	return nil
}

func (alt *tableAlteration) addUnique(name string, cols []string) error {
	t := alt.t
	if name == "" {
		name = defaultIndexName(t.Name, cols, true)
	}
	taken, err := indexNameTaken(alt.ec, t.SchemaID, name)
	if err != nil {
		return err
	}
	if taken || t.IndexByName(name) != nil {
		return pgerror.Newf(pgcode.DuplicateTable, "relation %q already exists", name)
	}
	ix := catalog.IndexDescriptor{Name: name, Unique: true, Constraint: true}
	for _, cn := range cols {
		col, err := alt.column(cn)
		if err != nil {
			return err
		}
		ix.Columns = append(ix.Columns, col.ID)
	}
	added := t.AddIndex(ix)
	codec := newRowCodec(t)
	for _, ic := range codec.indexCodecs() {
		if ic.desc.ID == added.ID {
			return backfillIndex(alt.ec.sess.txn.kv, codec, ic)
		}
	}
	return pgerror.Internal("index %q vanished", name)
}

func (alt *tableAlteration) dropConstraint(name string, ifExists, cascade bool) error {
	t := alt.t
	switch {
	case primaryKeyIndex(t) && name == t.PrimaryKeyConstraint():
		return alt.dropPrimaryKey(cascade)
	case slices.ContainsFunc(t.Checks, func(c catalog.CheckConstraint) bool { return c.Name == name }):
		t.Checks = slices.DeleteFunc(t.Checks, func(c catalog.CheckConstraint) bool { return c.Name == name })
		return nil
	case slices.ContainsFunc(t.ForeignKeys, func(fk catalog.ForeignKey) bool { return fk.Name == name }):
		t.ForeignKeys = slices.DeleteFunc(t.ForeignKeys, func(fk catalog.ForeignKey) bool { return fk.Name == name })
		return nil
	}
	if ix := t.IndexByName(name); ix != nil && ix.Constraint {
		refs, err := alt.an.referencingFKs(t)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			if ref.parentIndex != nil && ref.parentIndex.desc.ID == ix.ID {
				return pgerror.Newf(pgcode.DependentObjectsStillExist, "cannot drop constraint %s on table %s because other objects depend on it", name, t.Name).
					WithDetailf("constraint %s on table %s depends on index %s", ref.fk.Name, ref.child.Name, name).
					WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
			}
		}
		if err := deleteIndexEntries(alt.ec.sess.txn.kv, t, ix.ID); err != nil {
			return err
		}
		id := ix.ID
		t.Indexes = slices.DeleteFunc(t.Indexes, func(x catalog.IndexDescriptor) bool { return x.ID == id })
		return nil
	}
	if ifExists {
		return alt.ec.notice("00000", fmt.Sprintf("constraint %q of relation %q does not exist, skipping", name, t.Name))
	}
	return pgerror.Newf(pgcode.UndefinedObject, "constraint %q of relation %q does not exist", name, t.Name)
}

// dropForeignKey removes a foreign key from its table's stored descriptor.
func dropForeignKey(ec *evalContext, ref *fkRef) error {
	if err := ec.notice("00000", fmt.Sprintf("drop cascades to constraint %s on table %s", ref.fk.Name, ref.child.Name)); err != nil {
		return err
	}
	child, err := ec.sess.srv.cat.TableByID(ec.sess.txn.kv, ref.child.ID)
	if err != nil {
		return err
	}
	child.ForeignKeys = slices.DeleteFunc(child.ForeignKeys, func(fk catalog.ForeignKey) bool { return fk.Name == ref.fk.Name })
	return ec.sess.srv.cat.PutTable(ec.sess.txn.kv, child)
}

// deleteIndexEntries removes every entry of one index of t.
func deleteIndexEntries(txn kv.Txn, t *catalog.TableDescriptor, indexID uint32) error {
	return catalog.DeleteRange(txn, catalog.IndexPrefix(t.ID, indexID))
}

// storedRow is one row read back from the primary index, of any owner.
type storedRow struct {
	key     []byte
	row     []any
	owner   uint32
	created int64
}

// readStoredRows reads every row of a table, across all owners of a
// per-user table.
func readStoredRows(txn kv.Txn, codec *rowCodec) ([]storedRow, error) {
	it, err := txn.NewIterator(codec.prefix, kv.PrefixEnd(codec.prefix))
	if err != nil {
		return nil, err
	}
	var rows []storedRow
	for ok := it.First(); ok; ok = it.Next() {
		r := storedRow{key: append([]byte(nil), it.Key()...), row: make([]any, codec.width())}
		if r.created, err = codec.decodeValue(it.Value(), r.row); err != nil {
			_ = it.Close()
			return nil, err
		}
		if codec.perUser {
			r.owner = codec.ownerOf(r.key)
		}
		rows = append(rows, r)
	}
	return rows, it.Close()
}

// rewrite stores the row again under its key, keeping its insert time.
func (r storedRow) rewrite(txn kv.Txn, codec *rowCodec) error {
	val, err := codec.encodeValue(nil, r.row, r.created)
	if err != nil {
		return err
	}
	return txn.Put(r.key, val)
}

// planRename handles ALTER TABLE ... RENAME TO and RENAME COLUMN.
func (a *analyser) planRename(rs *pg_query.RenameStmt) (*plan, error) {
	switch rs.RenameType {
	case pg_query.ObjectType_OBJECT_TABLE, pg_query.ObjectType_OBJECT_COLUMN:
	default:
		return nil, pgerror.NotSupported("ALTER ... RENAME of a " + strings.ToLower(strings.TrimPrefix(rs.RenameType.String(), "OBJECT_")))
	}
	if rs.RenameType == pg_query.ObjectType_OBJECT_COLUMN && rs.RelationType != pg_query.ObjectType_OBJECT_TABLE {
		return nil, pgerror.NotSupported("renaming a column of a view")
	}
	gate, err := a.ddlGate("alter table", rs.Relation.Relname)
	if err != nil {
		return nil, err
	}
	return writePlan("ALTER TABLE", func(ec *evalContext) error {
		t, ok, err := alterTarget(ec, rs.Relation, rs.MissingOk)
		if err != nil || !ok {
			return err
		}
		if err := gate.check(t); err != nil {
			return err
		}
		views, err := viewsReading(ec, t)
		if err != nil {
			return err
		}
		if len(views) > 0 {
			return pgerror.NotSupported(fmt.Sprintf("renaming table %s or its columns while view %s reads it", t.Name, views[0]))
		}
		if rs.RenameType == pg_query.ObjectType_OBJECT_TABLE {
			return ec.sess.srv.cat.RenameTable(ec.sess.txn.kv, t, rs.Newname)
		}
		col := t.ColumnByName(rs.Subname)
		if col == nil || col.Hidden {
			return pgerror.Newf(pgcode.UndefinedColumn, "column %q does not exist", rs.Subname)
		}
		if other := t.ColumnByName(rs.Newname); (other != nil && !other.Hidden) || (t.PerUser() && rs.Newname == ownerColumn) {
			return pgerror.Newf(pgcode.DuplicateColumn, "column %q of relation %q already exists", rs.Newname, t.Name)
		}
		for i, c := range t.Checks {
			if t.Checks[i].Expr, err = renameColumnRefs(c.Expr, rs.Subname, rs.Newname); err != nil {
				return err
			}
		}
		catalog.KeepSequenceNames(t)
		col.Name = rs.Newname
		return ec.sess.srv.cat.PutTable(ec.sess.txn.kv, t)
	}), nil
}

// viewsReading returns the names of the views whose query names table t.
func viewsReading(ec *evalContext, t *catalog.TableDescriptor) ([]string, error) {
	tables, err := ec.sess.srv.cat.StoredTables(ec.sess.txn.kv)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range tables {
		if v.Kind != catalog.TableKindView {
			continue
		}
		tree, err := pg_query.Parse(v.ViewQuery)
		if err != nil {
			return nil, pgerror.Internal("stored query of view %q does not parse: %v", v.Name, err)
		}
		reads := false
		walkMessages(tree.ProtoReflect(), func(m protoreflect.Message) {
			if rv, ok := m.Interface().(*pg_query.RangeVar); ok && rv.Relname == t.Name {
				reads = true
			}
		})
		if reads {
			out = append(out, v.Name)
		}
	}
	return out, nil
}

// renameColumnRefs rewrites the column references named from in a stored
// expression to name to.
func renameColumnRefs(exprText, from, to string) (string, error) {
	tree, err := pg_query.Parse("SELECT " + exprText)
	if err != nil {
		return "", pgerror.Internal("stored expression does not parse: %v", err)
	}
	walkMessages(tree.ProtoReflect(), func(m protoreflect.Message) {
		ref, ok := m.Interface().(*pg_query.ColumnRef)
		if !ok || len(ref.Fields) == 0 {
			return
		}
		if s := ref.Fields[len(ref.Fields)-1].GetString_(); s != nil && s.Sval == from {
			s.Sval = to
		}
	})
	return deparseExpr(tree.Stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val)
}

// walkMessages calls fn on m and on every message nested in it.
func walkMessages(m protoreflect.Message, fn func(protoreflect.Message)) {
	fn(m)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap() || fd.Message() == nil:
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkMessages(l.Get(i).Message(), fn)
			}
		default:
			walkMessages(v.Message(), fn)
		}
		return true
	})
}

// planTruncate handles TRUNCATE. It removes the rows of every owner, so it
// needs the DDL right rather than DELETE on the table.
func (a *analyser) planTruncate(ts *pg_query.TruncateStmt) (*plan, error) {
	gate, err := a.ddlGate("truncate", "")
	if err != nil {
		return nil, err
	}
	cascade := ts.Behavior == pg_query.DropBehavior_DROP_CASCADE
	return writePlan("TRUNCATE TABLE", func(ec *evalContext) error {
		an := &analyser{sess: ec.sess, txn: ec.sess.txn.kv}
		var tables []*catalog.TableDescriptor
		has := func(id uint32) bool {
			return slices.ContainsFunc(tables, func(t *catalog.TableDescriptor) bool { return t.ID == id })
		}
		for _, n := range ts.Relations {
			t, _, err := an.resolveTable(n.GetRangeVar())
			if err != nil {
				return err
			}
			if t.Kind == catalog.TableKindView || t.Kind == catalog.TableKindSystem || t.Kind == catalog.TableKindSequence {
				return pgerror.Newf(pgcode.WrongObjectType, "%q is not a table", t.Name)
			}
			if err := gate.check(t); err != nil {
				return err
			}
			if !has(t.ID) {
				tables = append(tables, t)
			}
		}
		// Tables whose foreign keys reference a truncated table must be
		// truncated too; CASCADE adds them.
		for i := 0; i < len(tables); i++ {
			refs, err := an.referencingFKs(tables[i])
			if err != nil {
				return err
			}
			for _, ref := range refs {
				if has(ref.child.ID) {
					continue
				}
				if !cascade {
					return pgerror.New(pgcode.FeatureNotSupported, "cannot truncate a table referenced in a foreign key constraint").
						WithDetailf("Table %q references %q.", ref.child.Name, tables[i].Name).
						WithHint(fmt.Sprintf("Truncate table %q at the same time, or use TRUNCATE ... CASCADE.", ref.child.Name))
				}
				if err := ec.notice("00000", fmt.Sprintf("truncate cascades to table %q", ref.child.Name)); err != nil {
					return err
				}
				tables = append(tables, ref.child)
			}
		}
		cat := ec.sess.srv.cat
		for _, t := range tables {
			if err := cat.TruncateTable(ec.sess.txn.kv, t); err != nil {
				return err
			}
			ec.sess.txn.markNewTable(t.ID)
			if !ts.RestartSeqs {
				continue
			}
			for _, c := range t.Columns {
				if c.Identity != catalog.IdentityNone && !c.Hidden {
					if err := cat.SetSequenceValue(catalog.ColumnSequence(t, &c), 1, false); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}), nil
}
