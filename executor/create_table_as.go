package executor

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// This file implements CREATE TABLE ... AS and SELECT ... INTO. The query
// is analysed once to learn its columns. Execution then runs a CREATE
// TABLE with those names and types and an INSERT ... SELECT of the query,
// both written as SQL and analysed in the statement's transaction, so the
// new table behaves like any other created with CREATE TABLE.

// planSelectInto turns SELECT ... INTO t into CREATE TABLE t AS SELECT.
func (a *analyser) planSelectInto(sel *pg_query.SelectStmt) (*plan, error) {
	query := proto.Clone(sel).(*pg_query.SelectStmt)
	into := query.IntoClause
	query.IntoClause = nil
	return a.planCreateTableAs(&pg_query.CreateTableAsStmt{
		Query:        &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: query}},
		Into:         into,
		Objtype:      pg_query.ObjectType_OBJECT_TABLE,
		IsSelectInto: true,
	})
}

func (a *analyser) planCreateTableAs(cs *pg_query.CreateTableAsStmt) (*plan, error) {
	if cs.Objtype == pg_query.ObjectType_OBJECT_MATVIEW {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "materialized views are not supported")
	}
	sel := cs.Query.GetSelectStmt()
	if sel == nil {
		return nil, pgerror.NotSupported("CREATE TABLE AS EXECUTE")
	}
	into := cs.Into
	switch {
	case len(into.Options) > 0:
		return nil, pgerror.NotSupported("WITH options of CREATE TABLE AS")
	case into.OnCommit != pg_query.OnCommitAction_ONCOMMIT_NOOP:
		return nil, pgerror.NotSupported("ON COMMIT")
	case into.TableSpaceName != "":
		return nil, pgerror.NotSupported("TABLESPACE")
	}

	query, err := a.planSelect(sel)
	if err != nil {
		return nil, err
	}
	if len(into.ColNames) > len(query.cols) {
		return nil, pgerror.New(pgcode.SyntaxError, "too many column names were specified")
	}
	var defs []string
	for i, c := range query.cols {
		name := c.Name
		if i < len(into.ColNames) {
			name = into.ColNames[i].GetString_().GetSval()
		}
		oid := c.TypeOID
		if oid == oidUnknown {
			oid = oidText
		}
		if _, ok := typeNames[oid]; !ok && arrayElem(oid) == 0 {
			return nil, pgerror.Newf(pgcode.FeatureNotSupported, "column %q has type %s, which a table cannot store", name, typeName(oid))
		}
		defs = append(defs, quoteIdentIfNeeded(name)+" "+formatTypeName(oid, c.TypeModifier))
	}
	if len(defs) == 0 {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "tables without columns are not supported")
	}

	text, err := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: cs.Query}}})
	if err != nil {
		return nil, pgerror.Wrapf(err, pgcode.InternalError, "deparse the query of CREATE TABLE AS")
	}
	rv := into.Rel
	name := quoteIdentIfNeeded(rv.Relname)
	if rv.Schemaname != "" {
		name = quoteIdentIfNeeded(rv.Schemaname) + "." + name
	}
	create := "CREATE "
	if rv.Relpersistence == "t" {
		create += "TEMPORARY "
	}
	create += "TABLE " + name + " (" + strings.Join(defs, ", ") + ")"
	insert := "INSERT INTO " + name + " " + text

	ifNotExists, skipData := cs.IfNotExists, into.SkipData
	return &plan{run: func(ec *evalContext) (*result, error) {
		s := ec.sess
		an := &analyser{sess: s, txn: s.txn.kv, params: &paramTypes{}}
		if ifNotExists {
			if _, _, err := an.resolveTable(rv); err == nil {
				return &result{tag: "CREATE TABLE AS"}, ec.notice("42P07", "relation \""+rv.Relname+"\" already exists, skipping")
			}
		}
		if err := runSQL(ec, an, create); err != nil {
			return nil, err
		}
		if skipData {
			return &result{tag: "CREATE TABLE AS"}, nil
		}
		res, err := runSQLResult(ec, an, insert)
		if err != nil {
			return nil, err
		}
		// The INSERT's tag is "INSERT 0 n", and PostgreSQL reports "SELECT n".
		return &result{tag: "SELECT " + res.tag[strings.LastIndexByte(res.tag, ' ')+1:]}, nil
	}}, nil
}

// runSQL analyses and runs one statement written by pgkeep in the
// statement's transaction.
func runSQL(ec *evalContext, an *analyser, sql string) error {
	_, err := runSQLResult(ec, an, sql)
	return err
}

func runSQLResult(ec *evalContext, an *analyser, sql string) (*result, error) {
	pq, err := parseQuery(sql)
	if err != nil {
		return nil, err
	}
	st := pq.stmts[0]
	p, err := an.planNode(st.node)
	if err != nil {
		return nil, err
	}
	res, err := p.run(ec)
	if err != nil {
		return nil, err
	}
	if res.rows != nil {
		res.rows.close()
	}
	return res, nil
}
