package executor

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	pgquery_parser "github.com/pganalyze/pg_query_go/v5/parser"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
)

// Session executes the statements of one connection. It implements
// protocol.Session and is used from one goroutine.
type Session struct {
	srv      *Server
	user     *catalog.UserDescriptor
	database string
	pid      uint32
	// source is the client address, for the audit log.
	source   string
	settings *settings

	txn *txnState

	// cache maps statement text to its parse result, so a text sent again
	// by simple query or Parse is not parsed twice.
	cache   map[string]*parsedQuery
	portals map[*portal]struct{}
	// notices are queued by statements and sent before their results end.
	notices []noticeMsg
	// userVersion is the catalog's users version when user was last read.
	userVersion uint64
	// implicitBlock is set while a simple query of several statements runs.
	implicitBlock bool
	// loc caches the time zone named by the TimeZone setting locName.
	loc     *time.Location
	locName string
	// keysRead counts the index entries and rows that table scans of the
	// session have read, for tests and benchmarks of access paths.
	keysRead int64
	// sqlPrepared holds the statements prepared with SQL's PREPARE, and
	// preparedVersion counts its changes (see plan.preparedVersion).
	sqlPrepared     map[string]*sqlPrepared
	preparedVersion uint64
	// retry, when set, can run the statement of the open implicit
	// transaction again if its commit fails (retry.go).
	retry *implicitRetry
	// seqs and temp hold the session's state of sequence functions and
	// temporary tables.
	seqs sequenceSession
	temp temporaryState
}

// txnState is an open transaction.
type txnState struct {
	kv kv.Txn
	// explicit is true inside BEGIN ... COMMIT.
	explicit bool
	// failed marks a transaction block after an error: only ROLLBACK or
	// COMMIT are accepted.
	failed    bool
	startTime time.Time
	// queried is set once a statement that reads a snapshot has run.
	// After that, the isolation level is fixed and a read-only
	// transaction stays read-only, as in PostgreSQL.
	queried bool
	// startVersion is the schema version when the transaction began. When
	// the version moved, plans cached meanwhile may describe uncommitted
	// or rolled-back schema, so ending the transaction bumps it again.
	startVersion uint64
	// settingsBefore holds the settings as they were before the first SET
	// in the transaction, and localSettings the names set with SET LOCAL.
	settingsBefore map[string]string
	localSettings  map[string]bool
	// savepoints are the open savepoints, innermost last.
	savepoints []savepoint
	// newTables holds the IDs of the tables created or truncated in this
	// transaction, which COPY FREEZE may load.
	newTables map[uint32]bool
}

// markNewTable records that the transaction created or truncated a table.
func (t *txnState) markNewTable(id uint32) {
	if t.newTables == nil {
		t.newTables = map[uint32]bool{}
	}
	t.newTables[id] = true
}

// savepoint is a SAVEPOINT of a transaction block.
type savepoint struct {
	name  string
	token int
	// settings and localSettings are copies of the session's settings and
	// of the transaction's SET LOCAL names when the savepoint was set,
	// which ROLLBACK TO restores.
	settings      map[string]string
	localSettings map[string]bool
}

// parsedQuery is the parse result of one statement text.
type parsedQuery struct {
	stmts []*parsedStmt
}

// parsedStmt is one statement of a text and, once analysed, its plan.
type parsedStmt struct {
	sql  string
	node *pg_query.Node
	// ext is set for pgkeep's own statements recognised by the pre-parser.
	ext *extStmt
	// tableOpts holds the pgkeep clauses the pre-parser removed from a
	// CREATE TABLE.
	tableOpts *tableOptions
	// plan is the analysed form, valid while plan.version equals the
	// catalog version.
	plan *plan
}

const maxCachedQueries = 1000

var _ protocol.Session = (*Session)(nil)

// TxnStatus returns the ReadyForQuery status.
func (s *Session) TxnStatus() byte {
	switch {
	case s.txn == nil || !s.txn.explicit:
		return 'I'
	case s.txn.failed:
		return 'E'
	}
	return 'T'
}

// Close rolls back an open transaction and drops the session's temporary
// tables.
func (s *Session) Close() {
	unregisterSession(s)
	for p := range s.portals {
		p.Close()
	}
	if s.txn != nil {
		s.txn.kv.Rollback()
		s.txn = nil
	}
	s.dropTemporaryObjects()
}

// searchPath returns the schema names of the search_path setting, with
// "$user" replaced by the session's user name.
func (s *Session) searchPath() []string {
	var out []string
	for _, part := range strings.Split(s.settings.values["search_path"], ",") {
		name := strings.TrimSpace(part)
		if strings.HasPrefix(name, `"`) && strings.HasSuffix(name, `"`) && len(name) >= 2 {
			name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
		} else {
			name = strings.ToLower(name)
		}
		if name == "$user" {
			name = s.user.Name
		}
		if name != "" {
			out = append(out, name)
		}
	}
	return out
}

// currentSchema returns the first schema of the search path that exists,
// where CREATE TABLE puts unqualified names, or "" when none exists.
func (s *Session) currentSchema() string {
	name := ""
	_ = s.withReadTxn(func(txn kv.Txn) error {
		for _, candidate := range s.searchPath() {
			schema, err := s.srv.cat.Schema(txn, candidate)
			if err != nil {
				return err
			}
			if schema != nil && !schema.Virtual {
				name = candidate
				return nil
			}
		}
		return nil
	})
	return name
}

// parse returns the statements of a text, from the cache when possible.
func (s *Session) parse(query string) (*parsedQuery, error) {
	if pq, ok := s.cache[query]; ok {
		return pq, nil
	}
	pq, err := parseQuery(query)
	if err != nil {
		return nil, err
	}
	if len(s.cache) >= maxCachedQueries {
		for k := range s.cache {
			delete(s.cache, k)
			break
		}
	}
	s.cache[query] = pq
	return pq, nil
}

func parseQuery(query string) (*parsedQuery, error) {
	pre, err := preparse(query)
	if err != nil {
		return nil, err
	}
	if pre.ext != nil {
		return &parsedQuery{stmts: []*parsedStmt{{sql: query, ext: pre.ext}}}, nil
	}
	query = pre.text
	tree, err := pg_query.Parse(query)
	if err != nil {
		return nil, syntaxError(err)
	}
	pq := &parsedQuery{}
	for _, raw := range tree.Stmts {
		text := query
		if raw.StmtLen > 0 || raw.StmtLocation > 0 {
			end := int(raw.StmtLocation + raw.StmtLen)
			if raw.StmtLen == 0 || end > len(query) {
				end = len(query)
			}
			text = query[raw.StmtLocation:end]
		}
		pq.stmts = append(pq.stmts, &parsedStmt{sql: strings.TrimSpace(text), node: raw.Stmt, tableOpts: pre.tableOpts})
	}
	return pq, nil
}

// syntaxError converts a pg_query error into 42601 with its position.
// pg_query drops the SQLSTATE, so the grammar's "... not yet implemented"
// errors, which PostgreSQL raises as 0A000, are recognised by their text.
func syntaxError(err error) error {
	var pe *pgquery_parser.Error
	if errors.As(err, &pe) {
		code := pgcode.SyntaxError
		if strings.HasSuffix(pe.Message, "not yet implemented") {
			code = pgcode.FeatureNotSupported
		}
		e := pgerror.New(code, pe.Message)
		if pe.Cursorpos > 0 {
			e.Position = int32(pe.Cursorpos)
		}
		return e
	}
	return pgerror.Wrapf(err, pgcode.SyntaxError, "could not parse statement")
}

// ensureTxn opens an implicit transaction when none is open.
func (s *Session) ensureTxn() error {
	if s.txn != nil {
		return nil
	}
	t, err := s.srv.cat.Engine().Begin()
	if err != nil {
		return err
	}
	s.txn = &txnState{
		kv:           t,
		startTime:    time.Now().UTC().Truncate(time.Microsecond),
		startVersion: s.srv.cat.Version(),
	}
	s.settings.values["transaction_read_only"] = s.settings.values["default_transaction_read_only"]
	if s.settings.values["default_transaction_isolation"] == "serializable" {
		t.TrackReads()
	}
	return nil
}

// finishTxn commits or rolls back the open transaction.
func (s *Session) finishTxn(commit bool) error {
	t := s.txn
	if t == nil {
		return nil
	}
	s.txn = nil
	// The next transaction starts with the session's default isolation,
	// which SET SESSION CHARACTERISTICS may have changed.
	s.resetTxnSettings()
	for p := range s.portals {
		p.Close()
	}
	if t.startVersion != s.srv.cat.Version() {
		defer s.srv.cat.BumpVersion()
	}
	s.temp.endTxn()
	if !commit || t.failed {
		t.kv.Rollback()
		s.restoreSettings(t, false)
		return nil
	}
	err := t.kv.Commit()
	s.restoreSettings(t, err == nil)
	return err
}

// restoreSettings undoes the settings changed in a transaction: all of
// them when it did not commit, only SET LOCAL ones when it did.
func (s *Session) restoreSettings(t *txnState, committed bool) {
	for name, before := range t.settingsBefore {
		if !committed || t.localSettings[name] {
			s.settings.values[name] = before
		}
	}
}

// rememberSetting records a setting's value before its first change in an
// explicit transaction, so ROLLBACK (or the end of SET LOCAL) restores it.
func (s *Session) rememberSetting(name string, local bool) {
	t := s.txn
	if t == nil || !t.explicit {
		return
	}
	if t.settingsBefore == nil {
		t.settingsBefore = map[string]string{}
	}
	if _, seen := t.settingsBefore[name]; !seen {
		t.settingsBefore[name] = s.settings.values[name]
	}
	if local {
		if t.localSettings == nil {
			// ROLLBACK TO SAVEPOINT may have reset it to nil.
			t.localSettings = map[string]bool{}
		}
		t.localSettings[name] = true
	}
}

// statementFailed marks the open transaction as failed after a statement
// error. A transaction block then accepts only COMMIT and ROLLBACK; an
// implicit transaction is rolled back when its simple query or Sync ends.
func (s *Session) statementFailed() {
	if s.txn != nil {
		s.txn.failed = true
	}
}

// planFor returns a valid plan of st, analysing it again after a schema
// change.
func (s *Session) planFor(ctx context.Context, st *parsedStmt, paramOIDs []uint32) (*plan, error) {
	if p := st.plan; p != nil && p.version == s.srv.cat.Version() && p.userRole == s.user.Role && p.timeZone == s.settings.values["TimeZone"] && p.searchPath == s.settings.values["search_path"] && p.tempVersion == s.temp.version && p.preparedVersion == s.preparedVersion {
		return p, nil
	}
	p, err := s.analyse(ctx, st, paramOIDs)
	if err != nil {
		return nil, err
	}
	st.plan = p
	return p, nil
}

// withReadTxn runs f with the open transaction, or with a short read-only
// one when none is open.
func (s *Session) withReadTxn(f func(kv.Txn) error) error {
	if s.txn != nil {
		return f(s.txn.kv)
	}
	t, err := s.srv.cat.Engine().Begin()
	if err != nil {
		return err
	}
	defer t.Rollback()
	return f(t)
}

// ExecSimple runs the statements of a simple Query message.
func (s *Session) ExecSimple(ctx context.Context, query string, sink protocol.ResultSink) error {
	pq, err := s.parse(query)
	if err != nil {
		// A parse error inside a transaction block fails the block.
		s.statementFailed()
		s.endImplicit()
		return err
	}
	if len(pq.stmts) == 0 {
		return sink.EmptyQuery()
	}
	// Several statements in one message form an implicit transaction
	// block, which COMMIT and ROLLBACK end without a warning.
	s.implicitBlock = len(pq.stmts) > 1
	defer func() { s.implicitBlock = false }()
	var retry *implicitRetry
	if len(pq.stmts) == 1 {
		retry = s.beginImplicitRetry(sink)
	}
	for _, st := range pq.stmts {
		if err := s.execSimpleStmt(ctx, st, sink); err != nil {
			s.statementFailed()
			s.endImplicit()
			return err
		}
	}
	if s.txn != nil && !s.txn.explicit {
		if retry != nil && pq.stmts[0].plan != nil && pq.stmts[0].plan.retryable {
			st := pq.stmts[0]
			retry.end = retry.rewinder.Mark()
			retry.rerun = func(ctx context.Context) error { return s.execSimpleStmt(ctx, st, sink) }
			s.retry = retry
		}
		return s.commitImplicit(ctx)
	}
	return nil
}

// endImplicit rolls back an implicit transaction after an error.
func (s *Session) endImplicit() {
	if s.txn != nil && !s.txn.explicit {
		_ = s.finishTxn(false)
	}
}

func (s *Session) execSimpleStmt(ctx context.Context, st *parsedStmt, sink protocol.ResultSink) error {
	p, err := s.planForExec(ctx, st, nil)
	if err != nil {
		return err
	}
	if p.cols != nil {
		if err := sink.Describe(p.cols); err != nil {
			return err
		}
	}
	port := &portal{sess: s, plan: p}
	defer port.Close()
	_, err = port.Execute(ctx, sink, 0)
	return err
}

// planForExec checks the transaction state and returns the plan of st.
func (s *Session) planForExec(ctx context.Context, st *parsedStmt, paramOIDs []uint32) (*plan, error) {
	if s.txn != nil && s.txn.failed && !isTxnEnd(st) {
		return nil, pgerror.New(pgcode.InFailedSqlTransaction, "current transaction is aborted, commands ignored until end of transaction block")
	}
	if err := s.checkUserCurrent(); err != nil {
		return nil, err
	}
	if err := s.ensureTxn(); err != nil {
		return nil, err
	}
	if err := s.refreshSnapshot(); err != nil {
		return nil, err
	}
	if readsSnapshot(st) {
		s.txn.queried = true
	}
	return s.planFor(ctx, st, paramOIDs)
}

// readsSnapshot reports whether st is a statement for which PostgreSQL
// takes a snapshot: every statement except transaction control, SET,
// SHOW and LOCK.
func readsSnapshot(st *parsedStmt) bool {
	n := st.node
	if st.ext != nil || n == nil {
		return true
	}
	return n.GetTransactionStmt() == nil && n.GetVariableSetStmt() == nil && n.GetVariableShowStmt() == nil && n.GetLockStmt() == nil
}

// refreshSnapshot gives each statement of a READ COMMITTED transaction
// block a snapshot taken when the statement starts, as PostgreSQL does.
// REPEATABLE READ and SERIALIZABLE keep the snapshot of the first
// statement. While a suspended portal still reads the old snapshot, the
// snapshot stays.
func (s *Session) refreshSnapshot() error {
	t := s.txn
	if !t.explicit || s.settings.values["transaction_isolation"] != "read committed" {
		return nil
	}
	for p := range s.portals {
		if p.res != nil {
			return nil
		}
	}
	return t.kv.Refresh()
}

// isTxnEnd reports whether st is COMMIT or ROLLBACK, the statements allowed
// in a failed transaction block.
func isTxnEnd(st *parsedStmt) bool {
	ts := st.node.GetTransactionStmt()
	if ts == nil {
		return false
	}
	switch ts.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK,
		pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return true
	}
	return false
}

// checkUserCurrent re-reads the session's user when the user store has
// changed since the last check, so a role change applies at the next
// statement and a dropped user's next statement ends the session with
// FATAL 28000. An unchanged store costs one atomic load.
func (s *Session) checkUserCurrent() error {
	cat := s.srv.cat
	version := cat.UsersVersion()
	if version == s.userVersion {
		return nil
	}
	// Read the committed state: the session's own uncommitted DROP USER of
	// someone else must not end it, and its own user cannot be dropped.
	txn, err := cat.Engine().Begin()
	if err != nil {
		return err
	}
	defer txn.Rollback()
	u, err := cat.User(txn, s.user.Name)
	if err != nil {
		return err
	}
	if u == nil || !u.Active() || u.ID != s.user.ID {
		return pgerror.Newf(pgcode.InvalidAuthorizationSpecification, "role %q does not exist", s.user.Name).
			WithSeverity(pgerror.SeverityFatal).
			WithDetail("The user was dropped while this session was open.")
	}
	s.user = u
	s.userVersion = version
	return nil
}

// Prepare parses and analyses one statement for the extended protocol.
func (s *Session) Prepare(ctx context.Context, query string, paramOIDs []uint32) (protocol.PreparedStatement, error) {
	pq, err := parseQuery(query)
	if err != nil {
		s.statementFailed()
		return nil, err
	}
	if len(pq.stmts) > 1 {
		s.statementFailed()
		return nil, pgerror.New(pgcode.SyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	if err := s.checkUserCurrent(); err != nil {
		return nil, err
	}
	ps := &preparedStatement{sess: s, paramOIDs: paramOIDs}
	if len(pq.stmts) == 0 {
		ps.empty = true
		return ps, nil
	}
	ps.stmt = pq.stmts[0]
	if s.txn != nil && s.txn.failed && !isTxnEnd(ps.stmt) {
		return nil, pgerror.New(pgcode.InFailedSqlTransaction, "current transaction is aborted, commands ignored until end of transaction block")
	}
	var p *plan
	err = s.withReadTxn(func(kv.Txn) error {
		var err error
		p, err = s.planFor(ctx, ps.stmt, paramOIDs)
		return err
	})
	if err != nil {
		s.statementFailed()
		return nil, err
	}
	ps.paramOIDs = p.paramOIDs
	ps.cols = p.cols
	return ps, nil
}

// Bind creates a portal.
func (s *Session) Bind(ctx context.Context, stmt protocol.PreparedStatement, params []any) (protocol.Portal, error) {
	ps, ok := stmt.(*preparedStatement)
	if !ok || ps.sess != s {
		return nil, pgerror.Internal("statement of another session")
	}
	if ps.empty {
		return &portal{sess: s, empty: true}, nil
	}
	values := make([]any, len(params))
	for i, v := range params {
		oid := uint32(oidText)
		if i < len(ps.paramOIDs) {
			oid = ps.paramOIDs[i]
		}
		nv, err := normalizeParam(v, oid, s.location())
		if err != nil {
			s.statementFailed()
			return nil, err
		}
		values[i] = nv
	}
	if s.txn != nil && s.txn.failed && !isTxnEnd(ps.stmt) {
		return nil, pgerror.New(pgcode.InFailedSqlTransaction, "current transaction is aborted, commands ignored until end of transaction block")
	}
	p := &portal{sess: s, stmt: ps, params: values}
	s.portals[p] = struct{}{}
	return p, nil
}

// Sync ends an extended-query sequence.
func (s *Session) Sync(ctx context.Context) error {
	if s.txn != nil && !s.txn.explicit {
		return s.commitImplicit(ctx)
	}
	s.retry = nil
	return nil
}

// applyOptions applies the startup "options" parameter: -c name=value and
// --name=value settings separated by spaces.
func (s *Session) applyOptions(opts string) error {
	fields := strings.Fields(opts)
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		var kvPair string
		switch {
		case f == "-c" && i+1 < len(fields):
			kvPair = fields[i+1]
			i++
		case strings.HasPrefix(f, "-c"):
			kvPair = f[2:]
		case strings.HasPrefix(f, "--"):
			kvPair = f[2:]
		default:
			return pgerror.Newf(pgcode.ProtocolViolation, "invalid command-line argument for server process: %s", f).WithSeverity(pgerror.SeverityFatal)
		}
		name, value, ok := strings.Cut(kvPair, "=")
		if !ok {
			return pgerror.Newf(pgcode.SyntaxError, "-c %s requires a value", name).WithSeverity(pgerror.SeverityFatal)
		}
		name = strings.ReplaceAll(name, "-", "_")
		// pgkeep.* options choose authentication methods and are read by
		// the server before the session exists.
		if strings.HasPrefix(strings.ToLower(name), "pgkeep.") {
			continue
		}
		if err := s.settings.set(name, value); err != nil {
			return err
		}
	}
	return nil
}

// statementTimeout returns the statement_timeout setting.
func (s *Session) statementTimeout() time.Duration {
	ms, _ := strconv.ParseInt(s.settings.values["statement_timeout"], 10, 64)
	return time.Duration(ms) * time.Millisecond
}

// location returns the session time zone, the TimeZone setting.
func (s *Session) location() *time.Location {
	name := s.settings.values["TimeZone"]
	if s.loc == nil || s.locName != name {
		loc, _, ok := resolveZoneName(name)
		if !ok {
			// SET validated the name, so this happens only if the zone
			// database changed underneath the process.
			loc = time.UTC
		}
		s.loc, s.locName = loc, name
	}
	return s.loc
}
