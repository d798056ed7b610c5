package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/security"
)

// planCreateView handles CREATE [OR REPLACE] VIEW name [(columns)] AS
// SELECT. The view stores its query as text. Every reference analyses it
// again for the user reading it, so a user reading a view of a USER table
// reads only its own rows.
func (a *analyser) planCreateView(vs *pg_query.ViewStmt) (*plan, error) {
	if err := a.checkCreateIn(vs.View); err != nil {
		return nil, err
	}
	if len(vs.Options) > 0 || vs.WithCheckOption != pg_query.ViewCheckOption_NO_CHECK_OPTION {
		return nil, pgerror.NotSupported("view options")
	}
	if vs.View.Relpersistence == "t" {
		return nil, pgerror.NotSupported("temporary views")
	}
	sel := vs.Query.GetSelectStmt()
	if sel == nil {
		return nil, pgerror.NotSupported("this view query")
	}
	sp, err := a.child(nil).analyseSelect(sel)
	if err != nil {
		return nil, err
	}
	if err := a.rejectTemporaryReferences(vs.Query); err != nil {
		return nil, err
	}
	if len(a.params.oids) > 0 {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "cannot use parameters in a view definition")
	}
	var aliases []string
	for _, n := range vs.Aliases {
		aliases = append(aliases, n.GetString_().GetSval())
	}
	if len(aliases) > len(sp.targets) {
		return nil, pgerror.New(pgcode.SyntaxError, "CREATE VIEW specifies more column names than columns")
	}
	desc := &catalog.TableDescriptor{Name: vs.View.Relname, Kind: catalog.TableKindView}
	seen := map[string]bool{}
	for i, e := range sp.targets {
		name := sp.names[i]
		if i < len(aliases) {
			name = aliases[i]
		}
		if seen[name] {
			return nil, pgerror.Newf(pgcode.DuplicateColumn, "column %q specified more than once", name)
		}
		seen[name] = true
		typ := e.resultType()
		if typ.OID == oidUnknown {
			typ = plainType(oidText)
		}
		desc.Columns = append(desc.Columns, catalog.ColumnDescriptor{ID: uint32(i + 1), Name: name, Type: typ})
	}
	text, err := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: vs.Query}}})
	if err != nil {
		return nil, pgerror.Internal("deparsing the view query: %v", err)
	}
	desc.ViewQuery = text
	schemaName := vs.View.Schemaname
	if schemaName == "" {
		schemaName = a.sess.currentSchema()
	}
	return writePlan("CREATE VIEW", func(ec *evalContext) error {
		cat := ec.sess.srv.cat
		txn := ec.sess.txn.kv
		schema, err := cat.Schema(txn, schemaName)
		if err != nil {
			return err
		}
		if schema == nil || schema.Virtual {
			return pgerror.Newf(pgcode.InvalidSchemaName, "schema %q does not exist", schemaName)
		}
		existing, err := cat.Table(txn, schema.ID, desc.Name)
		if err != nil {
			return err
		}
		if existing != nil {
			if !vs.Replace || existing.Kind != catalog.TableKindView {
				return pgerror.Newf(pgcode.DuplicateTable, "relation %q already exists", desc.Name)
			}
			if err := cat.DropTable(txn, existing); err != nil {
				return err
			}
		}
		v := *desc
		v.SchemaID = schema.ID
		v.Owner = ec.sess.user.ID
		return cat.CreateTable(txn, &v)
	}), nil
}

// planDropViews handles DROP VIEW [IF EXISTS] names.
func (a *analyser) planDropViews(ds *pg_query.DropStmt) (*plan, error) {
	if err := security.CheckDDL(subjectOf(a.subject()), "drop view", ""); err != nil {
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
	return writePlan("DROP VIEW", func(ec *evalContext) error {
		for _, parts := range names {
			rv := &pg_query.RangeVar{Relname: parts[len(parts)-1]}
			if len(parts) > 1 {
				rv.Schemaname = parts[len(parts)-2]
			}
			an := &analyser{sess: ec.sess, txn: ec.sess.txn.kv}
			t, _, err := an.resolveTable(rv)
			if err != nil && !pgerror.HasCode(err, pgcode.UndefinedTable) {
				return err
			}
			if t == nil || t.Kind != catalog.TableKindView {
				if ds.MissingOk {
					if err := ec.notice("00000", "view \""+rv.Relname+"\" does not exist, skipping"); err != nil {
						return err
					}
					continue
				}
				if t != nil {
					return pgerror.Newf(pgcode.WrongObjectType, "%q is not a view", rv.Relname).WithHint(dropHint(t))
				}
				return pgerror.Newf(pgcode.UndefinedTable, "view %q does not exist", rv.Relname)
			}
			if err := ec.sess.srv.cat.DropTable(ec.sess.txn.kv, t); err != nil {
				return err
			}
		}
		return nil
	}), nil
}
