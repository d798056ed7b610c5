package protocol

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// handleQuery runs a simple Query message: the session's results, an
// ErrorResponse if a statement failed, then ReadyForQuery. It returns only
// errors that end the connection.
func (c *Conn) handleQuery(ctx context.Context, query string) error {
	// PostgreSQL drops the unnamed statement and portal when a simple Query
	// arrives.
	delete(c.stmts, "")
	c.closePortal("")

	err := validateText(query)
	if err == nil {
		err = c.execSimple(ctx, query)
	}
	if c.copyReceiveErr != nil {
		return nil
	}
	if err != nil && c.writeErr == nil {
		if err := c.sendError(err); err != nil {
			return err
		}
	}
	if c.writeErr != nil {
		return c.writeErr
	}

	c.endOfCommand()
	c.appendReadyForQuery()
	return c.flush()
}

func (c *Conn) execSimple(ctx context.Context, query string) error {
	stmtCtx, end := c.beginStatement(ctx)
	defer end()
	c.sink.reset(true, nil, nil)
	return c.sess.ExecSimple(stmtCtx, query, &c.sink)
}

// validateText checks that client text is valid UTF-8, the only encoding
// pgkeep speaks. The error names the first invalid byte as PostgreSQL does.
func validateText(s string) error {
	if utf8.ValidString(s) {
		return nil
	}
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return pgerror.Newf(pgcode.CharacterNotInRepertoire,
				`invalid byte sequence for encoding "UTF8": 0x%02x`, s[i])
		}
	}
	return nil
}
