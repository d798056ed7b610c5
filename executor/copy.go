package executor

import (
	"bufio"
	"io"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
	"github.com/pgkeep/pgkeep/security"
)

// This file plans and runs COPY. COPY FROM STDIN parses the client's data
// as it streams in (copy_format.go) and writes each row through the
// inserter of INSERT, so defaults, NOT NULL, keys, indexes and per-user
// rows behave the same. COPY TO STDOUT runs a SELECT, or the given query,
// and sends one CopyData message per row. Both run in the statement's
// transaction, so a failed COPY leaves nothing behind.

// copyReadBufferSize is the size of the buffer between the client's
// CopyData messages and the parser. With the longest line, it bounds the
// memory that parsing a COPY FROM takes.
const copyReadBufferSize = 64 << 10

func (a *analyser) planCopy(stmt *pg_query.CopyStmt) (*plan, error) {
	if stmt.Filename != "" || stmt.IsProgram {
		return nil, a.serverFileCopyError(stmt)
	}
	opts, err := parseCopyOptions(stmt.Options, stmt.IsFrom)
	if err != nil {
		return nil, err
	}
	if stmt.IsFrom {
		return a.planCopyFrom(stmt, opts)
	}
	return a.planCopyTo(stmt, opts)
}

// serverFileCopyError returns the error of COPY to or from a server file or
// program: 42501 for every role but system, like PostgreSQL for a role
// without pg_read_server_files, and 0A000 for system, because pgkeep does
// not read or write server files.
func (a *analyser) serverFileCopyError(stmt *pg_query.CopyStmt) error {
	if subjectOf(a.subject()).Role == security.RoleSystem {
		if stmt.IsProgram {
			return pgerror.NotSupported("COPY to or from an external program")
		}
		return pgerror.NotSupported("COPY to or from a server file").
			WithHint("Use COPY ... FROM STDIN or TO STDOUT, or psql's \\copy, which reads and writes files on the client.")
	}
	hint := "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone."
	if stmt.IsProgram {
		return pgerror.New(pgcode.InsufficientPrivilege, "permission denied to COPY to or from an external program").WithHint(hint)
	}
	return pgerror.New(pgcode.InsufficientPrivilege, "permission denied to COPY to or from a file").WithHint(hint)
}

// copyColumns resolves the column list of a COPY against t, or returns
// every visible column when the list is empty.
func copyColumns(t *catalog.TableDescriptor, attlist []*pg_query.Node) ([]int, error) {
	var targets []int
	if len(attlist) == 0 {
		for i, c := range t.Columns {
			if !c.Hidden {
				targets = append(targets, i)
			}
		}
		return targets, nil
	}
	seen := map[int]bool{}
	for _, n := range attlist {
		name := n.GetString_().GetSval()
		idx := -1
		for i, c := range t.Columns {
			if c.Name == name && !c.Hidden {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q of relation %q does not exist", name, t.Name)
		}
		if seen[idx] {
			return nil, pgerror.Newf(pgcode.DuplicateColumn, "column %q specified more than once", name)
		}
		seen[idx] = true
		targets = append(targets, idx)
	}
	return targets, nil
}

func (a *analyser) planCopyFrom(stmt *pg_query.CopyStmt, opts *copyOptions) (*plan, error) {
	t, _, err := a.resolveTable(stmt.Relation)
	if err != nil {
		return nil, err
	}
	if t.Kind == catalog.TableKindView {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "cannot copy to view %q", t.Name)
	}
	if err := a.checkTable(t, security.OpInsert); err != nil {
		return nil, err
	}
	targets, err := copyColumns(t, stmt.Attlist)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(targets))
	types := make([]catalog.ColumnType, len(targets))
	for i, idx := range targets {
		names[i], types[i] = t.Columns[idx].Name, t.Columns[idx].Type
	}
	if err := opts.resolveColumns(names); err != nil {
		return nil, err
	}
	defaults, err := a.columnDefaults(t)
	if err != nil {
		return nil, err
	}
	checks, err := a.compileRowChecks(t)
	if err != nil {
		return nil, err
	}
	codec := newRowCodec(t)
	var filter expr
	if stmt.WhereClause != nil {
		if filter, err = a.whereFilter(tableScope(t, t.Name), stmt.WhereClause); err != nil {
			return nil, err
		}
	}

	run := func(ec *evalContext, sink protocol.ResultSink) (int64, error) {
		if err := ec.requireWritable("COPY FROM"); err != nil {
			return 0, err
		}
		// NOTE: PostgreSQL checks the current subtransaction, this the
		// whole transaction: a table truncated before a SAVEPOINT passes.
		if opts.freeze && !ec.sess.txn.newTables[t.ID] {
			return 0, pgerror.New(pgcode.ObjectNotInPrerequisiteState, "cannot perform COPY FREEZE because the table was not created or truncated in the current subtransaction")
		}
		formats := make([]int16, len(targets))
		for i := range formats {
			formats[i] = opts.wireFormat()
		}
		in, err := sink.CopyIn(opts.wireFormat(), formats)
		if err != nil {
			return 0, err
		}
		src := newCopySource(bufio.NewReaderSize(in, copyReadBufferSize), opts, t.Name, names, types, ec.sess.location())
		ins := &inserter{table: t, codec: codec, defaults: defaults, targets: targets, touched: map[string]bool{}, checks: checks, pending: &fkPending{}}
		var n int64
		for {
			if err := ec.checkCancel(); err != nil {
				return n, err
			}
			vals, err := src.next()
			if err != nil {
				return n, err
			}
			if vals == nil {
				break
			}
			row, err := ins.row(ec, nil, vals)
			if err != nil {
				return n, src.rowError(err)
			}
			if filter != nil {
				ok, err := filter.eval(ec, row)
				if err != nil {
					return n, src.rowError(err)
				}
				if ok != true {
					continue
				}
			}
			if err := ins.checks.check(ec, row, ins.pending); err != nil {
				return n, src.rowError(err)
			}
			if err := ins.insert(ec, row); err != nil {
				return n, src.rowError(err)
			}
			n++
		}
		if err := ins.pending.run(ec); err != nil {
			return n, err
		}
		// Like PostgreSQL, skip whatever follows an end-of-data marker up
		// to CopyDone, so the client's messages are all read.
		if _, err := io.Copy(io.Discard, in); err != nil {
			return n, err
		}
		return n, nil
	}
	return &plan{run: func(ec *evalContext) (*result, error) {
		return &result{copy: run}, nil
	}}, nil
}

func (a *analyser) planCopyTo(stmt *pg_query.CopyStmt, opts *copyOptions) (*plan, error) {
	var source *plan
	if stmt.Query != nil {
		var err error
		if source, err = a.planNode(stmt.Query); err != nil {
			return nil, err
		}
		if source.cols == nil {
			return nil, pgerror.New(pgcode.FeatureNotSupported, "COPY query must have a RETURNING clause")
		}
	} else {
		var err error
		if source, err = a.planCopyTableSelect(stmt); err != nil {
			return nil, err
		}
	}
	cols := source.cols
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	if err := opts.resolveColumns(names); err != nil {
		return nil, err
	}

	run := func(ec *evalContext, sink protocol.ResultSink) (int64, error) {
		res, err := source.run(ec)
		if err != nil {
			return 0, err
		}
		if res.rows == nil {
			return 0, pgerror.Internal("COPY query returned no row iterator")
		}
		defer res.rows.close()
		formats := make([]int16, len(cols))
		for i := range formats {
			formats[i] = opts.wireFormat()
		}
		out, err := sink.CopyOut(opts.wireFormat(), formats)
		if err != nil {
			return 0, err
		}
		enc := newCopyEncoder(opts, cols, ec.sess.location())
		if buf := enc.header(names); len(buf) > 0 {
			if _, err := out.Write(buf); err != nil {
				return 0, err
			}
		}
		var n int64
		for {
			if err := ec.checkCancel(); err != nil {
				return n, err
			}
			row, err := res.rows.next(ec)
			if err != nil {
				return n, err
			}
			if row == nil {
				break
			}
			buf, err := enc.row(row)
			if err != nil {
				return n, err
			}
			if _, err := out.Write(buf); err != nil {
				return n, err
			}
			n++
		}
		if buf := enc.trailer(); len(buf) > 0 {
			if _, err := out.Write(buf); err != nil {
				return n, err
			}
		}
		return n, out.Close()
	}
	return &plan{run: func(ec *evalContext) (*result, error) {
		return &result{copy: run}, nil
	}}, nil
}

// planCopyTableSelect plans COPY table TO as SELECT of its columns, so the
// table's access rules and per-user row filtering apply as for a query.
func (a *analyser) planCopyTableSelect(stmt *pg_query.CopyStmt) (*plan, error) {
	t, _, err := a.resolveTable(stmt.Relation)
	if err != nil {
		return nil, err
	}
	if t.Kind == catalog.TableKindView {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "cannot copy from view %q", t.Name).
			WithHint("Try the COPY (SELECT ...) TO variant.")
	}
	targets, err := copyColumns(t, stmt.Attlist)
	if err != nil {
		return nil, err
	}
	sel := &pg_query.SelectStmt{
		FromClause: []*pg_query.Node{{Node: &pg_query.Node_RangeVar{RangeVar: stmt.Relation}}},
	}
	if len(stmt.Attlist) == 0 {
		star := pg_query.MakeColumnRefNode([]*pg_query.Node{pg_query.MakeAStarNode()}, -1)
		sel.TargetList = append(sel.TargetList, pg_query.MakeResTargetNodeWithVal(star, -1))
	} else {
		for _, idx := range targets {
			ref := pg_query.MakeColumnRefNode([]*pg_query.Node{pg_query.MakeStrNode(t.Columns[idx].Name)}, -1)
			sel.TargetList = append(sel.TargetList, pg_query.MakeResTargetNodeWithVal(ref, -1))
		}
	}
	return a.planSelect(sel)
}

// copyOptions are the options of one COPY statement.
type copyOptions struct {
	format copyFormat
	// freeze is set by FREEZE, which PostgreSQL allows only on a table
	// created or truncated in the same transaction. pgkeep keeps no
	// per-row visibility hints, so it loads such a table as usual.
	freeze bool
	// header is set by HEADER; headerMatch by HEADER MATCH, which also
	// checks the names in the first line of COPY FROM.
	header      bool
	headerMatch bool
	delimiter   byte
	null        string
	quote       byte
	escape      byte

	forceQuoteAll bool
	// forceQuoteNames, forceNotNullNames and forceNullNames are the column
	// lists of FORCE_QUOTE, FORCE_NOT_NULL and FORCE_NULL; resolveColumns
	// turns them into the flags per copied column.
	forceQuoteNames   []string
	forceNotNullNames []string
	forceNullNames    []string
	forceQuote        []bool
	forceNotNull      []bool
	forceNull         []bool
}

type copyFormat int

const (
	copyText copyFormat = iota
	copyCSV
	copyBinary
)

// wireFormat returns the format code of CopyInResponse and
// CopyOutResponse.
func (o *copyOptions) wireFormat() int16 {
	if o.format == copyBinary {
		return 1
	}
	return 0
}

// parseCopyOptions reads the option list of a COPY statement and checks it
// with PostgreSQL 15's rules and messages.
func parseCopyOptions(list []*pg_query.Node, isFrom bool) (*copyOptions, error) {
	o := &copyOptions{}
	seen := map[string]bool{}
	var delimiter, null, quote, escape *string
	for _, n := range list {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		name := d.Defname
		if seen[name] {
			return nil, pgerror.New(pgcode.SyntaxError, "conflicting or redundant options").WithPosition(d.Location + 1)
		}
		seen[name] = true
		switch name {
		case "format":
			switch f := defString(d); f {
			case "text":
				o.format = copyText
			case "csv":
				o.format = copyCSV
			case "binary":
				o.format = copyBinary
			default:
				return nil, pgerror.Newf(pgcode.InvalidParameterValue, "COPY format \"%s\" not recognized", f).WithPosition(d.Location + 1)
			}
		case "header":
			if s := strings.ToLower(defString(d)); s == "match" {
				if !isFrom {
					return nil, pgerror.New(pgcode.FeatureNotSupported, "cannot use \"match\" with HEADER in COPY TO").WithPosition(d.Location + 1)
				}
				o.header, o.headerMatch = true, true
				continue
			}
			b, err := defBoolean(d)
			if err != nil {
				return nil, err
			}
			o.header = b
		case "delimiter":
			s := defString(d)
			delimiter = &s
		case "null":
			s := defString(d)
			null = &s
		case "quote":
			s := defString(d)
			quote = &s
		case "escape":
			s := defString(d)
			escape = &s
		case "force_quote":
			if d.Arg.GetAStar() != nil {
				o.forceQuoteAll = true
			} else {
				o.forceQuoteNames = defNames(d)
			}
		case "force_not_null":
			o.forceNotNullNames = defNames(d)
		case "force_null":
			o.forceNullNames = defNames(d)
		case "freeze":
			b, err := defBoolean(d)
			if err != nil {
				return nil, err
			}
			o.freeze = b
		case "encoding":
			enc := strings.ToUpper(strings.ReplaceAll(defString(d), "-", ""))
			if enc != "UTF8" && enc != "UNICODE" {
				return nil, pgerror.Newf(pgcode.FeatureNotSupported, "COPY encoding %q is not supported", defString(d)).
					WithDetail("pgkeep reads and writes COPY data in UTF8 only.")
			}
		default:
			return nil, pgerror.Newf(pgcode.SyntaxError, "option \"%s\" not recognized", name).WithPosition(d.Location + 1)
		}
	}
	if err := o.check(isFrom, delimiter, null, quote, escape); err != nil {
		return nil, err
	}
	return o, nil
}

// check applies the defaults and the consistency rules of the options.
func (o *copyOptions) check(isFrom bool, delimiter, null, quote, escape *string) error {
	csv := o.format == copyCSV
	if o.format == copyBinary {
		switch {
		case delimiter != nil:
			return pgerror.New(pgcode.SyntaxError, "cannot specify DELIMITER in BINARY mode")
		case null != nil:
			return pgerror.New(pgcode.SyntaxError, "cannot specify NULL in BINARY mode")
		case o.header:
			return pgerror.New(pgcode.SyntaxError, "cannot specify HEADER in BINARY mode")
		}
	}

	o.delimiter, o.null = '\t', `\N`
	if csv {
		o.delimiter, o.null, o.quote = ',', "", '"'
	}
	if delimiter != nil {
		if len(*delimiter) != 1 {
			return pgerror.New(pgcode.FeatureNotSupported, "COPY delimiter must be a single one-byte character")
		}
		o.delimiter = (*delimiter)[0]
	}
	if null != nil {
		o.null = *null
	}
	if o.delimiter == '\n' || o.delimiter == '\r' {
		return pgerror.New(pgcode.InvalidParameterValue, "COPY delimiter cannot be newline or carriage return")
	}
	if strings.ContainsAny(o.null, "\r\n") {
		return pgerror.New(pgcode.InvalidParameterValue, "COPY null representation cannot use newline or carriage return")
	}
	if o.format == copyText && strings.IndexByte(`\.abcdefghijklmnopqrstuvwxyz0123456789`, o.delimiter) >= 0 {
		return pgerror.Newf(pgcode.InvalidParameterValue, "COPY delimiter cannot be \"%s\"", string(o.delimiter))
	}

	if quote != nil {
		if !csv {
			return pgerror.New(pgcode.FeatureNotSupported, "COPY quote available only in CSV mode")
		}
		if len(*quote) != 1 {
			return pgerror.New(pgcode.FeatureNotSupported, "COPY quote must be a single one-byte character")
		}
		o.quote = (*quote)[0]
	}
	if csv && o.delimiter == o.quote {
		return pgerror.New(pgcode.InvalidParameterValue, "COPY delimiter and quote must be different")
	}

	o.escape = o.quote
	if escape != nil {
		if !csv {
			return pgerror.New(pgcode.FeatureNotSupported, "COPY escape available only in CSV mode")
		}
		if len(*escape) != 1 {
			return pgerror.New(pgcode.FeatureNotSupported, "COPY escape must be a single one-byte character")
		}
		o.escape = (*escape)[0]
	}

	if o.forceQuoteAll || o.forceQuoteNames != nil {
		if !csv {
			return pgerror.New(pgcode.FeatureNotSupported, "COPY force quote available only in CSV mode")
		}
		if isFrom {
			return pgerror.New(pgcode.FeatureNotSupported, "COPY force quote only available using COPY TO")
		}
	}
	if o.forceNotNullNames != nil {
		if !csv {
			return pgerror.New(pgcode.FeatureNotSupported, "COPY force not null available only in CSV mode")
		}
		if !isFrom {
			return pgerror.New(pgcode.FeatureNotSupported, "COPY force not null only available using COPY FROM")
		}
	}
	if o.forceNullNames != nil {
		if !csv {
			return pgerror.New(pgcode.FeatureNotSupported, "COPY force null available only in CSV mode")
		}
		if !isFrom {
			return pgerror.New(pgcode.FeatureNotSupported, "COPY force null only available using COPY FROM")
		}
	}

	if o.format != copyBinary && strings.IndexByte(o.null, o.delimiter) >= 0 {
		return pgerror.New(pgcode.InvalidParameterValue, "COPY delimiter must not appear in the NULL specification")
	}
	if csv && strings.IndexByte(o.null, o.quote) >= 0 {
		return pgerror.New(pgcode.InvalidParameterValue, "CSV quote character must not appear in the NULL specification")
	}
	return nil
}

// resolveColumns turns the FORCE_* column lists into flags for the copied
// columns names.
func (o *copyOptions) resolveColumns(names []string) error {
	resolve := func(list []string, option string) ([]bool, error) {
		flags := make([]bool, len(names))
		for _, name := range list {
			found := false
			for i, n := range names {
				if n == name {
					flags[i], found = true, true
				}
			}
			if !found {
				return nil, pgerror.Newf(pgcode.InvalidColumnReference, "%s column \"%s\" not referenced by COPY", option, name)
			}
		}
		return flags, nil
	}
	var err error
	if o.forceQuote, err = resolve(o.forceQuoteNames, "FORCE_QUOTE"); err != nil {
		return err
	}
	if o.forceQuoteAll {
		for i := range o.forceQuote {
			o.forceQuote[i] = true
		}
	}
	if o.forceNotNull, err = resolve(o.forceNotNullNames, "FORCE_NOT_NULL"); err != nil {
		return err
	}
	o.forceNull, err = resolve(o.forceNullNames, "FORCE_NULL")
	return err
}

// defString returns the argument of an option as text, or "" when it has
// none.
func defString(d *pg_query.DefElem) string {
	switch {
	case d.Arg == nil:
		return ""
	case d.Arg.GetString_() != nil:
		return d.Arg.GetString_().Sval
	case d.Arg.GetInteger() != nil:
		return itoa(int64(d.Arg.GetInteger().Ival))
	case d.Arg.GetBoolean() != nil:
		return boolText(d.Arg.GetBoolean().Boolval)
	case d.Arg.GetFloat() != nil:
		return d.Arg.GetFloat().Fval
	}
	return ""
}

// defBoolean reads a Boolean option. An option without an argument is
// true, as in PostgreSQL.
func defBoolean(d *pg_query.DefElem) (bool, error) {
	if d.Arg == nil {
		return true, nil
	}
	if b := d.Arg.GetBoolean(); b != nil {
		return b.Boolval, nil
	}
	switch strings.ToLower(defString(d)) {
	case "true", "on", "1", "yes":
		return true, nil
	case "false", "off", "0", "no":
		return false, nil
	}
	return false, pgerror.Newf(pgcode.SyntaxError, "%s requires a Boolean value", d.Defname).WithPosition(d.Location + 1)
}

// defNames returns the column names of a FORCE_* option.
func defNames(d *pg_query.DefElem) []string {
	names := []string{}
	for _, item := range d.Arg.GetList().GetItems() {
		names = append(names, item.GetString_().GetSval())
	}
	return names
}
