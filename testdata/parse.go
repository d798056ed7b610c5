package testdata

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Engine names accepted by skipif and onlyif.
const (
	EnginePgkeep   = "pgkeep"
	EnginePostgres = "postgres"
)

// pgkeepOnlyTag is the comment line that marks a file as using pgkeep's own
// statements, so the file is skipped on PostgreSQL.
const pgkeepOnlyTag = "# pgkeep-only"

// resultSeparator separates a query's SQL from its expected rows.
const resultSeparator = "----"

// RecordKind is the kind of a record in a sqllogictest file.
type RecordKind int

const (
	// KindStatement is a "statement ok" or "statement error" record.
	KindStatement RecordKind = iota
	// KindQuery is a "query" record, including "query error".
	KindQuery
	// KindHalt is a "halt" record, which stops the file.
	KindHalt
)

// SortMode is the order in which a query's rows are compared.
type SortMode int

const (
	// NoSort compares rows in the order the server sent them.
	NoSort SortMode = iota
	// RowSort sorts the printed rows before comparing.
	RowSort
	// ValueSort prints every value on a line of its own and sorts the lines.
	ValueSort
)

// ErrorSpec is the error a record expects.
type ErrorSpec struct {
	// Code is the expected SQLSTATE, or empty to accept any.
	Code string
	// Message must match the error message, or is nil to accept any.
	Message *regexp.Regexp
}

// String returns the spec as written after "error" in a record header.
func (e *ErrorSpec) String() string {
	var parts []string
	if e.Code != "" {
		parts = append(parts, "SQLSTATE "+e.Code)
	}
	if e.Message != nil {
		parts = append(parts, e.Message.String())
	}
	if len(parts) == 0 {
		return "any error"
	}
	return strings.Join(parts, " ")
}

// Record is one statement, query or halt of a sqllogictest file.
type Record struct {
	// Line is the 1-based line number of the record's header.
	Line int
	Kind RecordKind
	SQL  string

	// SkipIf and OnlyIf are the engine names of the record's conditions.
	SkipIf []string
	OnlyIf []string

	// Error is the expected error, or nil when the record expects success.
	Error *ErrorSpec

	// Types has one letter per expected result column of a query.
	Types    string
	Sort     SortMode
	Expected []string

	// sqlEnd is the 0-based index of the line after the SQL, and
	// resultStart and resultEnd bound the separator and expected rows,
	// for rewriting. resultStart equals resultEnd when the query has no
	// separator.
	sqlEnd      int
	resultStart int
	resultEnd   int
}

// RunsOn reports whether the record's conditions let it run on engine.
func (r *Record) RunsOn(engine string) bool {
	for _, e := range r.SkipIf {
		if e == engine {
			return false
		}
	}
	if len(r.OnlyIf) == 0 {
		return true
	}
	for _, e := range r.OnlyIf {
		if e == engine {
			return true
		}
	}
	return false
}

// File is a parsed sqllogictest file.
type File struct {
	Path string
	// PgkeepOnly is set by the "# pgkeep-only" tag.
	PgkeepOnly bool
	Records    []*Record

	lines []string
}

// ParseFile reads and parses the sqllogictest file at path.
func ParseFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, string(data))
}

// Parse parses the text of a sqllogictest file. path is used in error
// messages only.
func Parse(path, text string) (*File, error) {
	text = strings.TrimSuffix(text, "\n")
	f := &File{Path: path, lines: strings.Split(text, "\n")}
	p := parser{file: f}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return f, nil
}

type parser struct {
	file *File
	// pos is the 0-based index of the next line to read.
	pos    int
	skipIf []string
	onlyIf []string
	// conditionLine is the 1-based line of the first pending condition,
	// or 0 when none is pending.
	conditionLine int
}

func (p *parser) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file.Path, line, fmt.Sprintf(format, args...))
}

func (p *parser) parse() error {
	lines := p.file.lines
	for p.pos < len(lines) {
		lineNo := p.pos + 1
		trimmed := strings.TrimSpace(lines[p.pos])

		if trimmed == "" {
			if p.conditionLine != 0 {
				return p.errorf(p.conditionLine, "skipif or onlyif must directly precede a record, but a blank line follows it")
			}
			p.pos++
			continue
		}
		if strings.HasPrefix(trimmed, "#") {
			if trimmed == pgkeepOnlyTag {
				p.file.PgkeepOnly = true
			}
			p.pos++
			continue
		}

		fields := strings.Fields(trimmed)
		switch fields[0] {
		case "skipif", "onlyif":
			if err := p.parseCondition(lineNo, fields); err != nil {
				return err
			}
			p.pos++
		case "statement":
			if err := p.parseStatement(lineNo, fields); err != nil {
				return err
			}
		case "query":
			if err := p.parseQuery(lineNo, fields); err != nil {
				return err
			}
		case "halt":
			if len(fields) != 1 {
				return p.errorf(lineNo, "halt takes no arguments, got %q", trimmed)
			}
			p.add(&Record{Line: lineNo, Kind: KindHalt})
			p.pos++
		default:
			return p.errorf(lineNo, "unknown record type %q; expected statement, query, halt, skipif or onlyif", fields[0])
		}
	}
	if p.conditionLine != 0 {
		return p.errorf(p.conditionLine, "skipif or onlyif at the end of the file has no record")
	}
	return nil
}

func (p *parser) parseCondition(lineNo int, fields []string) error {
	if len(fields) != 2 {
		return p.errorf(lineNo, "%s takes one engine name, got %q", fields[0], strings.Join(fields, " "))
	}
	engine := fields[1]
	if engine != EnginePgkeep && engine != EnginePostgres {
		return p.errorf(lineNo, "unknown engine %q; expected %s or %s", engine, EnginePgkeep, EnginePostgres)
	}
	if fields[0] == "skipif" {
		p.skipIf = append(p.skipIf, engine)
	} else {
		p.onlyIf = append(p.onlyIf, engine)
	}
	if p.conditionLine == 0 {
		p.conditionLine = lineNo
	}
	return nil
}

// add appends r with the pending conditions and clears them.
func (p *parser) add(r *Record) {
	r.SkipIf, r.OnlyIf = p.skipIf, p.onlyIf
	p.skipIf, p.onlyIf, p.conditionLine = nil, nil, 0
	p.file.Records = append(p.file.Records, r)
}

func (p *parser) parseStatement(lineNo int, fields []string) error {
	r := &Record{Line: lineNo, Kind: KindStatement}
	switch {
	case len(fields) == 2 && fields[1] == "ok":
	case len(fields) >= 2 && fields[1] == "error":
		spec, err := p.parseErrorSpec(lineNo)
		if err != nil {
			return err
		}
		r.Error = spec
	default:
		return p.errorf(lineNo, "invalid statement header %q; expected \"statement ok\" or \"statement error ...\"", strings.Join(fields, " "))
	}
	p.pos++

	sql, err := p.readSQL(lineNo, false)
	if err != nil {
		return err
	}
	r.SQL = sql
	r.sqlEnd = p.pos
	p.add(r)
	return nil
}

func (p *parser) parseQuery(lineNo int, fields []string) error {
	r := &Record{Line: lineNo, Kind: KindQuery}
	if len(fields) < 2 {
		return p.errorf(lineNo, "query needs column types or \"error\"")
	}
	if fields[1] == "error" {
		spec, err := p.parseErrorSpec(lineNo)
		if err != nil {
			return err
		}
		r.Error = spec
		p.pos++
		sql, err := p.readSQL(lineNo, false)
		if err != nil {
			return err
		}
		r.SQL, r.sqlEnd = sql, p.pos
		r.resultStart, r.resultEnd = p.pos, p.pos
		p.add(r)
		return nil
	}

	r.Types = fields[1]
	for _, c := range r.Types {
		if !strings.ContainsRune("TIRB", c) {
			return p.errorf(lineNo, "invalid column type %q in %q; expected T, I, R or B", c, r.Types)
		}
	}
	if len(fields) > 3 {
		return p.errorf(lineNo, "too many arguments in %q; expected \"query <types> [sort mode]\"", strings.Join(fields, " "))
	}
	if len(fields) == 3 {
		switch fields[2] {
		case "nosort":
			r.Sort = NoSort
		case "rowsort":
			r.Sort = RowSort
		case "valuesort":
			r.Sort = ValueSort
		default:
			return p.errorf(lineNo, "unknown sort mode %q; expected nosort, rowsort or valuesort", fields[2])
		}
	}
	p.pos++

	sql, err := p.readSQL(lineNo, true)
	if err != nil {
		return err
	}
	r.SQL, r.sqlEnd = sql, p.pos
	r.resultStart, r.resultEnd = p.pos, p.pos

	lines := p.file.lines
	if p.pos < len(lines) && strings.TrimSpace(lines[p.pos]) == resultSeparator {
		p.pos++
		for p.pos < len(lines) && strings.TrimSpace(lines[p.pos]) != "" {
			r.Expected = append(r.Expected, lines[p.pos])
			p.pos++
		}
		r.resultEnd = p.pos
	}
	p.add(r)
	return nil
}

// parseErrorSpec parses the text after "error" in the header on the
// current line.
func (p *parser) parseErrorSpec(lineNo int) (*ErrorSpec, error) {
	header := strings.TrimSpace(p.file.lines[p.pos])
	_, rest, _ := strings.Cut(header, "error")
	rest = strings.TrimSpace(rest)

	spec := &ErrorSpec{}
	if code, ok := strings.CutPrefix(rest, "SQLSTATE"); ok {
		fields := strings.Fields(code)
		if len(fields) == 0 || len(fields[0]) != 5 {
			return nil, p.errorf(lineNo, "SQLSTATE needs a five-character code, got %q", header)
		}
		spec.Code = fields[0]
		rest = strings.TrimSpace(strings.TrimSpace(code)[5:])
	}
	if rest != "" {
		re, err := regexp.Compile(rest)
		if err != nil {
			return nil, p.errorf(lineNo, "invalid error regexp %q: %v", rest, err)
		}
		spec.Message = re
	}
	return spec, nil
}

// readSQL reads SQL lines up to a blank line, the end of the file or,
// when stopAtSeparator is set, a "----" line.
func (p *parser) readSQL(lineNo int, stopAtSeparator bool) (string, error) {
	lines := p.file.lines
	var sql []string
	for p.pos < len(lines) {
		trimmed := strings.TrimSpace(lines[p.pos])
		if trimmed == "" {
			break
		}
		if trimmed == resultSeparator {
			if !stopAtSeparator {
				return "", p.errorf(p.pos+1, "unexpected %q: only a query record has expected results", resultSeparator)
			}
			break
		}
		sql = append(sql, lines[p.pos])
		p.pos++
	}
	if len(sql) == 0 {
		return "", p.errorf(lineNo, "record has no SQL")
	}
	return strings.Join(sql, "\n"), nil
}
