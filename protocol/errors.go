package protocol

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// ErrorResponse converts err into the ErrorResponse message sent to the
// client: severity, SQLSTATE, message, detail, hint, cursor position,
// context and the names of the table, column and constraint at fault. An
// error without a SQLSTATE becomes XX000 with its message, except a bare
// context.Canceled, which becomes 57014 as PostgreSQL reports a canceled
// statement.
func ErrorResponse(err error) *pgproto3.ErrorResponse {
	resp, _ := errorResponse(err)
	return resp
}

// errorResponse is ErrorResponse that also reports whether err carried a
// SQLSTATE.
func errorResponse(err error) (*pgproto3.ErrorResponse, bool) {
	pe, coded := pgerror.Flatten(err)
	if !coded && errors.Is(err, context.Canceled) {
		pe = pgerror.New(pgcode.QueryCanceled, "canceling statement due to user request")
		pe.Severity = pgerror.SeverityError
		coded = true
	}
	return &pgproto3.ErrorResponse{
		Severity:            pe.Severity,
		SeverityUnlocalized: pe.Severity,
		Code:                string(pe.Code),
		Message:             pe.Message,
		Detail:              pe.Detail,
		Hint:                pe.Hint,
		Position:            pe.Position,
		Where:               pe.Where,
		TableName:           pe.TableName,
		ColumnName:          pe.ColumnName,
		ConstraintName:      pe.ConstraintName,
	}, coded
}
