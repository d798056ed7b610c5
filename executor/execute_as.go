package executor

import (
	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/security"
)

// planExecuteAs handles EXECUTE AS USER 'name' ( statement ): the inner
// statement is checked and run as that user, so its writes to USER and
// STREAM tables land in that user's rows. Because the target's role decides
// the inner plan, the statement is analysed again at every execution, and
// it returns no rows.
// NOTE: a RETURNING clause inside EXECUTE AS USER is executed, but its rows
// are not sent.
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
	return &plan{run: func(ec *evalContext) (*result, error) {
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
		innerEC := *ec
		innerEC.asUser = target
		res, err := p.run(&innerEC)
		if err != nil {
			return nil, err
		}
		count := 0
		if res.rows != nil {
			// Drain the rows so the statement runs to completion.
			defer res.rows.close()
			for {
				row, err := res.rows.next(&innerEC)
				if err != nil {
					return nil, err
				}
				if row == nil {
					break
				}
				count++
			}
		}
		tag := res.tag
		if tag == "" {
			tag = "SELECT " + itoa(int64(count))
		}
		// The detail is the command tag, not the statement text, which may
		// hold a password.
		if err := ec.audit("execute as user", target.Name, tag); err != nil {
			return nil, err
		}
		return &result{tag: tag}, nil
	}}, nil
}
