package executor

import (
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/security"
)

// This file implements temporary tables and sequences. Each session that
// creates one gets a schema of its own, pg_temp_N, stored in kv like any
// schema, and the rows of its temporary tables are stored like those of
// permanent tables. What makes them temporary:
//
//   - only the owning session resolves names in its schema: it searches
//     pg_temp_N before the search_path and under the alias pg_temp, and
//     another session naming pg_temp_N explicitly gets an error;
//   - Session.Close drops the schema with its tables and rows, and the
//     node drops every temporary schema at start-up, after a crash;
//   - creating one changes only the session's own plan version, so plans
//     cached by other sessions stay valid.

// temporaryState is the per-session state of temporary objects.
type temporaryState struct {
	// schema is the name of the session's temporary schema, chosen when the
	// session first creates a temporary object; "" before. The schema
	// itself exists only while its creating transaction has not rolled
	// back.
	schema string
	// version counts the session's changes to its temporary objects. A
	// cached plan is valid only for the version it was analysed at,
	// because a new temporary table may hide a permanent one it resolved.
	version uint64
	// changedInTxn is set when the open transaction created a temporary
	// object; ending the transaction then changes version again, since a
	// rollback undoes the creation.
	changedInTxn bool
}

// endTxn records the end of the open transaction.
func (t *temporaryState) endTxn() {
	if t.changedInTxn {
		t.version++
		t.changedInTxn = false
	}
}

// temporaryDDL records that a statement created a temporary object.
func (s *Session) temporaryDDL() {
	s.temp.version++
	s.temp.changedInTxn = true
}

// isTemporaryRelation reports whether CREATE names a temporary relation:
// CREATE TEMP[ORARY] or a name qualified with pg_temp.
func isTemporaryRelation(rv *pg_query.RangeVar) bool {
	return rv.Relpersistence == "t" || rv.Schemaname == "pg_temp"
}

// checkTemporaryTarget rejects a temporary relation in another schema than
// pg_temp, and UNLOGGED ones, like PostgreSQL.
func checkTemporaryTarget(rv *pg_query.RangeVar) error {
	if rv.Relpersistence == "u" {
		return pgerror.New(pgcode.InvalidTableDefinition, "only temporary relations may be created in temporary schemas").WithPosition(rv.Location + 1)
	}
	if rv.Schemaname != "" && rv.Schemaname != "pg_temp" {
		return pgerror.New(pgcode.InvalidTableDefinition, "cannot create temporary relation in non-temporary schema").WithPosition(rv.Location + 1)
	}
	if rv.Catalogname != "" {
		return pgerror.Newf(pgcode.FeatureNotSupported, "cross-database references are not implemented: %s.%s.%s", rv.Catalogname, rv.Schemaname, rv.Relname).WithPosition(rv.Location + 1)
	}
	return nil
}

// temporarySchema returns the session's temporary schema, or nil when it
// does not exist. With create, a missing schema is created in txn.
func (s *Session) temporarySchema(txn kv.Txn, create bool) (*catalog.SchemaDescriptor, error) {
	if s.temp.schema == "" {
		if !create {
			return nil, nil
		}
		s.temp.schema = catalog.TemporarySchemaPrefix + strconv.FormatUint(s.srv.tempSchemas.Add(1), 10)
	}
	cat := s.srv.cat
	schema, err := cat.Schema(txn, s.temp.schema)
	if err != nil || schema != nil || !create {
		return schema, err
	}
	return cat.CreateTemporarySchema(txn, s.temp.schema)
}

// resolveTemporary looks a RangeVar up among the session's temporary
// relations, which PostgreSQL searches before the search_path unless the
// search_path lists pg_temp itself. It returns a nil table when the
// caller should go on with the search_path.
func (a *analyser) resolveTemporary(rv *pg_query.RangeVar) (*catalog.TableDescriptor, *catalog.SchemaDescriptor, error) {
	s := a.sess
	switch {
	case rv.Schemaname == "pg_temp" || (rv.Schemaname != "" && rv.Schemaname == s.temp.schema):
		if t, schema, err := a.temporaryRelation(rv.Relname); t != nil || err != nil {
			return t, schema, err
		}
		return nil, nil, pgerror.Newf(pgcode.UndefinedTable, "relation %q does not exist", rv.Schemaname+"."+rv.Relname).WithPosition(rv.Location + 1)
	case strings.HasPrefix(rv.Schemaname, catalog.TemporarySchemaPrefix):
		return nil, nil, a.checkOtherSessionTable(rv)
	case rv.Schemaname != "" || s.temp.schema == "":
		return nil, nil, nil
	}
	if path := s.searchPath(); slices.Contains(path, "pg_temp") {
		// A search_path that names pg_temp puts the schemas before it
		// first.
		cat := s.srv.cat
		for _, name := range path[:slices.Index(path, "pg_temp")] {
			schema, err := cat.Schema(a.txn, name)
			if err != nil {
				return nil, nil, err
			}
			if schema == nil || schema.Virtual {
				continue
			}
			if t, err := cat.Table(a.txn, schema.ID, rv.Relname); err != nil || t != nil {
				return nil, nil, err
			}
		}
	}
	return a.temporaryRelation(rv.Relname)
}

// temporaryRelation returns the session's temporary relation of the given
// name, or nil.
func (a *analyser) temporaryRelation(name string) (*catalog.TableDescriptor, *catalog.SchemaDescriptor, error) {
	schema, err := a.sess.temporarySchema(a.txn, false)
	if err != nil || schema == nil {
		return nil, nil, err
	}
	t, err := a.sess.srv.cat.Table(a.txn, schema.ID, name)
	if err != nil || t == nil {
		return nil, nil, err
	}
	return t, schema, nil
}

// checkOtherSessionTable rejects a reference to a table in another
// session's temporary schema.
func (a *analyser) checkOtherSessionTable(rv *pg_query.RangeVar) error {
	cat := a.sess.srv.cat
	schema, err := cat.Schema(a.txn, rv.Schemaname)
	if err != nil || schema == nil || !schema.Temporary {
		return err
	}
	t, err := cat.Table(a.txn, schema.ID, rv.Relname)
	if err != nil || t == nil {
		return err
	}
	return pgerror.New(pgcode.FeatureNotSupported, "cannot access temporary tables of other sessions").WithPosition(rv.Location + 1)
}

// planCreateTemporaryTable handles CREATE TEMPORARY TABLE. Every role may
// create temporary tables, as PostgreSQL grants TEMP to PUBLIC. The table
// is a SHARED table that only its session can name, so access levels do
// not apply to it.
func (a *analyser) planCreateTemporaryTable(cs *pg_query.CreateStmt) (*plan, error) {
	rv := cs.Relation
	if err := checkTemporaryTarget(rv); err != nil {
		return nil, err
	}
	switch {
	case cs.Oncommit == pg_query.OnCommitAction_ONCOMMIT_DROP:
		return nil, pgerror.NotSupported("ON COMMIT DROP")
	case cs.Oncommit == pg_query.OnCommitAction_ONCOMMIT_DELETE_ROWS:
		return nil, pgerror.NotSupported("ON COMMIT DELETE ROWS")
	case len(cs.InhRelations) > 0:
		return nil, pgerror.NotSupported("CREATE TABLE ... INHERITS")
	case cs.Partspec != nil:
		return nil, pgerror.NotSupported("partitioned tables")
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
	if t.Kind != catalog.TableKindShared {
		return nil, pgerror.Newf(pgcode.FeatureNotSupported, "temporary %s tables are not supported", t.Kind).
			WithHint("A temporary table is always a shared table, private to its session.")
	}
	return writePlan("CREATE TABLE", func(ec *evalContext) error {
		cat := ec.sess.srv.cat
		txn := ec.sess.txn.kv
		schema, err := ec.sess.temporarySchema(txn, true)
		if err != nil {
			return err
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
		desc.ForeignKeys = append([]catalog.ForeignKey(nil), t.ForeignKeys...)
		desc.SchemaID = schema.ID
		desc.Owner = ec.sess.user.ID
		if err := cat.CreateTemporaryTable(txn, &desc); err != nil {
			return err
		}
		ec.sess.txn.markNewTable(desc.ID)
		ec.sess.temporaryDDL()
		return nil
	}), nil
}

// otherSessionSchema reports whether s is the temporary schema of another
// session, which this session must not list.
func (s *Session) otherSessionSchema(schema *catalog.SchemaDescriptor) bool {
	return schema.Temporary && schema.Name != s.temp.schema
}

// rejectTemporaryReferences fails when a view's query names a temporary
// relation. PostgreSQL makes such a view temporary itself, which pgkeep
// does not implement; a permanent view would show other sessions other
// tables of the same name.
func (a *analyser) rejectTemporaryReferences(query *pg_query.Node) error {
	if a.sess.temp.schema == "" {
		return nil
	}
	var err error
	walkMessages(query.ProtoReflect(), func(m protoreflect.Message) {
		rv, ok := m.Interface().(*pg_query.RangeVar)
		if !ok || err != nil {
			return
		}
		t, _, resolveErr := a.resolveTemporary(rv)
		if resolveErr == nil && t != nil {
			err = pgerror.Newf(pgcode.FeatureNotSupported, "views on temporary relations are not supported: %q is temporary", rv.Relname).
				WithPosition(rv.Location + 1)
		}
	})
	return err
}

// checkReferencePersistence rejects a foreign key between a temporary and
// a permanent table, in either direction, as PostgreSQL does.
func checkReferencePersistence(child, parent *catalog.TableDescriptor) error {
	switch {
	case child.Temporary && !parent.Temporary:
		return pgerror.New(pgcode.InvalidTableDefinition, "constraints on temporary tables may reference only temporary tables")
	case !child.Temporary && parent.Temporary:
		return pgerror.New(pgcode.InvalidTableDefinition, "constraints on permanent tables may reference only permanent tables")
	}
	return nil
}

// ddlGate applies the DDL role check to statements that may also name the
// session's temporary objects, which their session may change whatever its
// role. A denial is returned at once when the session has no temporary
// schema; otherwise check applies it to each resolved object.
type ddlGate struct {
	denied error
}

func (a *analyser) ddlGate(action, object string) (ddlGate, error) {
	err := security.CheckDDL(subjectOf(a.subject()), action, object)
	if err != nil && a.sess.temp.schema == "" {
		return ddlGate{}, err
	}
	return ddlGate{denied: err}, nil
}

// check returns the denial for a permanent object, nil for a temporary one.
func (g ddlGate) check(t *catalog.TableDescriptor) error {
	if t.Temporary {
		return nil
	}
	return g.denied
}

// dropTemporaryObjects drops the session's temporary schema with every
// table, sequence and row in it. It runs when the session ends, after its
// transaction has rolled back.
func (s *Session) dropTemporaryObjects() {
	if s.temp.schema == "" {
		return
	}
	cat := s.srv.cat
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		var txn kv.Txn
		if txn, err = cat.Engine().Begin(); err != nil {
			break
		}
		if err = cat.DropTemporarySchema(txn, s.temp.schema); err != nil {
			txn.Rollback()
			break
		}
		if err = txn.Commit(); !pgerror.HasCode(err, pgcode.SerializationFailure) {
			break
		}
	}
	if err != nil {
		// The node drops leftover temporary schemas at its next start.
		s.srv.logger.Error("dropping the temporary tables of a session failed",
			"schema", s.temp.schema, "user", s.user.Name, "pid", s.pid, "error", err)
	}
}
