package executor

import (
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
	if st.ext != nil && st.ext.executeAs != nil {
		return nil, pgerror.New(pgcode.SyntaxError, "EXECUTE AS USER cannot be nested")
	}
	if st.node != nil && st.node.GetTransactionStmt() != nil {
		return nil, pgerror.New(pgcode.SyntaxError, "EXECUTE AS USER cannot run transaction control statements")
	}
	return &plan{run: func(ec *evalContext) (*result, error) {
		s := ec.sess
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
		return &result{tag: tag}, nil
	}}, nil
}
