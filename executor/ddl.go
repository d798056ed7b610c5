package executor

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/security"
)

// rowIDColumn names the hidden key column of tables without a primary key.
const rowIDColumn = "rowid"

// writePlan is a tagPlan for statements that change data or schema, which
// READ ONLY transactions reject.
func writePlan(tag string, run func(ec *evalContext) error) *plan {
	return tagPlan(tag, func(ec *evalContext) error {
		if err := ec.requireWritable(tag); err != nil {
			return err
		}
		return run(ec)
	})
}

func tagPlan(tag string, run func(ec *evalContext) error) *plan {
	return &plan{run: func(ec *evalContext) (*result, error) {
		if err := run(ec); err != nil {
			return nil, err
		}
		return &result{tag: tag}, nil
	}}
}

func (a *analyser) planCreateSchema(cs *pg_query.CreateSchemaStmt) (*plan, error) {
	// PostgreSQL names the database, on which CREATE is missing.
	if err := security.CheckDDL(subjectOf(a.subject()), "create in database", a.sess.database); err != nil {
		return nil, err
	}
	if len(cs.SchemaElts) > 0 {
		return nil, pgerror.NotSupported("CREATE SCHEMA with schema elements")
	}
	name := cs.Schemaname
	if name == "" {
		return nil, pgerror.NotSupported("CREATE SCHEMA AUTHORIZATION")
	}
	return writePlan("CREATE SCHEMA", func(ec *evalContext) error {
		cat := ec.sess.srv.cat
		txn := ec.sess.txn.kv
		existing, err := cat.Schema(txn, name)
		if err != nil {
			return err
		}
		if existing != nil {
			if cs.IfNotExists {
				return ec.notice("42P06", "schema \""+name+"\" already exists, skipping")
			}
			return pgerror.Newf(pgcode.DuplicateSchema, "schema %q already exists", name)
		}
		if strings.HasPrefix(name, "pg_") {
			return pgerror.Newf(pgcode.ReservedName, "unacceptable schema name %q", name).
				WithDetail("The prefix \"pg_\" is reserved for system schemas.")
		}
		_, err = cat.CreateSchema(txn, name, ec.actor().ID)
		return err
	}), nil
}

// checkCreateIn checks that the session's role may create the relation rv
// names. A denial names the schema it would be created in, as PostgreSQL's
// missing CREATE privilege on that schema does.
func (a *analyser) checkCreateIn(rv *pg_query.RangeVar) error {
	schema := rv.Schemaname
	if schema == "" {
		// The first schema on the search_path that exists.
		for _, name := range a.sess.searchPath() {
			if name == "pg_catalog" || name == "pg_temp" {
				continue
			}
			if s, err := a.sess.srv.cat.Schema(a.txn, name); err != nil || s != nil {
				schema = name
				break
			}
		}
	}
	return security.CheckDDL(subjectOf(a.subject()), "create in schema", schema)
}

func (a *analyser) planCreateTable(cs *pg_query.CreateStmt) (*plan, error) {
	if isTemporaryRelation(cs.Relation) {
		return a.planCreateTemporaryTable(cs)
	}
	if err := a.checkCreateIn(cs.Relation); err != nil {
		return nil, err
	}
	switch {
	case len(cs.InhRelations) > 0:
		return nil, pgerror.NotSupported("CREATE TABLE ... INHERITS")
	case cs.Partspec != nil:
		return nil, pgerror.New(pgcode.FeatureNotSupported, "partitioned tables are not supported")
	case cs.OfTypename != nil:
		return nil, pgerror.NotSupported("CREATE TABLE ... OF type")
	}
	t, err := a.tableDescriptor(cs)
	if err != nil {
		return nil, err
	}
	if err := a.applyTableOptions(t, cs.Options); err != nil {
		return nil, err
	}
	schemaName := cs.Relation.Schemaname
	if schemaName == "" {
		schemaName = a.sess.currentSchema()
		if schemaName == "" {
			return nil, pgerror.New(pgcode.InvalidSchemaName, "no schema has been selected to create in")
		}
	}
	return writePlan("CREATE TABLE", func(ec *evalContext) error {
		cat := ec.sess.srv.cat
		txn := ec.sess.txn.kv
		schema, err := cat.Schema(txn, schemaName)
		if err != nil {
			return err
		}
		if schema == nil {
			return pgerror.Newf(pgcode.UndefinedSchema, "schema %q does not exist", schemaName)
		}
		if schema.Virtual {
			return pgerror.Newf(pgcode.InsufficientPrivilege, "permission denied to create %q.%q", schemaName, t.Name).
				WithDetailf("Schema %s is read-only.", schemaName)
		}
		existing, err := cat.Table(txn, schema.ID, t.Name)
		if err != nil {
			return err
		}
		if existing != nil {
			if cs.IfNotExists {
				return ec.notice("42P07", "relation \""+t.Name+"\" already exists, skipping")
			}
			return pgerror.Newf(pgcode.DuplicateTable, "relation %q already exists", t.Name)
		}
		desc := *t
		desc.Columns = append([]catalog.ColumnDescriptor(nil), t.Columns...)
		desc.SchemaID = schema.ID
		desc.Owner = ec.sess.user.ID
		desc.ForeignKeys = append([]catalog.ForeignKey(nil), t.ForeignKeys...)
		if err := cat.CreateTable(txn, &desc); err != nil {
			return err
		}
		ec.sess.txn.markNewTable(desc.ID)
		// A foreign key to the table itself learns its ID only now.
		selfRef := false
		for i := range desc.ForeignKeys {
			if desc.ForeignKeys[i].RefTable == 0 {
				desc.ForeignKeys[i].RefTable = desc.ID
				selfRef = true
			}
		}
		if selfRef {
			return cat.PutTable(txn, &desc)
		}
		return nil
	}), nil
}

// tableDescriptor builds the descriptor of CREATE TABLE from its column
// and constraint definitions.
func (a *analyser) tableDescriptor(cs *pg_query.CreateStmt) (*catalog.TableDescriptor, error) {
	t := &catalog.TableDescriptor{Name: cs.Relation.Relname, Kind: catalog.TableKindShared, Temporary: isTemporaryRelation(cs.Relation)}
	var pkNames []string
	// pkName is the primary key's name when the statement gives one.
	var pkName string
	var uniques [][]string
	// tableConstraints collects CHECK and FOREIGN KEY constraints, from the
	// table and from its columns, for after the columns are known.
	var tableConstraints []*pg_query.Constraint
	nextID := uint32(1)
	for _, elt := range cs.TableElts {
		switch {
		case elt.GetColumnDef() != nil:
			cd := elt.GetColumnDef()
			for _, cn := range cd.Constraints {
				c := cn.GetConstraint()
				switch c.Contype {
				case pg_query.ConstrType_CONSTR_CHECK:
					tableConstraints = append(tableConstraints, c)
				case pg_query.ConstrType_CONSTR_FOREIGN:
					c.FkAttrs = []*pg_query.Node{pg_query.MakeStrNode(cd.Colname)}
					tableConstraints = append(tableConstraints, c)
				case pg_query.ConstrType_CONSTR_PRIMARY:
					pkName = c.Conname
				}
			}
			col, isPK, isUnique, err := a.columnDescriptor(cd, nextID)
			if err != nil {
				return nil, err
			}
			if isUnique {
				uniques = append(uniques, []string{col.Name})
			}
			if t.ColumnByName(col.Name) != nil {
				return nil, pgerror.Newf(pgcode.DuplicateColumn, "column %q specified more than once", col.Name)
			}
			nextID++
			if isPK {
				if pkNames != nil {
					return nil, pgerror.Newf(pgcode.InvalidTableDefinition, "multiple primary keys for table %q are not allowed", t.Name)
				}
				pkNames = []string{col.Name}
			}
			t.Columns = append(t.Columns, col)
		case elt.GetConstraint() != nil:
			c := elt.GetConstraint()
			switch c.Contype {
			case pg_query.ConstrType_CONSTR_PRIMARY:
				if pkNames != nil {
					return nil, pgerror.Newf(pgcode.InvalidTableDefinition, "multiple primary keys for table %q are not allowed", t.Name)
				}
				for _, k := range c.Keys {
					pkNames = append(pkNames, k.GetString_().GetSval())
				}
				pkName = c.Conname
			case pg_query.ConstrType_CONSTR_UNIQUE:
				var cols []string
				for _, k := range c.Keys {
					cols = append(cols, k.GetString_().GetSval())
				}
				uniques = append(uniques, cols)
			case pg_query.ConstrType_CONSTR_CHECK, pg_query.ConstrType_CONSTR_FOREIGN:
				tableConstraints = append(tableConstraints, c)
			default:
				return nil, pgerror.NotSupported(constraintName(c.Contype) + " constraints")
			}
		case elt.GetTableLikeClause() != nil:
			return nil, pgerror.NotSupported("CREATE TABLE ... LIKE")
		}
	}
	if len(t.Columns) == 0 {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "tables without columns are not supported")
	}
	for _, name := range pkNames {
		col := t.ColumnByName(name)
		if col == nil {
			return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q named in key does not exist", name)
		}
		for _, id := range t.PrimaryKey {
			if id == col.ID {
				return nil, pgerror.Newf(pgcode.DuplicateColumn, "column %q appears twice in primary key constraint", name)
			}
		}
		if col.Type.OID == oidJSON {
			return nil, pgerror.Newf(pgcode.UndefinedObject, "data type json has no default operator class for access method \"btree\"")
		}
		col.NotNull = true
		t.PrimaryKey = append(t.PrimaryKey, col.ID)
	}
	if len(pkNames) > 0 {
		// The name is fixed now, so renaming the table keeps it, as in
		// PostgreSQL.
		t.PrimaryKeyName = cmp.Or(pkName, t.Name+"_pkey")
	}
	for _, cols := range uniques {
		ix := catalog.IndexDescriptor{Name: defaultIndexName(t.Name, cols, true), Unique: true, Constraint: true}
		for _, name := range cols {
			col := t.ColumnByName(name)
			if col == nil {
				return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q named in key does not exist", name)
			}
			ix.Columns = append(ix.Columns, col.ID)
		}
		if t.IndexByName(ix.Name) == nil {
			t.AddIndex(ix)
		}
	}
	for _, c := range tableConstraints {
		var err error
		if c.Contype == pg_query.ConstrType_CONSTR_CHECK {
			err = a.addCheck(t, c)
		} else {
			err = a.addForeignKey(t, cs.Relation, c)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(t.PrimaryKey) == 0 {
		t.Columns = append(t.Columns, catalog.ColumnDescriptor{
			ID: nextID, Name: rowIDColumn, Type: plainType(oidInt8), NotNull: true,
			Identity: catalog.IdentityByDefault, Hidden: true,
		})
		t.PrimaryKey = []uint32{nextID}
		nextID++
	}
	t.NextColumnID = nextID
	return t, nil
}

func constraintName(c pg_query.ConstrType) string {
	return strings.TrimPrefix(c.String(), "CONSTR_")
}

// columnDescriptor builds one column. isPK and isUnique report
// column-level PRIMARY KEY and UNIQUE constraints.
func (a *analyser) columnDescriptor(cd *pg_query.ColumnDef, id uint32) (col catalog.ColumnDescriptor, isPK, isUnique bool, err error) {
	col = catalog.ColumnDescriptor{ID: id, Name: cd.Colname}
	typ, serial, err := resolveTypeName(cd.TypeName)
	if err != nil {
		return col, false, false, err
	}
	col.Type = typ
	if serial {
		col.Identity, col.Serial, col.NotNull = catalog.IdentityByDefault, true, true
	}
	if cd.CollClause != nil {
		return col, false, false, pgerror.NotSupported("COLLATE")
	}
	for _, cn := range cd.Constraints {
		c := cn.GetConstraint()
		switch c.Contype {
		case pg_query.ConstrType_CONSTR_NOTNULL:
			col.NotNull = true
		case pg_query.ConstrType_CONSTR_NULL:
			if isPK || col.Serial {
				break
			}
			col.NotNull = false
		case pg_query.ConstrType_CONSTR_PRIMARY:
			isPK = true
			col.NotNull = true
		case pg_query.ConstrType_CONSTR_UNIQUE:
			isUnique = true
		case pg_query.ConstrType_CONSTR_CHECK, pg_query.ConstrType_CONSTR_FOREIGN:
			// tableDescriptor adds these as table constraints.
		case pg_query.ConstrType_CONSTR_DEFAULT:
			if col.Serial || col.Identity != catalog.IdentityNone {
				return col, false, false, pgerror.Newf(pgcode.SyntaxError, "multiple default values specified for column %q of table", col.Name)
			}
			text, err := a.validateDefault(c.RawExpr, col)
			if err != nil {
				return col, false, false, err
			}
			col.Default = text
		case pg_query.ConstrType_CONSTR_IDENTITY:
			if col.Default != "" || col.Serial {
				return col, false, false, pgerror.Newf(pgcode.SyntaxError, "both default and identity specified for column %q", col.Name)
			}
			if len(c.Options) > 0 {
				return col, false, false, pgerror.NotSupported("sequence options of identity columns")
			}
			if !isIntType(col.Type.OID) || col.Type.OID == oidOID {
				return col, false, false, pgerror.Newf(pgcode.InvalidParameterValue, "identity column type must be smallint, integer, or bigint")
			}
			col.Identity = catalog.IdentityByDefault
			if c.GeneratedWhen == "a" {
				col.Identity = catalog.IdentityAlways
			}
			col.NotNull = true
		default:
			return col, false, false, pgerror.NotSupported(constraintName(c.Contype) + " constraints")
		}
	}
	return col, isPK, isUnique, nil
}

// validateDefault checks a DEFAULT expression and returns its SQL text as
// stored in the descriptor.
func (a *analyser) validateDefault(n *pg_query.Node, col catalog.ColumnDescriptor) (string, error) {
	b := &builder{sess: a.sess, params: &paramTypes{}, clause: "DEFAULT expressions"}
	e, err := b.build(n)
	if err != nil {
		return "", err
	}
	if len(b.params.oids) > 0 {
		return "", pgerror.New(pgcode.FeatureNotSupported, "cannot use parameters in a DEFAULT expression")
	}
	if _, err := b.coerceForAssignment(e, col.Type, col.Name); err != nil {
		return "", err
	}
	text, err := deparseExpr(n)
	if err != nil {
		return "", err
	}
	return text, nil
}

// deparseExpr turns an expression node back into SQL text.
func deparseExpr(n *pg_query.Node) (string, error) {
	tree := &pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: &pg_query.SelectStmt{
		TargetList: []*pg_query.Node{{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Val: n}}}},
		Op:         pg_query.SetOperation_SETOP_NONE,
	}}}}}}
	text, err := pg_query.Deparse(tree)
	if err != nil {
		return "", pgerror.Internal("deparsing expression: %v", err)
	}
	return strings.TrimPrefix(text, "SELECT "), nil
}

func (a *analyser) planDrop(ds *pg_query.DropStmt) (*plan, error) {
	switch ds.RemoveType {
	case pg_query.ObjectType_OBJECT_TABLE:
		return a.planDropTables(ds)
	case pg_query.ObjectType_OBJECT_SCHEMA:
		return a.planDropSchemas(ds)
	case pg_query.ObjectType_OBJECT_VIEW:
		return a.planDropViews(ds)
	case pg_query.ObjectType_OBJECT_INDEX:
		return a.planDropIndexes(ds)
	case pg_query.ObjectType_OBJECT_SEQUENCE:
		return a.planDropSequences(ds)
	}
	return nil, pgerror.NotSupported("DROP " + strings.TrimPrefix(ds.RemoveType.String(), "OBJECT_"))
}

func (a *analyser) planDropTables(ds *pg_query.DropStmt) (*plan, error) {
	gate, err := a.ddlGate("drop table", "")
	if err != nil {
		return nil, err
	}
	var names [][]string
	for _, obj := range ds.Objects {
		var parts []string
		for _, p := range obj.GetList().Items {
			parts = append(parts, p.GetString_().GetSval())
		}
		names = append(names, parts)
	}
	cascade := ds.Behavior == pg_query.DropBehavior_DROP_CASCADE
	return writePlan("DROP TABLE", func(ec *evalContext) error {
		cat := ec.sess.srv.cat
		an := &analyser{sess: ec.sess, txn: ec.sess.txn.kv}
		var drop []*catalog.TableDescriptor
		for _, parts := range names {
			rv := &pg_query.RangeVar{Relname: parts[len(parts)-1]}
			if len(parts) > 1 {
				rv.Schemaname = parts[len(parts)-2]
			}
			t, _, err := an.resolveTable(rv)
			if err != nil {
				missing := pgerror.HasCode(err, pgcode.UndefinedTable) || pgerror.HasCode(err, pgcode.UndefinedSchema)
				if missing && ds.MissingOk {
					if err := ec.notice("00000", "table \""+rv.Relname+"\" does not exist, skipping"); err != nil {
						return err
					}
					continue
				}
				if pgerror.HasCode(err, pgcode.UndefinedTable) {
					return pgerror.Newf(pgcode.UndefinedTable, "table %q does not exist", rv.Relname)
				}
				return err
			}
			if t.Kind == catalog.TableKindView || t.Kind == catalog.TableKindSystem || t.Kind == catalog.TableKindSequence {
				return pgerror.Newf(pgcode.WrongObjectType, "%q is not a table", rv.Relname).
					WithHint(dropHint(t))
			}
			if err := gate.check(t); err != nil {
				return err
			}
			drop = append(drop, t)
		}
		for _, t := range drop {
			if err := an.dropReferencingFKs(ec, t, drop, cascade); err != nil {
				return err
			}
		}
		for _, t := range drop {
			if err := cat.DropTable(ec.sess.txn.kv, t); err != nil {
				return err
			}
		}
		return nil
	}), nil
}

// dropReferencingFKs handles the foreign keys of other tables that
// reference t, which is being dropped: without CASCADE they make the drop
// fail, with it they are removed from their tables.
func (a *analyser) dropReferencingFKs(ec *evalContext, t *catalog.TableDescriptor, dropping []*catalog.TableDescriptor, cascade bool) error {
	refs, err := a.referencingFKs(t)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if slices.ContainsFunc(dropping, func(d *catalog.TableDescriptor) bool { return d.ID == ref.child.ID }) {
			continue
		}
		if !cascade {
			return pgerror.Newf(pgcode.DependentObjectsStillExist, "cannot drop table %s because other objects depend on it", t.Name).
				WithDetailf("constraint %s on table %s depends on table %s", ref.fk.Name, ref.child.Name, t.Name).
				WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
		}
		if err := dropForeignKey(ec, ref); err != nil {
			return err
		}
	}
	return nil
}

func (a *analyser) planDropSchemas(ds *pg_query.DropStmt) (*plan, error) {
	if err := security.CheckDDL(subjectOf(a.subject()), "drop schema", ""); err != nil {
		return nil, err
	}
	var names []string
	for _, obj := range ds.Objects {
		names = append(names, obj.GetString_().GetSval())
	}
	cascade := ds.Behavior == pg_query.DropBehavior_DROP_CASCADE
	return writePlan("DROP SCHEMA", func(ec *evalContext) error {
		cat := ec.sess.srv.cat
		txn := ec.sess.txn.kv
		for _, name := range names {
			s, err := cat.Schema(txn, name)
			if err != nil {
				return err
			}
			if s == nil {
				if ds.MissingOk {
					if err := ec.notice("00000", "schema \""+name+"\" does not exist, skipping"); err != nil {
						return err
					}
					continue
				}
				return pgerror.Newf(pgcode.UndefinedSchema, "schema %q does not exist", name)
			}
			if _, err := cat.DropSchema(txn, s, cascade); err != nil {
				return err
			}
		}
		return nil
	}), nil
}

// applyTableOptions sets the kind, access level and TTL of a new table from
// WITH (type = ..., access_level = ..., ttl_seconds = N) and from pgkeep's
// CREATE [USER | SHARED | STREAM] TABLE ... ACCESS LEVEL ... TTL ... clauses.
func (a *analyser) applyTableOptions(t *catalog.TableDescriptor, options []*pg_query.Node) error {
	opts := tableOptions{}
	if a.tableOpts != nil {
		opts = *a.tableOpts
	}
	for _, o := range options {
		de := o.GetDefElem()
		if de == nil {
			continue
		}
		value := defElemString(de)
		switch strings.ToLower(de.Defname) {
		case "type":
			opts.kind = strings.ToLower(value)
		case "access_level":
			opts.accessLevel = strings.ToLower(value)
		case "ttl_seconds":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for ttl_seconds: %q", value)
			}
			opts.ttl = &n
		case "fillfactor":
			// pgbench -i sets it. The pebble store has no heap pages to
			// leave room in, so a valid value is accepted and ignored.
			if err := checkFillfactor(value); err != nil {
				return err
			}
		default:
			return pgerror.Newf(pgcode.InvalidParameterValue, "unrecognized parameter %q", de.Defname)
		}
	}

	t.Kind = catalog.TableKindShared
	if opts.kind != "" {
		kind, err := security.ParseTableKind(opts.kind)
		if err != nil || kind == security.KindSystem {
			return pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for type: %q", opts.kind).
				WithHint("Valid table types are user, shared and stream.")
		}
		t.Kind = opts.kind
	}
	if opts.accessLevel != "" {
		if t.Kind != catalog.TableKindShared {
			return pgerror.Newf(pgcode.InvalidParameterValue, "access_level applies only to shared tables, not to a %s table", t.Kind)
		}
		if _, err := security.ParseAccessLevel(opts.accessLevel); err != nil {
			return err
		}
		t.AccessLevel = opts.accessLevel
	}
	if t.Kind == catalog.TableKindShared && t.AccessLevel == "" {
		t.AccessLevel = catalog.AccessPrivate
	}
	switch {
	case opts.ttl != nil && t.Kind != catalog.TableKindStream:
		return pgerror.Newf(pgcode.InvalidParameterValue, "ttl_seconds applies only to stream tables, not to a %s table", t.Kind)
	case opts.ttl != nil && *opts.ttl <= 0:
		return pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for ttl_seconds: %d", *opts.ttl).WithHint("The TTL must be a positive number of seconds.")
	case opts.ttl == nil && t.Kind == catalog.TableKindStream:
		return pgerror.New(pgcode.InvalidParameterValue, "a stream table needs a TTL").
			WithHint("Add TTL <seconds> or WITH (ttl_seconds = <seconds>).")
	case opts.ttl != nil:
		t.TTLSeconds = *opts.ttl
	}
	return nil
}

// checkFillfactor validates a table's fillfactor as PostgreSQL does: an
// integer percentage from 10 to 100.
func checkFillfactor(value string) error {
	n, err := strconv.Atoi(value)
	if err != nil {
		return pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for integer option \"fillfactor\": %s", value)
	}
	if n < 10 || n > 100 {
		return pgerror.Newf(pgcode.InvalidParameterValue, "value %s out of bounds for option \"fillfactor\"", value).
			WithDetail(`Valid values are between "10" and "100".`)
	}
	return nil
}

// defElemString returns the value of a reloption as text.
func defElemString(de *pg_query.DefElem) string {
	switch {
	case de.Arg == nil:
		return ""
	case de.Arg.GetString_() != nil:
		return de.Arg.GetString_().GetSval()
	case de.Arg.GetInteger() != nil:
		return strconv.Itoa(int(de.Arg.GetInteger().GetIval()))
	case de.Arg.GetFloat() != nil:
		return de.Arg.GetFloat().GetFval()
	case de.Arg.GetTypeName() != nil:
		names := de.Arg.GetTypeName().Names
		return names[len(names)-1].GetString_().GetSval()
	}
	return ""
}

// planAlterAccessLevel handles ALTER TABLE t SET ACCESS LEVEL l.
func (a *analyser) planAlterAccessLevel(al *alterAccessLevelStmt) (*plan, error) {
	level, err := security.ParseAccessLevel(al.level)
	if err != nil {
		return nil, err
	}
	t, _, err := a.resolveTable(&pg_query.RangeVar{Schemaname: al.schema, Relname: al.table})
	if err != nil {
		return nil, err
	}
	if err := security.CheckSetAccessLevel(subjectOf(a.subject()), securityTable(t), level); err != nil {
		return nil, err
	}
	tableID := t.ID
	return writePlan("ALTER TABLE", func(ec *evalContext) error {
		cat := ec.sess.srv.cat
		current, err := cat.TableByID(ec.sess.txn.kv, tableID)
		if err != nil {
			return err
		}
		if current == nil {
			return pgerror.Newf(pgcode.UndefinedTable, "relation %q does not exist", al.table)
		}
		if err := ec.audit("change access level", current.Name, current.AccessLevel+" -> "+level.String()); err != nil {
			return err
		}
		current.AccessLevel = level.String()
		return cat.PutTable(ec.sess.txn.kv, current)
	}), nil
}

// addCheck adds a CHECK constraint to a table after checking that its
// condition compiles to a boolean over the table's columns. An unnamed
// constraint gets PostgreSQL's name: see defaultCheckName.
func (a *analyser) addCheck(t *catalog.TableDescriptor, c *pg_query.Constraint) error {
	b := &builder{sess: a.sess, scope: tableScope(t, t.Name), params: &paramTypes{}, clause: "check constraints"}
	e, err := b.build(c.RawExpr)
	if err != nil {
		return err
	}
	if _, err := b.requireBool(e, "CHECK"); err != nil {
		return err
	}
	text, err := deparseExpr(c.RawExpr)
	if err != nil {
		return err
	}
	name := c.Conname
	if name == "" {
		name = defaultCheckName(t, text)
	}
	t.Checks = append(t.Checks, catalog.CheckConstraint{Name: name, Expr: text})
	return nil
}

// defaultCheckName names an unnamed CHECK constraint as PostgreSQL 15
// does: table_column_check when the condition reads exactly one column,
// else table_check, with the first number from 1 up appended that makes
// the name unique among the table's constraints.
//
// NOTE: PostgreSQL also avoids the constraint names of other tables in
// the schema and shortens names longer than 63 bytes; pgkeep does
// neither.
func defaultCheckName(t *catalog.TableDescriptor, condition string) string {
	base := t.Name + "_check"
	if cols := checkColumns(t, catalog.CheckConstraint{Expr: condition}); len(cols) == 1 {
		base = t.Name + "_" + t.ColumnByID(cols[0]).Name + "_check"
	}
	name := base
	for i := 1; constraintTaken(t, name); i++ {
		name = base + itoa(int64(i))
	}
	return name
}

// addForeignKey adds a FOREIGN KEY constraint to a new table. A reference
// to the table itself gets RefTable 0 until the table has its ID.
func (a *analyser) addForeignKey(t *catalog.TableDescriptor, self *pg_query.RangeVar, c *pg_query.Constraint) error {
	fk := catalog.ForeignKey{Name: c.Conname, OnDelete: fkAction(c.FkDelAction), OnUpdate: fkAction(c.FkUpdAction)}
	// The grammar itself rejects MATCH PARTIAL.
	if c.FkMatchtype == catalog.FKMatchFull {
		fk.Match = catalog.FKMatchFull
	}
	var childNames []string
	for _, n := range c.FkAttrs {
		name := n.GetString_().GetSval()
		col := t.ColumnByName(name)
		if col == nil {
			return pgerror.Newf(pgcode.UndefinedColumn, "column %q referenced in foreign key constraint does not exist", name)
		}
		childNames = append(childNames, name)
		fk.Columns = append(fk.Columns, col.ID)
	}
	if fk.Name == "" {
		base := t.Name + "_" + strings.Join(childNames, "_") + "_fkey"
		fk.Name = base
		for i := 1; constraintTaken(t, fk.Name); i++ {
			fk.Name = base + itoa(int64(i))
		}
	}
	parent := t
	selfRef := c.Pktable.Relname == t.Name && (c.Pktable.Schemaname == "" || c.Pktable.Schemaname == self.Schemaname)
	if !selfRef {
		p, _, err := a.resolveTable(c.Pktable)
		if err != nil {
			return err
		}
		if p.Kind == catalog.TableKindView || p.Kind == catalog.TableKindSystem || p.Kind == catalog.TableKindSequence {
			return pgerror.Newf(pgcode.WrongObjectType, "referenced relation %q is not a table", p.Name)
		}
		if err := checkReferencePersistence(t, p); err != nil {
			return err
		}
		parent = p
		fk.RefTable = p.ID
	}
	if len(c.PkAttrs) == 0 {
		for _, id := range parent.PrimaryKey {
			if col := parent.ColumnByID(id); col != nil && !col.Hidden {
				fk.RefColumns = append(fk.RefColumns, id)
			}
		}
		if len(fk.RefColumns) == 0 {
			return pgerror.Newf(pgcode.UndefinedObject, "there is no primary key for referenced table %q", parent.Name)
		}
	}
	for _, n := range c.PkAttrs {
		name := n.GetString_().GetSval()
		col := parent.ColumnByName(name)
		if col == nil {
			return pgerror.Newf(pgcode.UndefinedColumn, "column %q referenced in foreign key constraint does not exist", name)
		}
		fk.RefColumns = append(fk.RefColumns, col.ID)
	}
	if len(fk.RefColumns) != len(fk.Columns) {
		return pgerror.New(pgcode.InvalidForeignKey, "number of referencing and referenced columns for foreign key disagree")
	}
	for i := range fk.Columns {
		ct, pt := t.ColumnByID(fk.Columns[i]).Type.OID, parent.ColumnByID(fk.RefColumns[i]).Type.OID
		if _, ok := commonType(ct, pt); !ok {
			return pgerror.Newf(pgcode.DatatypeMismatch, "foreign key constraint %q cannot be implemented", fk.Name).
				WithDetailf("Key columns are of incompatible types: %s and %s.", typeName(ct), typeName(pt))
		}
	}
	if !selfRef {
		if _, err := a.resolveFK(t, fk); err != nil {
			return err
		}
	}
	t.ForeignKeys = append(t.ForeignKeys, fk)
	return nil
}

// fkAction maps the grammar's action letter; empty means NO ACTION.
func fkAction(a string) string {
	if a == "" {
		return catalog.FKNoAction
	}
	return a
}
