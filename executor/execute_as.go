package executor

import (
	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
	"github.com/pgkeep/pgkeep/security"
)

// planExecuteAs handles EXECUTE AS USER 'name' ( statement ): the inner
// statement is checked and run as that user, so its writes to USER and
// STREAM tables land in that user's rows. Because the target's role decides
// the inner plan, the statement is analysed again at every execution. The
// result columns come from an analysis as the target when the plan is
// made. An execution whose analysis gives other columns fails with 0A000,
// like a prepared statement after a schema change. The rows, of a SELECT or a
// RETURNING clause, are collected before the audit entry records the
// command tag.
func (a *analyser) planExecuteAs(ea *executeAsStmt) (*plan, error) {
	inner, err := parseQuery(ea.inner)
	if err != nil {
		return nil, err
	}
	if len(inner.stmts) != 1 {
		return nil, pgerror.New(pgcode.SyntaxError, "EXECUTE AS USER runs exactly one statement")
	}
	st := inner.stmts[0]
	// Only reads and writes of rows run as another user. User management
	// and DDL would let the target's rights act on the session's behalf,
	// for example a service changing a user's password as that user.
	n := st.node
	if st.ext != nil || n == nil || (n.GetSelectStmt() == nil && n.GetInsertStmt() == nil && n.GetUpdateStmt() == nil && n.GetDeleteStmt() == nil) {
		return nil, pgerror.New(pgcode.InsufficientPrivilege, "EXECUTE AS USER runs only SELECT, INSERT, UPDATE and DELETE").
			WithHint("Run user management and DDL as yourself.")
	}
	cols := a.executeAsColumns(ea, st)
	return &plan{cols: cols, run: func(ec *evalContext) (*result, error) {
		s := ec.sess
		// A user may act only as itself; refuse before the lookup, so the
		// answer does not reveal whether the target exists.
		if actor := ec.actor(); actor.Role == catalog.RoleUser && ea.user != actor.Name {
			return nil, pgerror.Newf(pgcode.InsufficientPrivilege, "permission denied to execute as user %q", ea.user).
				WithDetailf("Required role: service, dba or system; current role: %s.", actor.Role)
		}
		target, err := s.srv.cat.User(s.txn.kv, ea.user)
		if err != nil {
			return nil, err
		}
		if target == nil || !target.Active() {
			return nil, pgerror.Newf(pgcode.UndefinedObject, "role %q does not exist", ea.user)
		}
		targetRole, err := security.ParseRole(target.Role)
		if err != nil {
			return nil, err
		}
		if err := security.CheckExecuteAs(subjectOf(ec.actor()), target.Name, targetRole); err != nil {
			return nil, err
		}

		params := &paramTypes{}
		an := &analyser{sess: s, txn: s.txn.kv, params: params, sql: st.sql, asUser: target, tableOpts: st.tableOpts}
		var p *plan
		if st.ext != nil {
			p, err = an.planExtension(st.ext)
		} else {
			p, err = an.planNode(st.node)
		}
		if err != nil {
			return nil, err
		}
		if !sameColumns(p.cols, cols) {
			return nil, pgerror.New(pgcode.FeatureNotSupported, "cached plan must not change result type")
		}
		innerEC := *ec
		innerEC.asUser = target
		res, err := p.run(&innerEC)
		if err != nil {
			return nil, err
		}
		var rows [][]any
		if res.rows != nil {
			defer res.rows.close()
			for {
				row, err := res.rows.next(&innerEC)
				if err != nil {
					return nil, err
				}
				if row == nil {
					break
				}
				if cols != nil {
					rows = append(rows, append([]any(nil), row...))
				} else {
					rows = append(rows, nil)
				}
			}
		}
		tag := res.tag
		if tag == "" {
			tag = "SELECT " + itoa(int64(len(rows)))
		}
		// The detail is the command tag, not the statement text, which may
		// hold a password.
		if err := ec.audit("execute as user", target.Name, tag); err != nil {
			return nil, err
		}
		if cols == nil {
			return &result{tag: tag}, nil
		}
		return &result{tag: tag, rows: &sliceIter{rows: rows}}, nil
	}}, nil
}

// executeAsColumns returns the result columns of the inner statement of
// EXECUTE AS USER, analysed as the target, or nil when the statement
// returns no rows or the target cannot be used. A user, who may act only
// as itself, gets nil for any other target without a lookup, so the
// columns do not reveal whether the target exists.
func (a *analyser) executeAsColumns(ea *executeAsStmt, st *parsedStmt) []protocol.Column {
	if actor := a.subject(); actor.Role == catalog.RoleUser && ea.user != actor.Name {
		return nil
	}
	target, err := a.sess.srv.cat.User(a.txn, ea.user)
	if err != nil || target == nil || !target.Active() {
		return nil
	}
	an := &analyser{sess: a.sess, txn: a.txn, params: &paramTypes{}, sql: st.sql, asUser: target, tableOpts: st.tableOpts}
	p, err := an.planNode(st.node)
	if err != nil {
		return nil
	}
	return p.cols
}
