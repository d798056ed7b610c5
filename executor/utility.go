package executor

import (
	"maps"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
)

// notice queues a NoticeResponse for the client.
func (ec *evalContext) notice(code, message string) error {
	ec.sess.notices = append(ec.sess.notices, noticeMsg{severity: "NOTICE", code: code, message: message})
	return nil
}

func (ec *evalContext) warning(code, message string) {
	ec.sess.notices = append(ec.sess.notices, noticeMsg{severity: "WARNING", code: code, message: message})
}

type noticeMsg struct{ severity, code, message string }

// flushNotices sends queued notices through sink.
func (s *Session) flushNotices(sink protocol.ResultSink) error {
	for _, n := range s.notices {
		var err error
		if n.severity == "PARAMETER" {
			err = sink.ParameterStatus(n.code, n.message)
		} else {
			err = sink.Notice(n.severity, n.code, n.message)
		}
		if err != nil {
			return err
		}
	}
	s.notices = s.notices[:0]
	return nil
}

func (a *analyser) planTransaction(ts *pg_query.TransactionStmt) (*plan, error) {
	switch ts.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
		isolation, err := transactionIsolation(ts.Options)
		if err != nil {
			return nil, err
		}
		readOnly, readOnlyGiven := transactionReadOnly(ts.Options)
		tag := "BEGIN"
		if ts.Kind == pg_query.TransactionStmtKind_TRANS_STMT_START {
			tag = "START TRANSACTION"
		}
		return tagPlan(tag, func(ec *evalContext) error {
			s := ec.sess
			if s.txn.explicit {
				ec.warning("25001", "there is already a transaction in progress")
				return nil
			}
			s.txn.explicit = true
			if readOnlyGiven {
				s.settings.values["transaction_read_only"] = boolSetting(readOnly)
			}
			s.settings.values["transaction_isolation"] = s.settings.values["default_transaction_isolation"]
			if isolation != "" {
				s.settings.values["transaction_isolation"] = isolation
			}
			if s.settings.values["transaction_isolation"] == "serializable" {
				s.txn.kv.TrackReads()
			}
			return nil
		}), nil
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT:
		p := &plan{run: func(ec *evalContext) (*result, error) {
			s := ec.sess
			if !s.txn.explicit {
				// COMMIT inside a multi-statement message commits the
				// statements before it, as PostgreSQL ends its implicit
				// transaction block.
				if !s.implicitBlock {
					ec.warning("25P01", "there is no transaction in progress")
				}
				if err := s.finishTxn(true); err != nil {
					return nil, err
				}
				return &result{tag: "COMMIT"}, nil
			}
			failed := s.txn.failed
			if err := s.finishTxn(true); err != nil {
				return nil, err
			}
			s.resetTxnSettings()
			// COMMIT of a failed transaction rolls back, as in PostgreSQL.
			if failed {
				return &result{tag: "ROLLBACK"}, nil
			}
			return &result{tag: "COMMIT"}, nil
		}}
		return p, nil
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		return &plan{run: func(ec *evalContext) (*result, error) {
			s := ec.sess
			if !s.txn.explicit && !s.implicitBlock {
				ec.warning("25P01", "there is no transaction in progress")
			}
			_ = s.finishTxn(false)
			s.resetTxnSettings()
			return &result{tag: "ROLLBACK"}, nil
		}}, nil
	case pg_query.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		return tagPlan("SAVEPOINT", func(ec *evalContext) error {
			t := ec.sess.txn
			if !t.explicit {
				return pgerror.New(pgcode.NoActiveSqlTransaction, "SAVEPOINT can only be used in transaction blocks")
			}
			t.savepoints = append(t.savepoints, savepoint{
				name:          ts.SavepointName,
				token:         t.kv.Savepoint(),
				settings:      maps.Clone(ec.sess.settings.values),
				localSettings: maps.Clone(t.localSettings),
			})
			return nil
		}), nil
	case pg_query.TransactionStmtKind_TRANS_STMT_RELEASE, pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		release := ts.Kind == pg_query.TransactionStmtKind_TRANS_STMT_RELEASE
		tag := "ROLLBACK"
		verb := "ROLLBACK TO SAVEPOINT"
		if release {
			tag, verb = "RELEASE", "RELEASE SAVEPOINT"
		}
		return &plan{run: func(ec *evalContext) (*result, error) {
			t := ec.sess.txn
			if !t.explicit {
				return nil, pgerror.Newf(pgcode.NoActiveSqlTransaction, "%s can only be used in transaction blocks", verb)
			}
			at := -1
			for i := len(t.savepoints) - 1; i >= 0; i-- {
				if t.savepoints[i].name == ts.SavepointName {
					at = i
					break
				}
			}
			if at < 0 {
				return nil, pgerror.Newf(pgcode.SEInvalidSpecification, "savepoint %q does not exist", ts.SavepointName)
			}
			if release {
				t.savepoints = t.savepoints[:at]
				return &result{tag: tag}, nil
			}
			if err := t.kv.RollbackToSavepoint(t.savepoints[at].token); err != nil {
				return nil, err
			}
			// The savepoint itself stays; later ones are gone. A schema change
			// undone here must not leave cached plans behind.
			t.savepoints = t.savepoints[:at+1]
			t.failed = false
			ec.sess.srv.cat.BumpVersion()
			sp := t.savepoints[at]
			maps.Copy(ec.sess.settings.values, sp.settings)
			t.localSettings = maps.Clone(sp.localSettings)
			return &result{tag: tag}, nil
		}}, nil
	case pg_query.TransactionStmtKind_TRANS_STMT_PREPARE:
		return nil, pgerror.NotSupported("PREPARE TRANSACTION")
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED:
		return nil, pgerror.NotSupported("COMMIT PREPARED")
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
		return nil, pgerror.NotSupported("ROLLBACK PREPARED")
	}
	return nil, pgerror.NotSupported(strings.TrimPrefix(ts.Kind.String(), "TRANS_STMT_"))
}

// resetAllSettings runs RESET ALL: every setting a session may change
// returns to its default, in a way a transaction block's ROLLBACK undoes.
func (s *Session) resetAllSettings() {
	for _, d := range settingDefs {
		if !d.readOnly {
			s.rememberSetting(d.name, false)
		}
		if !d.readOnly && d.name != "TimeZone" {
			s.settings.values[d.name] = d.def
		}
	}
	s.settings.values["TimeZone"] = s.srv.cfg.TimeZone
}

func (s *Session) resetTxnSettings() {
	s.settings.values["transaction_isolation"] = s.settings.values["default_transaction_isolation"]
}

// transactionIsolation reads ISOLATION LEVEL from BEGIN options.
func transactionIsolation(opts []*pg_query.Node) (string, error) {
	level := ""
	for _, o := range opts {
		de := o.GetDefElem()
		if de == nil {
			continue
		}
		switch de.Defname {
		case "transaction_isolation":
			v := de.Arg.GetAConst().GetSval().GetSval()
			norm, err := normalizeIsolation(v)
			if err != nil {
				return "", err
			}
			level = norm
		}
	}
	return level, nil
}

// transactionReadOnly returns the READ ONLY or READ WRITE option of BEGIN
// or SET TRANSACTION, and whether one was given.
func transactionReadOnly(opts []*pg_query.Node) (readOnly, given bool) {
	for _, o := range opts {
		if de := o.GetDefElem(); de != nil && de.Defname == "transaction_read_only" {
			readOnly, given = de.Arg.GetAConst().GetIval().GetIval() == 1, true
		}
	}
	return readOnly, given
}

// reportedChange returns a ParameterStatus to send when a reported setting
// changes.
func (s *Session) reportedChange(name string) *noticeMsg {
	d, err := lookupSetting(name)
	if err != nil || !d.report {
		return nil
	}
	return &noticeMsg{severity: "PARAMETER", code: d.name, message: s.settings.values[d.name]}
}

func (a *analyser) planSet(vs *pg_query.VariableSetStmt) (*plan, error) {
	name := vs.Name
	switch vs.Kind {
	case pg_query.VariableSetKind_VAR_SET_MULTI:
		// SET TRANSACTION ... and SET SESSION CHARACTERISTICS.
		level, err := transactionIsolation(vs.Args)
		if err != nil {
			return nil, err
		}
		readOnly, readOnlyGiven := transactionReadOnly(vs.Args)
		return tagPlan("SET", func(ec *evalContext) error {
			s := ec.sess
			if vs.Name == "SESSION CHARACTERISTICS" {
				if level != "" {
					s.settings.values["default_transaction_isolation"] = level
				}
				if readOnlyGiven {
					s.settings.values["default_transaction_read_only"] = boolSetting(readOnly)
				}
				return nil
			}
			if !s.txn.explicit {
				ec.warning("25P01", "SET TRANSACTION can only be used in transaction blocks")
				return nil
			}
			return s.setTransactionMode(level, readOnly, readOnlyGiven)
		}), nil
	case pg_query.VariableSetKind_VAR_RESET_ALL:
		return tagPlan("RESET", func(ec *evalContext) error {
			ec.sess.resetAllSettings()
			return nil
		}), nil
	}
	if strings.EqualFold(name, "timezone") && vs.Kind == pg_query.VariableSetKind_VAR_SET_VALUE && len(vs.Args) == 1 && vs.Args[0].GetAConst() == nil {
		zone, err := intervalTimeZoneSetting(vs.Args[0])
		if err != nil {
			return nil, err
		}
		vs = &pg_query.VariableSetStmt{Kind: vs.Kind, Name: vs.Name, IsLocal: vs.IsLocal, Args: []*pg_query.Node{pg_query.MakeAConstStrNode(zone, -1)}}
	}
	if strings.HasPrefix(strings.ToLower(name), "pgkeep.") {
		return nil, pgerror.Newf(pgcode.CantChangeRuntimeParam, "parameter %q can only be set at connection start", name)
	}
	d, err := lookupSetting(name)
	if err != nil {
		return nil, err
	}
	value := ""
	reset := vs.Kind == pg_query.VariableSetKind_VAR_RESET || vs.Kind == pg_query.VariableSetKind_VAR_SET_DEFAULT
	if !reset {
		var parts []string
		for _, arg := range vs.Args {
			c := arg.GetAConst()
			if c == nil {
				return nil, pgerror.Newf(pgcode.SyntaxError, "invalid value for parameter %q", d.name)
			}
			switch v := c.Val.(type) {
			case *pg_query.A_Const_Sval:
				parts = append(parts, v.Sval.Sval)
			case *pg_query.A_Const_Ival:
				if d.name == "TimeZone" {
					// A number is hours east of UTC.
					parts = append(parts, numericTimeZone(float64(v.Ival.Ival)))
					break
				}
				parts = append(parts, strconv.Itoa(int(v.Ival.Ival)))
			case *pg_query.A_Const_Fval:
				if hours, err := strconv.ParseFloat(v.Fval.Fval, 64); err == nil && d.name == "TimeZone" {
					parts = append(parts, numericTimeZone(hours))
					break
				}
				parts = append(parts, v.Fval.Fval)
			case *pg_query.A_Const_Boolval:
				parts = append(parts, boolSetting(v.Boolval.Boolval))
			}
		}
		value = strings.Join(parts, ", ")
	}
	tag := "SET"
	if vs.Kind == pg_query.VariableSetKind_VAR_RESET {
		tag = "RESET"
	}
	return tagPlan(tag, func(ec *evalContext) error {
		s := ec.sess
		if vs.IsLocal && !s.txn.explicit {
			ec.warning("25P01", "SET LOCAL can only be used in transaction blocks")
			return nil
		}
		if !reset && s.txn.explicit && (d.name == "transaction_isolation" || d.name == "transaction_read_only") {
			return s.setTransactionModeSetting(d, value)
		}
		s.rememberSetting(d.name, vs.IsLocal)
		var err error
		if reset {
			if d.name == "TimeZone" {
				s.settings.values["TimeZone"] = s.srv.cfg.TimeZone
			} else {
				err = s.settings.reset(d.name)
			}
		} else {
			err = s.settings.set(d.name, value)
		}
		if err != nil {
			return err
		}
		if change := s.reportedChange(d.name); change != nil {
			s.notices = append(s.notices, *change)
		}
		return nil
	}), nil
}

func (a *analyser) planShow(vs *pg_query.VariableShowStmt) (*plan, error) {
	if strings.EqualFold(vs.Name, "all") {
		cols := []protocol.Column{
			{Name: "name", TypeOID: oidText, TypeSize: -1, TypeModifier: -1},
			{Name: "setting", TypeOID: oidText, TypeSize: -1, TypeModifier: -1},
			{Name: "description", TypeOID: oidText, TypeSize: -1, TypeModifier: -1},
		}
		return &plan{cols: cols, run: func(ec *evalContext) (*result, error) {
			var rows [][]any
			for _, d := range settingDefs {
				rows = append(rows, []any{d.name, ec.sess.settings.values[d.name], ""})
			}
			return &result{rows: &sliceIter{rows: rows}, tag: "SHOW"}, nil
		}}, nil
	}
	name := vs.Name
	if strings.EqualFold(name, "transaction_isolation_level") {
		name = "transaction_isolation"
	}
	d, err := lookupSetting(name)
	if err != nil {
		return nil, err
	}
	colName := strings.ToLower(vs.Name)
	if colName == "timezone" || colName == "datestyle" || colName == "intervalstyle" {
		colName = d.name
	}
	cols := []protocol.Column{{Name: colName, TypeOID: oidText, TypeSize: -1, TypeModifier: -1}}
	return &plan{cols: cols, run: func(ec *evalContext) (*result, error) {
		v := ec.sess.settings.values[d.name]
		if d.name == "statement_timeout" || d.name == "lock_timeout" || d.name == "idle_in_transaction_session_timeout" {
			v = formatMillis(v)
		}
		return &result{rows: &sliceIter{rows: [][]any{{v}}}, tag: "SHOW"}, nil
	}}, nil
}

// formatMillis prints a duration setting as SHOW does: "0", "5s", "250ms".
func formatMillis(v string) string {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms == 0 {
		return v
	}
	switch {
	case ms%3600000 == 0:
		return strconv.FormatInt(ms/3600000, 10) + "h"
	case ms%60000 == 0:
		return strconv.FormatInt(ms/60000, 10) + "min"
	case ms%1000 == 0:
		return strconv.FormatInt(ms/1000, 10) + "s"
	}
	return strconv.FormatInt(ms, 10) + "ms"
}

// setTransactionMode sets the isolation level, unless level is empty, and
// the read-only mode, when readOnlyGiven, of the open transaction block.
// As in PostgreSQL, the level can change only before the first query and
// outside subtransactions, and so can a read-only transaction's mode to
// read-write.
func (s *Session) setTransactionMode(level string, readOnly, readOnlyGiven bool) error {
	t := s.txn
	if level != "" && level != s.settings.values["transaction_isolation"] {
		if t.queried {
			return pgerror.New(pgcode.ActiveSqlTransaction, "SET TRANSACTION ISOLATION LEVEL must be called before any query")
		}
		if len(t.savepoints) > 0 {
			return pgerror.New(pgcode.ActiveSqlTransaction, "SET TRANSACTION ISOLATION LEVEL must not be called in a subtransaction")
		}
	}
	if readOnlyGiven && !readOnly && s.settings.values["transaction_read_only"] == "on" {
		if len(t.savepoints) > 0 {
			return pgerror.New(pgcode.ActiveSqlTransaction, "cannot set transaction read-write mode inside a read-only transaction")
		}
		if t.queried {
			return pgerror.New(pgcode.ActiveSqlTransaction, "transaction read-write mode must be set before any query")
		}
	}
	if level != "" {
		s.settings.values["transaction_isolation"] = level
		if level == "serializable" {
			t.kv.TrackReads()
		}
	}
	if readOnlyGiven {
		s.settings.values["transaction_read_only"] = boolSetting(readOnly)
	}
	return nil
}

// setTransactionModeSetting runs SET transaction_isolation or SET
// transaction_read_only in a transaction block, the same as SET
// TRANSACTION.
func (s *Session) setTransactionModeSetting(d *setting, value string) error {
	value, err := d.normalize(value)
	if err != nil {
		return err
	}
	if d.name == "transaction_isolation" {
		return s.setTransactionMode(value, false, false)
	}
	return s.setTransactionMode("", value == "on", true)
}

// requireWritable fails with 25006 in a READ ONLY transaction.
func (ec *evalContext) requireWritable(statement string) error {
	if ec.sess.txn != nil && ec.sess.settings.values["transaction_read_only"] == "on" {
		return pgerror.Newf(pgcode.ReadOnlySqlTransaction, "cannot execute %s in a read-only transaction", statement)
	}
	return nil
}

// intervalTimeZoneSetting returns the TimeZone value of SET TIME ZONE
// INTERVAL '+05:30' HOUR TO MINUTE: the POSIX zone of that offset east of
// UTC.
func intervalTimeZoneSetting(arg *pg_query.Node) (string, error) {
	literal := arg.GetTypeCast().GetArg().GetAConst().GetSval()
	if literal == nil {
		return "", pgerror.NotSupported("SET TIME ZONE with an expression")
	}
	text := literal.GetSval()
	iv, err := parseInterval(text)
	if err != nil {
		return "", err
	}
	invalid := func(unit string) error {
		return pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for parameter \"TimeZone\": \"INTERVAL '%s'\"", text).
			WithDetailf("Cannot specify %s in time zone interval.", unit)
	}
	switch {
	case iv.Months != 0:
		return "", invalid("months")
	case iv.Days != 0:
		return "", invalid("days")
	}
	return numericTimeZone(float64(iv.Microseconds) / microsPerHour), nil
}
