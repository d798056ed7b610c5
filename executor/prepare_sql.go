package executor

import (
	"context"
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
)

// This file implements SQL's PREPARE, EXECUTE, DEALLOCATE and DISCARD.
// Statements prepared with SQL live in the session. DEALLOCATE and
// DISCARD ALL also drop the prepared statements of the extended protocol,
// which share their namespace in PostgreSQL and which the connection
// keeps (protocol.StatementDeallocator): Rails deallocates its protocol
// statements with SQL, and connection poolers reset sessions with
// DISCARD ALL.
// NOTE: EXECUTE finds only statements prepared with SQL, not those of
// the extended protocol.

// sqlPrepared is a statement prepared with SQL's PREPARE.
type sqlPrepared struct {
	stmt      *parsedStmt
	paramOIDs []uint32
}

func (a *analyser) planPrepare(ps *pg_query.PrepareStmt) (*plan, error) {
	if ps.Query == nil {
		return nil, pgerror.New(pgcode.SyntaxError, "PREPARE needs a statement")
	}
	text, err := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: ps.Query}}})
	if err != nil {
		return nil, pgerror.Wrapf(err, pgcode.InternalError, "deparse the prepared statement")
	}
	paramOIDs := make([]uint32, len(ps.Argtypes))
	for i, n := range ps.Argtypes {
		typ, _, err := resolveTypeName(n.GetTypeName())
		if err != nil {
			return nil, err
		}
		paramOIDs[i] = typ.OID
	}
	name := ps.Name
	return tagPlan("PREPARE", func(ec *evalContext) error {
		s := ec.sess
		if _, exists := s.sqlPrepared[name]; exists {
			return pgerror.Newf(pgcode.DuplicatePstatement, "prepared statement %q already exists", name)
		}
		pq, err := parseQuery(text)
		if err != nil {
			return err
		}
		st := pq.stmts[0]
		if _, err := s.planFor(ec.ctx, st, paramOIDs); err != nil {
			return err
		}
		if s.sqlPrepared == nil {
			s.sqlPrepared = map[string]*sqlPrepared{}
		}
		s.sqlPrepared[name] = &sqlPrepared{stmt: st, paramOIDs: st.plan.paramOIDs}
		s.preparedVersion++
		return nil
	}), nil
}

// discardTemporaryObjects drops the session's temporary tables and
// sequences in the statement's transaction, for DISCARD TEMP.
func (s *Session) discardTemporaryObjects() error {
	if s.temp.schema == "" {
		return nil
	}
	if err := s.srv.cat.DropTemporarySchema(s.txn.kv, s.temp.schema); err != nil {
		return err
	}
	s.temp.schema = ""
	s.temporaryDDL()
	return nil
}

// dropCachedPlans drops the parsed and analysed statements of the
// session, for DISCARD PLANS.
func (s *Session) dropCachedPlans() {
	for text := range s.cache {
		delete(s.cache, text)
	}
}

// lookupPrepared returns the statement prepared with SQL under name.
func (s *Session) lookupPrepared(name string) (*sqlPrepared, error) {
	ps := s.sqlPrepared[name]
	if ps == nil {
		return nil, pgerror.Newf(pgcode.InvalidSqlStatementName, "prepared statement %q does not exist", name)
	}
	return ps, nil
}

func (a *analyser) planExecute(es *pg_query.ExecuteStmt) (*plan, error) {
	ps, err := a.sess.lookupPrepared(es.Name)
	if err != nil {
		return nil, err
	}
	inner, err := a.sess.planFor(context.Background(), ps.stmt, ps.paramOIDs)
	if err != nil {
		return nil, err
	}
	if len(es.Params) != len(ps.paramOIDs) {
		return nil, pgerror.Newf(pgcode.SyntaxError, "wrong number of parameters for prepared statement %q", es.Name).
			WithDetail(fmt.Sprintf("Expected %d parameters but got %d.", len(ps.paramOIDs), len(es.Params)))
	}
	b := &builder{sess: a.sess, params: a.params, an: a}
	args := make([]expr, len(es.Params))
	for i, n := range es.Params {
		e, err := b.build(n)
		if err != nil {
			return nil, err
		}
		if args[i], err = b.castTo(e, plainType(ps.paramOIDs[i]), false); err != nil {
			return nil, err
		}
	}
	cols := inner.cols
	name := es.Name
	return &plan{cols: cols, retryable: inner.retryable, run: func(ec *evalContext) (*result, error) {
		s := ec.sess
		ps, err := s.lookupPrepared(name)
		if err != nil {
			return nil, err
		}
		p, err := s.planFor(ec.ctx, ps.stmt, ps.paramOIDs)
		if err != nil {
			return nil, err
		}
		if !sameColumns(p.cols, cols) {
			return nil, pgerror.New(pgcode.FeatureNotSupported, "cached plan must not change result type")
		}
		values := make([]any, len(args))
		for i, arg := range args {
			if values[i], err = arg.eval(ec, nil); err != nil {
				return nil, err
			}
		}
		innerEC := *ec
		innerEC.params = values
		res, err := p.run(&innerEC)
		if err != nil || res.rows == nil {
			return res, err
		}
		res.rows = &contextIter{src: res.rows, ec: &innerEC}
		return res, nil
	}}, nil
}

// contextIter reads rows with its own evaluation context: that of the
// prepared statement EXECUTE runs, which holds its parameters.
type contextIter struct {
	src rowIter
	ec  *evalContext
}

func (it *contextIter) next(ec *evalContext) ([]any, error) {
	it.ec.ctx = ec.ctx
	return it.src.next(it.ec)
}

func (it *contextIter) close() { it.src.close() }

func (a *analyser) planDeallocate(ds *pg_query.DeallocateStmt) (*plan, error) {
	name := ds.Name
	tag := "DEALLOCATE"
	if name == "" {
		tag = "DEALLOCATE ALL"
	}
	return &plan{run: func(ec *evalContext) (*result, error) {
		s := ec.sess
		return &result{tag: tag, withSink: func(sink protocol.ResultSink) error {
			s.preparedVersion++
			d, _ := sink.(protocol.StatementDeallocator)
			if name == "" {
				s.sqlPrepared = nil
				if d != nil {
					d.DeallocateAllStatements()
				}
				return nil
			}
			_, found := s.sqlPrepared[name]
			delete(s.sqlPrepared, name)
			if d != nil && d.DeallocateStatement(name) {
				found = true
			}
			if !found {
				return pgerror.Newf(pgcode.InvalidSqlStatementName, "prepared statement %q does not exist", name)
			}
			return nil
		}}, nil
	}}, nil
}

func (a *analyser) planDiscard(ds *pg_query.DiscardStmt) (*plan, error) {
	mode := ds.Target
	tags := map[pg_query.DiscardMode]string{
		pg_query.DiscardMode_DISCARD_ALL: "DISCARD ALL", pg_query.DiscardMode_DISCARD_PLANS: "DISCARD PLANS",
		pg_query.DiscardMode_DISCARD_SEQUENCES: "DISCARD SEQUENCES", pg_query.DiscardMode_DISCARD_TEMP: "DISCARD TEMP",
	}
	tag, ok := tags[mode]
	if !ok {
		return nil, pgerror.NotSupported("DISCARD " + mode.String())
	}
	return &plan{run: func(ec *evalContext) (*result, error) {
		s := ec.sess
		if mode == pg_query.DiscardMode_DISCARD_ALL && s.txn.explicit {
			return nil, pgerror.New(pgcode.ActiveSqlTransaction, "DISCARD ALL cannot run inside a transaction block")
		}
		if mode == pg_query.DiscardMode_DISCARD_ALL || mode == pg_query.DiscardMode_DISCARD_TEMP {
			if err := s.discardTemporaryObjects(); err != nil {
				return nil, err
			}
		}
		if mode == pg_query.DiscardMode_DISCARD_ALL || mode == pg_query.DiscardMode_DISCARD_SEQUENCES {
			s.seqs = sequenceSession{}
		}
		if mode == pg_query.DiscardMode_DISCARD_ALL || mode == pg_query.DiscardMode_DISCARD_PLANS {
			s.dropCachedPlans()
		}
		if mode != pg_query.DiscardMode_DISCARD_ALL {
			return &result{tag: tag}, nil
		}
		s.resetAllSettings()
		return &result{tag: tag, withSink: func(sink protocol.ResultSink) error {
			s.sqlPrepared = nil
			s.preparedVersion++
			if d, ok := sink.(protocol.StatementDeallocator); ok {
				d.DeallocateAllStatements()
			}
			return nil
		}}, nil
	}}, nil
}
