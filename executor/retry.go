package executor

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
)

// An INSERT, UPDATE or DELETE that runs alone in an implicit transaction,
// as an autocommit statement does, fails to commit with 40001 when a
// concurrent transaction committed a write to one of the same keys first
// (kv's first-committer-wins check). Two autocommit UPDATEs of one counter
// row would often collide that way. PostgreSQL's READ COMMITTED instead
// makes the second wait for the row lock and then updates the new row
// version. The client cannot retry a transaction it never opened, so the
// session runs the statement again in a new transaction, as long as the
// statement's output is still buffered and can be withdrawn
// (protocol.Rewinder). kv makes the loser of a conflict wait until the
// winner's commit is visible, so the new run reads it.

// maxImplicitRetries bounds the runs after the first. Every conflict has a
// winner, so a statement loses this often only under heavy contention.
const maxImplicitRetries = 100

// implicitRetry can run the statement of an implicit transaction again.
type implicitRetry struct {
	sink     protocol.ResultSink
	rewinder protocol.Rewinder
	// start and end delimit the statement's output. A retry needs the
	// output to end at end still, so that nothing else follows it.
	start, end protocol.OutputMark
	// rerun runs the statement again, opening a new implicit transaction.
	rerun func(ctx context.Context) error
}

// beginImplicitRetry marks the start of a statement's output when the
// statement would open the implicit transaction, or run first in one that
// has not written yet, so it may be retried. It returns nil otherwise.
// Any statement drops the retry of an earlier one in the transaction.
func (s *Session) beginImplicitRetry(sink protocol.ResultSink) *implicitRetry {
	s.retry = nil
	rewinder, ok := sink.(protocol.Rewinder)
	if !ok || (s.txn != nil && (s.txn.explicit || s.txn.kv.HasWrites())) {
		return nil
	}
	return &implicitRetry{sink: sink, rewinder: rewinder, start: rewinder.Mark()}
}

// recordImplicitRetry keeps r for the commit at Sync when p ran a
// retryable statement to its end in an implicit transaction.
func (s *Session) recordImplicitRetry(r *implicitRetry, p *portal) {
	if r == nil || !p.plan.retryable || s.txn == nil || s.txn.explicit {
		return
	}
	r.end = r.rewinder.Mark()
	stmt, pl, params := p.stmt, p.plan, p.params
	r.rerun = func(ctx context.Context) error {
		again := &portal{sess: s, stmt: stmt, params: params}
		if stmt == nil {
			again.plan = pl
		}
		_, err := again.Execute(ctx, r.sink, 0)
		return err
	}
	s.retry = r
}

// commitImplicit commits the implicit transaction. When the commit fails
// with 40001 and the transaction's statement can run again, it withdraws
// the statement's output and runs it in a new transaction, up to
// maxImplicitRetries times.
func (s *Session) commitImplicit(ctx context.Context) error {
	r := s.retry
	s.retry = nil
	err := s.finishTxn(true)
	for attempt := 0; r != nil && attempt < maxImplicitRetries; attempt++ {
		if !pgerror.HasCode(err, pgcode.SerializationFailure) {
			return err
		}
		if r.rewinder.Mark() != r.end || !r.rewinder.Rewind(r.start) {
			return err
		}
		// A short random pause keeps the losers of one conflict from
		// colliding again at once.
		time.Sleep(time.Duration(rand.Int64N(int64(min(attempt+1, 20)) * int64(200*time.Microsecond))))
		if err := ctx.Err(); err != nil {
			return cancelError(ctx, err)
		}
		runErr := r.rerun(ctx)
		// The run recorded a retry of its own; this loop keeps r.
		s.retry = nil
		if runErr != nil {
			s.endImplicit()
			return runErr
		}
		r.end = r.rewinder.Mark()
		err = s.finishTxn(true)
	}
	return err
}
