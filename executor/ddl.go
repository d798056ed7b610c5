package executor

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
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
	if err := a.requireRole("create schemas", catalog.RoleDBA, catalog.RoleSystem); err != nil {
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
		_, err = cat.CreateSchema(txn, name)
		return err
	}), nil
}

func (a *analyser) planCreateTable(cs *pg_query.CreateStmt) (*plan, error) {
	if err := a.requireRole("create tables", catalog.RoleDBA, catalog.RoleSystem); err != nil {
		return nil, err
	}
	switch {
	case len(cs.InhRelations) > 0:
		return nil, pgerror.NotSupported("CREATE TABLE ... INHERITS")
	case cs.Partspec != nil:
		return nil, pgerror.NotSupported("partitioned tables")
	case cs.OfTypename != nil:
		return nil, pgerror.NotSupported("CREATE TABLE ... OF type")
	case cs.Relation.Relpersistence == "t":
		return nil, pgerror.NotSupported("temporary tables")
	}
	if len(cs.Options) > 0 {
		return nil, pgerror.NotSupported("CREATE TABLE ... WITH options")
	}
	t, err := a.tableDescriptor(cs)
	if err != nil {
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
		return cat.CreateTable(txn, &desc)
	}), nil
}

// tableDescriptor builds the descriptor of CREATE TABLE from its column
// and constraint definitions.
func (a *analyser) tableDescriptor(cs *pg_query.CreateStmt) (*catalog.TableDescriptor, error) {
	t := &catalog.TableDescriptor{Name: cs.Relation.Relname, Kind: catalog.TableKindShared}
	var pkNames []string
	nextID := uint32(1)
	for _, elt := range cs.TableElts {
		switch {
		case elt.GetColumnDef() != nil:
			cd := elt.GetColumnDef()
			col, isPK, err := a.columnDescriptor(cd, nextID)
			if err != nil {
				return nil, err
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
			default:
				return nil, pgerror.NotSupported(constraintName(c.Contype) + " constraints")
			}
		case elt.GetTableLikeClause() != nil:
			return nil, pgerror.NotSupported("CREATE TABLE ... LIKE")
		}
	}
	if len(t.Columns) == 0 {
		return nil, pgerror.NotSupported("tables without columns")
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

// columnDescriptor builds one column. isPK reports a column-level PRIMARY
// KEY.
func (a *analyser) columnDescriptor(cd *pg_query.ColumnDef, id uint32) (catalog.ColumnDescriptor, bool, error) {
	col := catalog.ColumnDescriptor{ID: id, Name: cd.Colname}
	typ, serial, err := resolveTypeName(cd.TypeName)
	if err != nil {
		return col, false, err
	}
	col.Type = typ
	if serial {
		col.Identity, col.Serial, col.NotNull = catalog.IdentityByDefault, true, true
	}
	if cd.CollClause != nil {
		return col, false, pgerror.NotSupported("COLLATE")
	}
	isPK := false
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
		case pg_query.ConstrType_CONSTR_DEFAULT:
			if col.Serial || col.Identity != catalog.IdentityNone {
				return col, false, pgerror.Newf(pgcode.SyntaxError, "multiple default values specified for column %q of table", col.Name)
			}
			text, err := a.validateDefault(c.RawExpr, col)
			if err != nil {
				return col, false, err
			}
			col.Default = text
		case pg_query.ConstrType_CONSTR_IDENTITY:
			if col.Default != "" || col.Serial {
				return col, false, pgerror.Newf(pgcode.SyntaxError, "both default and identity specified for column %q", col.Name)
			}
			if len(c.Options) > 0 {
				return col, false, pgerror.NotSupported("sequence options of identity columns")
			}
			if !isIntType(col.Type.OID) || col.Type.OID == oidOID {
				return col, false, pgerror.Newf(pgcode.InvalidParameterValue, "identity column type must be smallint, integer, or bigint")
			}
			col.Identity = catalog.IdentityByDefault
			if c.GeneratedWhen == "a" {
				col.Identity = catalog.IdentityAlways
			}
			col.NotNull = true
		default:
			return col, false, pgerror.NotSupported(constraintName(c.Contype) + " constraints")
		}
	}
	return col, isPK, nil
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
	}
	return nil, pgerror.NotSupported("DROP " + strings.TrimPrefix(ds.RemoveType.String(), "OBJECT_"))
}

func (a *analyser) planDropTables(ds *pg_query.DropStmt) (*plan, error) {
	if err := a.requireRole("drop tables", catalog.RoleDBA, catalog.RoleSystem); err != nil {
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
	return writePlan("DROP TABLE", func(ec *evalContext) error {
		cat := ec.sess.srv.cat
		for _, parts := range names {
			rv := &pg_query.RangeVar{Relname: parts[len(parts)-1]}
			if len(parts) > 1 {
				rv.Schemaname = parts[len(parts)-2]
			}
			an := &analyser{sess: ec.sess, txn: ec.sess.txn.kv}
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
			if err := cat.DropTable(ec.sess.txn.kv, t); err != nil {
				return err
			}
		}
		return nil
	}), nil
}

func (a *analyser) planDropSchemas(ds *pg_query.DropStmt) (*plan, error) {
	if err := a.requireRole("drop schemas", catalog.RoleDBA, catalog.RoleSystem); err != nil {
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
