package protocol

import (
	"context"
	"math"
	"slices"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// portal is a bound statement with the result formats the client chose.
//
// Portal lifetime: the unnamed portal is replaced by the next Bind to it and
// dropped by a simple Query. Every portal, named or not, is closed by Close
// or at the end of the transaction, which the protocol layer observes as a
// Sync or simple Query after which the session reports status 'I'. A named
// portal therefore survives the Syncs inside a transaction block, as in
// PostgreSQL, where only WITH HOLD cursors outlive their transaction.
type portal struct {
	portal Portal
	cols   []Column
	// formats contains one format code per column, or is nil for text.
	formats []int16
}

func (c *Conn) handleParse(ctx context.Context, msg *pgproto3.Parse) error {
	if msg.Name == "" {
		// PostgreSQL drops the old unnamed statement even when the new one
		// fails to parse.
		delete(c.stmts, "")
	} else if _, exists := c.stmts[msg.Name]; exists {
		return pgerror.Newf(pgcode.DuplicatePstatement, "prepared statement \"%s\" already exists", msg.Name)
	}
	if err := validateText(msg.Query); err != nil {
		return err
	}

	// The message is reused by the next Receive, so keep a copy of the OIDs.
	paramOIDs := slices.Clone(msg.ParameterOIDs)
	stmtCtx, end := c.beginStatement(ctx)
	stmt, err := c.sess.Prepare(stmtCtx, msg.Query, paramOIDs)
	end()
	if err != nil {
		return err
	}

	c.stmts[msg.Name] = stmt
	return c.send(&pgproto3.ParseComplete{})
}

func (c *Conn) handleBind(ctx context.Context, msg *pgproto3.Bind) error {
	stmt, err := c.lookupStatement(msg.PreparedStatement)
	if err != nil {
		return err
	}
	oids := stmt.ParamOIDs()

	paramFormats, err := expandFormats(msg.ParameterFormatCodes, len(msg.Parameters), func() error {
		return pgerror.Newf(pgcode.ProtocolViolation, "bind message has %d parameter formats but %d parameters",
			len(msg.ParameterFormatCodes), len(msg.Parameters))
	})
	if err != nil {
		return err
	}
	if len(msg.Parameters) != len(oids) {
		return pgerror.Newf(pgcode.ProtocolViolation,
			"bind message supplies %d parameters, but prepared statement \"%s\" requires %d",
			len(msg.Parameters), msg.PreparedStatement, len(oids))
	}

	if msg.DestinationPortal == "" {
		c.closePortal("")
	} else if _, exists := c.portals[msg.DestinationPortal]; exists {
		return pgerror.Newf(pgcode.DuplicateCursor, "cursor \"%s\" already exists", msg.DestinationPortal)
	}

	params, err := c.decodeParams(oids, paramFormats, msg.Parameters)
	if err != nil {
		return err
	}

	stmtCtx, end := c.beginStatement(ctx)
	bound, err := c.sess.Bind(stmtCtx, stmt, params)
	end()
	if err != nil {
		return err
	}

	cols := bound.Columns()
	resultFormats, err := expandFormats(msg.ResultFormatCodes, len(cols), func() error {
		return pgerror.Newf(pgcode.ProtocolViolation, "bind message has %d result formats but query has %d columns",
			len(msg.ResultFormatCodes), len(cols))
	})
	if err != nil {
		bound.Close()
		return err
	}

	c.portals[msg.DestinationPortal] = &portal{portal: bound, cols: cols, formats: resultFormats}
	return c.send(&pgproto3.BindComplete{})
}

func (c *Conn) handleDescribe(msg *pgproto3.Describe) error {
	switch msg.ObjectType {
	case 'S':
		stmt, err := c.lookupStatement(msg.Name)
		if err != nil {
			return err
		}
		if err := c.send(&pgproto3.ParameterDescription{ParameterOIDs: stmt.ParamOIDs()}); err != nil {
			return err
		}
		// The formats of a statement's results are unknown until Bind, so
		// they are described as text, as PostgreSQL does.
		return c.sendRowDescription(stmt.Columns(), nil)
	case 'P':
		p, err := c.lookupPortal(msg.Name)
		if err != nil {
			return err
		}
		return c.sendRowDescription(p.cols, p.formats)
	default:
		return pgerror.Newf(pgcode.ProtocolViolation, "invalid DESCRIBE message subtype %d", msg.ObjectType)
	}
}

// sendRowDescription sends RowDescription, or NoData when cols is nil.
func (c *Conn) sendRowDescription(cols []Column, formats []int16) error {
	if cols == nil {
		return c.send(&pgproto3.NoData{})
	}
	if c.writeErr != nil {
		return c.writeErr
	}
	c.wbuf = appendRowDescription(c.wbuf, cols, formats)
	return c.maybeFlush()
}

func (c *Conn) handleExecute(ctx context.Context, msg *pgproto3.Execute) error {
	p, err := c.lookupPortal(msg.Portal)
	if err != nil {
		return err
	}

	// The row limit is an int32 on the wire; zero or negative means all rows.
	maxRows := 0
	if msg.MaxRows <= math.MaxInt32 {
		maxRows = int(msg.MaxRows)
	}

	stmtCtx, end := c.beginStatement(ctx)
	defer end()
	c.sink.reset(false, p.cols, p.formats)
	suspended, err := p.portal.Execute(stmtCtx, &c.sink, maxRows)
	if c.copyReceiveErr != nil {
		return nil
	}
	if err != nil {
		return err
	}
	if suspended {
		return c.send(&pgproto3.PortalSuspended{})
	}
	return nil
}

func (c *Conn) handleClose(msg *pgproto3.Close) error {
	// Closing a statement or portal that does not exist is not an error.
	switch msg.ObjectType {
	case 'S':
		delete(c.stmts, msg.Name)
	case 'P':
		c.closePortal(msg.Name)
	default:
		return pgerror.Newf(pgcode.ProtocolViolation, "invalid CLOSE message subtype %d", msg.ObjectType)
	}
	return c.send(&pgproto3.CloseComplete{})
}

// handleSync ends skipping after an error, lets the session end its
// implicit transaction, closes the transaction's portals when the session
// is idle, and sends ReadyForQuery.
func (c *Conn) handleSync(ctx context.Context) error {
	c.ignoreTillSync = false

	stmtCtx, end := c.beginStatement(ctx)
	err := c.sess.Sync(stmtCtx)
	end()
	if err != nil {
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

// endOfCommand closes all portals when the session is outside a
// transaction block, because the transaction they belonged to has ended.
func (c *Conn) endOfCommand() {
	if c.sess.TxnStatus() == 'I' {
		c.closeAllPortals()
	}
}

func (c *Conn) lookupStatement(name string) (PreparedStatement, error) {
	stmt, ok := c.stmts[name]
	if ok {
		return stmt, nil
	}
	if name == "" {
		return nil, pgerror.New(pgcode.UndefinedPstatement, "unnamed prepared statement does not exist")
	}
	return nil, pgerror.Newf(pgcode.UndefinedPstatement, "prepared statement \"%s\" does not exist", name)
}

func (c *Conn) lookupPortal(name string) (*portal, error) {
	p, ok := c.portals[name]
	if !ok {
		return nil, pgerror.Newf(pgcode.UndefinedCursor, "portal \"%s\" does not exist", name)
	}
	return p, nil
}

func (c *Conn) closePortal(name string) {
	p, ok := c.portals[name]
	if !ok {
		return
	}
	delete(c.portals, name)
	p.portal.Close()
}

func (c *Conn) closeAllPortals() {
	for name := range c.portals {
		c.closePortal(name)
	}
}
