package executor

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
)

// plan is an analysed statement, reusable across executions until the
// catalog changes.
type plan struct {
	version  uint64
	userRole string
	// timeZone is the session time zone the plan's constants were folded in.
	timeZone string
	// searchPath is the search_path its unqualified names were resolved in.
	searchPath string
	// tempVersion is the session's temporary objects version it was
	// analysed at (see temporaryState).
	tempVersion uint64
	// preparedVersion is the session's count of PREPARE and DEALLOCATE
	// statements it was analysed at, since EXECUTE compiles its arguments
	// for the prepared statement's parameter types.
	preparedVersion uint64
	// cols are the result columns, nil for statements without rows.
	cols      []protocol.Column
	paramOIDs []uint32
	run       func(ec *evalContext) (*result, error)
	// retryable marks INSERT, UPDATE and DELETE, which may run again when
	// their implicit transaction fails to commit (retry.go).
	retryable bool
}

// result is the outcome of one execution.
type result struct {
	// rows streams the result rows; nil for statements without rows.
	rows rowIter
	// tag is the command tag. An empty tag with rows means "SELECT <count>".
	tag string
	// copy runs a COPY, which exchanges data with the client through sink,
	// and returns the number of rows copied.
	copy func(ec *evalContext, sink protocol.ResultSink) (int64, error)
	// withSink, when set, runs before the command tag is sent, for
	// statements that act on the connection (DEALLOCATE, DISCARD ALL).
	withSink func(sink protocol.ResultSink) error
}

// rowIter produces rows one at a time. next returns a nil row at the end.
// The returned slice may be reused by the next call.
type rowIter interface {
	next(ec *evalContext) ([]any, error)
	close()
}

// sliceIter returns materialized rows.
type sliceIter struct {
	rows [][]any
	pos  int
}

func (it *sliceIter) next(*evalContext) ([]any, error) {
	if it.pos >= len(it.rows) {
		return nil, nil
	}
	it.pos++
	return it.rows[it.pos-1], nil
}

func (it *sliceIter) close() {}

// preparedStatement implements protocol.PreparedStatement.
type preparedStatement struct {
	sess      *Session
	stmt      *parsedStmt
	empty     bool
	paramOIDs []uint32
	cols      []protocol.Column
}

func (ps *preparedStatement) ParamOIDs() []uint32        { return ps.paramOIDs }
func (ps *preparedStatement) Columns() []protocol.Column { return ps.cols }

// portal implements protocol.Portal.
type portal struct {
	sess   *Session
	stmt   *preparedStatement
	plan   *plan
	params []any
	empty  bool

	res    *result
	ec     *evalContext
	count  int64
	done   bool
	closed bool
}

func (p *portal) Columns() []protocol.Column {
	if p.plan != nil {
		return p.plan.cols
	}
	if p.stmt != nil {
		return p.stmt.cols
	}
	return nil
}

// Close releases the portal's row iterator.
func (p *portal) Close() {
	if p.closed {
		return
	}
	p.closed = true
	if p.res != nil && p.res.rows != nil {
		p.res.rows.close()
	}
	delete(p.sess.portals, p)
}

// Execute runs the portal, sending up to maxRows rows.
func (p *portal) Execute(ctx context.Context, sink protocol.ResultSink, maxRows int) (bool, error) {
	if p.empty {
		return false, sink.EmptyQuery()
	}
	if p.closed && p.res == nil {
		return false, pgerror.New(pgcode.InvalidCursorState, "portal is closed")
	}
	retry := p.sess.beginImplicitRetry(sink)
	suspended, err := p.execute(ctx, sink, maxRows)
	if err == nil && !suspended {
		p.sess.recordImplicitRetry(retry, p)
	}
	if err != nil {
		p.sess.notices = p.sess.notices[:0]
		p.sess.statementFailed()
		p.Close()
		return false, cancelError(ctx, err)
	}
	return suspended, nil
}

func (p *portal) execute(ctx context.Context, sink protocol.ResultSink, maxRows int) (bool, error) {
	s := p.sess
	if timeout := s.statementTimeout(); timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if p.res == nil {
		if p.done {
			return false, nil
		}
		if p.plan == nil {
			pl, err := s.planForExec(ctx, p.stmt.stmt, p.stmt.paramOIDs)
			if err != nil {
				return false, err
			}
			// The client described the statement when it was prepared; rows
			// of another shape would be decoded wrongly.
			if !sameColumns(pl.cols, p.stmt.cols) {
				return false, pgerror.New(pgcode.FeatureNotSupported, "cached plan must not change result type")
			}
			p.plan = pl
		}
		if s.txn == nil {
			if err := s.ensureTxn(); err != nil {
				return false, err
			}
		}
		// A statement outside BEGIN ... COMMIT starts its own transaction.
		statementTime := s.txn.startTime
		if s.txn.explicit {
			statementTime = time.Now().UTC().Truncate(time.Microsecond)
		}
		p.ec = &evalContext{ctx: ctx, sess: s, params: p.params, txnTime: s.txn.startTime, statementTime: statementTime}
		res, err := p.plan.run(p.ec)
		if err != nil {
			return false, err
		}
		p.res = res
	}
	p.ec.ctx = ctx
	if p.res.withSink != nil {
		if err := p.res.withSink(sink); err != nil {
			return false, err
		}
	}
	if p.res.copy != nil {
		n, err := p.res.copy(p.ec, sink)
		if err != nil {
			return false, err
		}
		p.res.tag = "COPY " + strconv.FormatInt(n, 10)
	}

	// PostgreSQL's command tag counts the rows of this Execute only.
	sent := 0
	if p.res.rows != nil {
		for {
			// Like PostgreSQL, suspend as soon as the limit is reached,
			// without looking ahead for more rows.
			if maxRows > 0 && sent >= maxRows {
				return true, nil
			}
			row, err := p.res.rows.next(p.ec)
			if err != nil {
				return false, err
			}
			if row == nil {
				break
			}
			for i, v := range row {
				switch x := v.(type) {
				case *apd.Decimal:
					row[i] = numericToPgtype(x)
				case time.Time:
					if p.plan.cols[i].TypeOID == oidTimestamptz {
						row[i] = x.In(s.location())
					}
				case int64:
					// NOTE: reg* values go out as names, also where the client
					// asked for binary, which PostgreSQL sends as the OID.
					switch t := p.plan.cols[i].TypeOID; t {
					case oidRegtype, oidRegclass, oidRegnamespace:
						name, err := regName(p.ec, t, uint32(x))
						if err != nil {
							return false, err
						}
						row[i] = name
					}
				case []any:
					row[i] = newWireArray(x, arrayElem(p.plan.cols[i].TypeOID), s.location())
				case *recordValue:
					row[i] = newWireRecord(x, s.location())
				}
			}
			if err := sink.Row(row); err != nil {
				return false, err
			}
			p.count++
			sent++
		}
	}
	tag := p.res.tag
	if tag == "" {
		tag = "SELECT " + strconv.Itoa(sent)
	}
	p.done = true
	rows := p.res.rows
	p.res = nil
	if rows != nil {
		rows.close()
	}
	delete(s.portals, p)
	if err := s.flushNotices(sink); err != nil {
		return false, err
	}
	return false, sink.Complete(tag)
}

// cancelError maps a context error to PostgreSQL's 57014 messages.
func cancelError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return pgerror.New(pgcode.QueryCanceled, "canceling statement due to statement timeout")
	case errors.Is(err, context.Canceled):
		return pgerror.New(pgcode.QueryCanceled, "canceling statement due to user request")
	}
	return err
}

// checkCancel returns the context's error, for loops over many rows.
func (ec *evalContext) checkCancel() error {
	if ec.ctx == nil {
		return nil
	}
	return ec.ctx.Err()
}

// analyse builds the plan of a statement.
func (s *Session) analyse(ctx context.Context, st *parsedStmt, paramOIDs []uint32) (*plan, error) {
	params := &paramTypes{oids: append([]uint32(nil), paramOIDs...)}
	var p *plan
	err := s.withReadTxn(func(txn kvTxn) error {
		a := &analyser{sess: s, txn: txn, params: params, sql: st.sql, tableOpts: st.tableOpts}
		var err error
		if st.ext != nil {
			p, err = a.planExtension(st.ext)
		} else {
			p, err = a.planNode(st.node)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	p.version = s.srv.cat.Version()
	p.userRole = s.user.Role
	p.timeZone = s.settings.values["TimeZone"]
	p.searchPath = s.settings.values["search_path"]
	p.tempVersion = s.temp.version
	p.preparedVersion = s.preparedVersion
	p.paramOIDs = params.resolved()
	return p, nil
}

// resolved settles the parameters whose type the statement did not
// determine as text, as PostgreSQL does for a bare $n compared with an
// unknown literal, and returns all parameter types.
func (p *paramTypes) resolved() []uint32 {
	for i, o := range p.oids {
		if o == oidUnknown {
			p.oids[i] = oidText
		}
	}
	return append([]uint32(nil), p.oids...)
}

// analyser holds what analysis of one statement needs.
type analyser struct {
	sess   *Session
	txn    kvTxn
	params *paramTypes
	sql    string
	// asUser is the target of EXECUTE AS USER, or nil.
	asUser *catalog.UserDescriptor
	// tableOpts are the pgkeep clauses of a CREATE TABLE.
	tableOpts *tableOptions
	// outer is the scope of the enclosing query for a subquery, and parent
	// that query's analyser, whose WITH queries stay visible.
	outer  *scope
	parent *analyser
	// outerBuilder is the builder of the enclosing query's expression that
	// contains this subquery, nil outside subqueries in expressions. An
	// aggregate whose arguments read only that query's columns is built
	// there (see builder.aggregateOwner).
	outerBuilder *builder
	// outerReads, for a subquery in an expression, collects the columns
	// of enclosing queries read in it or in the queries nested in it.
	outerReads *[]scopeColumnRef
	// outerAggs, for a subquery in an expression, collects the aggregates
	// of enclosing queries used in it or in the queries nested in it.
	outerAggs *[]*aggSpec
	ctes      []*cteDef
	// depth counts the views being expanded, to stop recursive definitions.
	depth int
	// subqueryNames maps each scalar subquery of this query's SELECT list
	// to its output column's name, which names an unaliased target.
	subqueryNames map[*pg_query.SubLink]string
	// hasSubquery is set when an expression of this query, or of a query
	// nested in it, contains a subquery, or its FROM a LATERAL subquery,
	// that reads a table. Such a subquery reads tables as they are, the
	// statement's own writes included, so INSERT and UPDATE then compute
	// every new row before writing any.
	hasSubquery bool
}

// noteSubquery marks a and the analysers of its enclosing queries as
// containing a subquery when sub, a subquery's SELECT, names a table, a
// view or a WITH query.
func (a *analyser) noteSubquery(sub *pg_query.SelectStmt) {
	readsTable := false
	walkMessages(sub.ProtoReflect(), func(m protoreflect.Message) {
		if _, ok := m.Interface().(*pg_query.RangeVar); ok {
			readsTable = true
		}
	})
	if !readsTable {
		return
	}
	for ; a != nil; a = a.parent {
		a.hasSubquery = true
	}
}

func (a *analyser) planNode(n *pg_query.Node) (*plan, error) {
	switch {
	case n.GetSelectStmt() != nil && n.GetSelectStmt().IntoClause != nil:
		return a.planSelectInto(n.GetSelectStmt())
	case n.GetSelectStmt() != nil:
		return a.planSelect(n.GetSelectStmt())
	case n.GetInsertStmt() != nil:
		return a.planInsert(n.GetInsertStmt())
	case n.GetUpdateStmt() != nil:
		return a.planUpdate(n.GetUpdateStmt())
	case n.GetDeleteStmt() != nil:
		return a.planDelete(n.GetDeleteStmt())
	case n.GetCreateStmt() != nil:
		return a.planCreateTable(n.GetCreateStmt())
	case n.GetCreateSeqStmt() != nil:
		return a.planCreateSequence(n.GetCreateSeqStmt())
	case n.GetAlterSeqStmt() != nil:
		return a.planAlterSequence(n.GetAlterSeqStmt())
	case n.GetCreateSchemaStmt() != nil:
		return a.planCreateSchema(n.GetCreateSchemaStmt())
	case n.GetDropStmt() != nil:
		return a.planDrop(n.GetDropStmt())
	case n.GetTransactionStmt() != nil:
		return a.planTransaction(n.GetTransactionStmt())
	case n.GetVariableSetStmt() != nil:
		return a.planSet(n.GetVariableSetStmt())
	case n.GetVariableShowStmt() != nil:
		return a.planShow(n.GetVariableShowStmt())
	case n.GetIndexStmt() != nil:
		return a.planCreateIndex(n.GetIndexStmt())
	case n.GetViewStmt() != nil:
		return a.planCreateView(n.GetViewStmt())
	case n.GetAlterTableStmt() != nil:
		return a.planAlterTable(n.GetAlterTableStmt())
	case n.GetRenameStmt() != nil:
		return a.planRename(n.GetRenameStmt())
	case n.GetTruncateStmt() != nil:
		return a.planTruncate(n.GetTruncateStmt())
	case n.GetVacuumStmt() != nil:
		return a.planVacuum(n.GetVacuumStmt())
	case n.GetCopyStmt() != nil:
		return a.planCopy(n.GetCopyStmt())
	case n.GetCreateRoleStmt() != nil:
		return a.planCreateRole(n.GetCreateRoleStmt())
	case n.GetAlterRoleStmt() != nil:
		return a.planAlterRole(n.GetAlterRoleStmt())
	case n.GetDropRoleStmt() != nil:
		return a.planDropRole(n.GetDropRoleStmt())
	case n.GetExplainStmt() != nil:
		return a.planExplain(n.GetExplainStmt())
	case n.GetCreateTableAsStmt() != nil:
		return a.planCreateTableAs(n.GetCreateTableAsStmt())
	case n.GetPrepareStmt() != nil:
		return a.planPrepare(n.GetPrepareStmt())
	case n.GetExecuteStmt() != nil:
		return a.planExecute(n.GetExecuteStmt())
	case n.GetDeallocateStmt() != nil:
		return a.planDeallocate(n.GetDeallocateStmt())
	case n.GetDiscardStmt() != nil:
		return a.planDiscard(n.GetDiscardStmt())
	}
	return nil, pgerror.NotSupported(statementName(n))
}

// statementName names a statement kind for a 0A000 message, such as
// "CREATE INDEX".
func statementName(n *pg_query.Node) string {
	name := nodeName(n)
	if sql, ok := statementSQLNames[name]; ok {
		return sql + " statement"
	}
	name = strings.TrimSuffix(name, "Stmt")
	var b strings.Builder
	for i, r := range name {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String()) + " statement"
}

// statementSQLNames names the statements whose parse node names do not
// read as their SQL.
var statementSQLNames = map[string]string{
	"CreatedbStmt":               "CREATE DATABASE",
	"DropdbStmt":                 "DROP DATABASE",
	"AlterDatabaseStmt":          "ALTER DATABASE",
	"AlterDatabaseSetStmt":       "ALTER DATABASE",
	"CreateTrigStmt":             "CREATE TRIGGER",
	"CreateFunctionStmt":         "CREATE FUNCTION",
	"CreateEnumStmt":             "CREATE TYPE",
	"CompositeTypeStmt":          "CREATE TYPE",
	"CreateDomainStmt":           "CREATE DOMAIN",
	"CreateTableAsStmt":          "CREATE TABLE AS",
	"CreateExtensionStmt":        "CREATE EXTENSION",
	"CreatePolicyStmt":           "CREATE POLICY",
	"CreatePublicationStmt":      "CREATE PUBLICATION",
	"CreateSubscriptionStmt":     "CREATE SUBSCRIPTION",
	"RefreshMatViewStmt":         "REFRESH MATERIALIZED VIEW",
	"AlterDefaultPrivilegesStmt": "ALTER DEFAULT PRIVILEGES",
	"AlterOwnerStmt":             "ALTER ... OWNER TO",
	"GrantStmt":                  "GRANT and REVOKE",
	"GrantRoleStmt":              "GRANT and REVOKE of roles",
	"DoStmt":                     "DO",
	"ListenStmt":                 "LISTEN",
	"UnlistenStmt":               "UNLISTEN",
	"NotifyStmt":                 "NOTIFY",
	"DeclareCursorStmt":          "DECLARE CURSOR",
	"FetchStmt":                  "FETCH",
	"ClosePortalStmt":            "CLOSE",
	"LockStmt":                   "LOCK",
	"CheckPointStmt":             "CHECKPOINT",
	"ReindexStmt":                "REINDEX",
	"ClusterStmt":                "CLUSTER",
	"CommentStmt":                "COMMENT",
	"CallStmt":                   "CALL",
	"CreateRuleStmt":             "CREATE RULE",
	"CreateStatsStmt":            "CREATE STATISTICS",
}

// resolveTable finds the table a RangeVar names.
func (a *analyser) resolveTable(rv *pg_query.RangeVar) (*catalog.TableDescriptor, *catalog.SchemaDescriptor, error) {
	cat := a.sess.srv.cat
	if rv.Catalogname != "" && rv.Catalogname != a.sess.database {
		return nil, nil, pgerror.Newf(pgcode.FeatureNotSupported, "cross-database references are not implemented: %s.%s.%s", rv.Catalogname, rv.Schemaname, rv.Relname).WithPosition(rv.Location + 1)
	}
	if t, schema, err := a.resolveTemporary(rv); t != nil || err != nil {
		return t, schema, err
	}
	notFound := func() error {
		name := rv.Relname
		if rv.Schemaname != "" {
			name = rv.Schemaname + "." + rv.Relname
		}
		return pgerror.Newf(pgcode.UndefinedTable, "relation %q does not exist", name).WithPosition(rv.Location + 1)
	}
	schemaNames := []string{rv.Schemaname}
	if rv.Schemaname == "" {
		// pg_catalog is searched first unless search_path names it.
		schemaNames = catalogSearchPath(a.sess)
	}
	for _, schemaName := range schemaNames {
		if rv.Schemaname == "" && schemaName == a.sess.temp.schema {
			// resolveTemporary has searched it.
			continue
		}
		schema, err := cat.Schema(a.txn, schemaName)
		if err != nil {
			return nil, nil, err
		}
		if schema == nil {
			if rv.Schemaname != "" {
				return nil, nil, pgerror.Newf(pgcode.UndefinedSchema, "schema %q does not exist", rv.Schemaname).WithPosition(rv.Location + 1)
			}
			continue
		}
		if schema.Virtual {
			if vt := virtualTables(schema.Name)[rv.Relname]; vt != nil {
				return vt.desc, schema, nil
			}
			continue
		}
		t, err := cat.Table(a.txn, schema.ID, rv.Relname)
		if err != nil {
			return nil, nil, err
		}
		if t != nil {
			return t, schema, nil
		}
	}
	return nil, nil, notFound()
}

// resultColumns returns RowDescription columns for result expressions.
func resultColumns(names []string, exprs []expr) []protocol.Column {
	cols := make([]protocol.Column, len(exprs))
	for i, e := range exprs {
		t := e.resultType()
		oid := t.OID
		if oid == oidUnknown {
			oid = oidText
		}
		cols[i] = protocol.Column{Name: names[i], TypeOID: oid, TypeSize: typeSize(oid), TypeModifier: t.TypMod}
	}
	return cols
}

type kvTxn = kv.Txn

// sameColumns reports whether two result descriptions have the same
// column count and types.
func sameColumns(a, b []protocol.Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].TypeOID != b[i].TypeOID || a[i].TypeModifier != b[i].TypeModifier {
			return false
		}
	}
	return true
}
