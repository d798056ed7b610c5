package executor

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// The pre-parser recognises pgkeep's own statements and clauses on the
// tokens of PostgreSQL's lexer (pg_query.Scan), so quoting, comments and
// dollar quoting behave as in PostgreSQL:
//
//	CREATE USER [IF NOT EXISTS] name WITH PASSWORD 'pw' | OAUTH '{...}' | INTERNAL
//	    [ROLE r] [EMAIL 'addr'] [ALLOW_REMOTE true|false]
//	ALTER USER name SET PASSWORD 'pw' | SET ROLE r | SET EMAIL 'addr' | SET ALLOW_REMOTE b
//	CREATE [USER | SHARED | STREAM] TABLE ... [ACCESS LEVEL l] [TTL n]
//	ALTER TABLE name SET ACCESS LEVEL l
//	EXECUTE AS USER 'name' ( statement )
//	CREATE NAMESPACE ...   (CREATE SCHEMA)
//
// PostgreSQL's own forms (CREATE USER ... LOGIN PASSWORD, ALTER USER ...
// PASSWORD, CREATE TABLE ... WITH (type = ...)) go to the grammar as they are.

// extStmt is a pgkeep statement that PostgreSQL's grammar does not have.
type extStmt struct {
	createUser       *createUserStmt
	alterUser        *alterUserStmt
	alterAccessLevel *alterAccessLevelStmt
	executeAs        *executeAsStmt
}

// alterUserStmt is ALTER USER name SET ... in pgkeep's form.
type alterUserStmt struct {
	name        string
	password    *string
	role        *string
	email       *string
	allowRemote *bool
}

// alterAccessLevelStmt is ALTER TABLE name SET ACCESS LEVEL level.
type alterAccessLevelStmt struct {
	schema, table string
	level         string
}

// executeAsStmt is EXECUTE AS USER 'name' ( statement ).
type executeAsStmt struct {
	user  string
	inner string
}

// tableOptions are the pgkeep clauses of CREATE TABLE that the pre-parser
// removed from the text before PostgreSQL's grammar saw it.
type tableOptions struct {
	kind        string
	accessLevel string
	ttl         *int64
}

// preparsed is the pre-parser's result for one statement text.
type preparsed struct {
	// ext is set for a pgkeep statement.
	ext *extStmt
	// text is the statement text for PostgreSQL's grammar when ext is nil.
	text      string
	tableOpts *tableOptions
}

// preparse recognises pgkeep's statements and clauses in query. Texts with
// several statements go to the grammar unchanged.
func preparse(query string) (*preparsed, error) {
	out := &preparsed{text: query}
	first := firstWord(query)
	if first != "create" && first != "alter" && first != "execute" {
		return out, nil
	}
	toks, ok := scanTokens(query)
	if !ok || len(toks) < 3 {
		return out, nil
	}
	p := &extParser{toks: toks}
	switch {
	case toks[0].is("create") && toks[1].is("namespace"):
		out.text = query[:toks[1].start] + "SCHEMA" + query[toks[1].end:]
	case toks[0].is("create") && toks[1].is("user") && !toks[2].is("table"):
		if !isPgkeepCreateUser(toks) {
			return out, nil
		}
		p.pos = 2
		cu, err := p.createUser()
		if err != nil {
			return nil, err
		}
		out.ext = &extStmt{createUser: cu}
	case toks[0].is("alter") && (toks[1].is("user") || toks[1].is("role")) && len(toks) >= 4 && toks[3].is("set"):
		p.pos = 2
		au, err := p.alterUser()
		if err != nil {
			return nil, err
		}
		if au != nil {
			out.ext = &extStmt{alterUser: au}
		}
	case toks[0].is("alter") && toks[1].is("table"):
		al, err := parseAlterAccessLevel(p)
		if err != nil {
			return nil, err
		}
		if al != nil {
			out.ext = &extStmt{alterAccessLevel: al}
		}
	case toks[0].is("execute") && toks[1].is("as"):
		ea, err := parseExecuteAs(query, p)
		if err != nil {
			return nil, err
		}
		out.ext = &extStmt{executeAs: ea}
	case toks[0].is("create"):
		return preparseCreateTable(query, toks, out)
	}
	return out, nil
}

// firstWord returns the first word of query in lower case, skipping
// leading white space and comments.
func firstWord(query string) string {
	s := query
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return ""
			}
			s = s[i:]
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return ""
			}
			s = s[i+2:]
		default:
			end := strings.IndexFunc(s, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_')
			})
			if end < 0 {
				end = len(s)
			}
			return strings.ToLower(s[:end])
		}
	}
}

// scanTokens lexes a single-statement text. ok is false when the text does
// not lex or holds more than one statement.
func scanTokens(query string) ([]extToken, bool) {
	scan, err := pg_query.Scan(query)
	if err != nil {
		return nil, false
	}
	toks := make([]extToken, 0, len(scan.Tokens))
	for _, t := range scan.Tokens {
		if t.Token == pg_query.Token_SQL_COMMENT || t.Token == pg_query.Token_C_COMMENT {
			continue
		}
		toks = append(toks, extToken{
			tok: t.Token, text: query[t.Start:t.End], start: int(t.Start), end: int(t.End),
			keyword: t.KeywordKind != pg_query.KeywordKind_NO_KEYWORD,
		})
	}
	for len(toks) > 0 && toks[len(toks)-1].tok == pg_query.Token_ASCII_59 {
		toks = toks[:len(toks)-1]
	}
	for _, t := range toks {
		if t.tok == pg_query.Token_ASCII_59 {
			return nil, false
		}
	}
	return toks, true
}

// isPgkeepCreateUser reports whether a CREATE USER text uses a clause of
// pgkeep's form; PostgreSQL's form goes to the grammar.
func isPgkeepCreateUser(toks []extToken) bool {
	for _, t := range toks[2:] {
		if t.is("role") || t.is("email") || t.is("allow_remote") || t.is("internal") || t.is("oauth") || t.is("if") {
			return true
		}
	}
	return false
}

// alterUser parses the SET clauses of pgkeep's ALTER USER. It returns nil
// for PostgreSQL's ALTER ROLE name SET parameter forms, which only differ
// in the word after SET.
func (p *extParser) alterUser() (*alterUserStmt, error) {
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	au := &alterUserStmt{name: name}
	for p.peek() != nil {
		if !p.accept("set") {
			return nil, p.syntaxError()
		}
		switch {
		case p.accept("password"):
			pw, err := p.str()
			if err != nil {
				return nil, err
			}
			au.password = &pw
		case p.accept("role"):
			r, err := p.name()
			if err != nil {
				return nil, err
			}
			au.role = &r
		case p.accept("email"):
			e, err := p.str()
			if err != nil {
				return nil, err
			}
			au.email = &e
		case p.accept("allow_remote"):
			b, err := p.boolValue("allow_remote")
			if err != nil {
				return nil, err
			}
			au.allowRemote = &b
		default:
			if au.password == nil && au.role == nil && au.email == nil && au.allowRemote == nil {
				return nil, nil
			}
			return nil, p.syntaxError()
		}
		p.accept(",")
	}
	return au, nil
}

// boolValue reads true/false (quoted or not) for the named field.
func (p *extParser) boolValue(field string) (bool, error) {
	t := p.peek()
	if t == nil {
		return false, p.syntaxError()
	}
	p.pos++
	text := t.text
	if t.tok == pg_query.Token_SCONST {
		text = unquoteString(text)
	}
	v, err := parseBool(text)
	if err != nil {
		return false, pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for %s: %q", field, text)
	}
	return v.(bool), nil
}

// parseAlterAccessLevel parses ALTER TABLE name SET ACCESS LEVEL level. It
// returns nil for other ALTER TABLE forms.
func parseAlterAccessLevel(p *extParser) (*alterAccessLevelStmt, error) {
	n := len(p.toks)
	if n < 7 || !p.toks[n-4].is("set") || !p.toks[n-3].is("access") || !p.toks[n-2].is("level") {
		return nil, nil
	}
	p.pos = 2
	p.accept("if")
	al := &alterAccessLevelStmt{}
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	if p.accept(".") {
		al.schema = name
		if name, err = p.name(); err != nil {
			return nil, err
		}
	}
	al.table = name
	if p.pos != n-4 {
		return nil, p.syntaxError()
	}
	p.pos = n - 1
	level, err := p.name()
	if err != nil {
		return nil, err
	}
	al.level = level
	return al, nil
}

// parseExecuteAs parses EXECUTE AS USER 'name' ( statement ), keeping the
// inner statement's text.
func parseExecuteAs(query string, p *extParser) (*executeAsStmt, error) {
	p.pos = 2
	if !p.accept("user") {
		return nil, p.syntaxError()
	}
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	open := p.peek()
	last := p.toks[len(p.toks)-1]
	if open == nil || open.text != "(" || last.text != ")" || p.pos == len(p.toks)-1 {
		return nil, pgerror.New(pgcode.SyntaxError, "EXECUTE AS USER needs one statement in parentheses").
			WithHint("Write EXECUTE AS USER 'name' ( statement ).")
	}
	inner := strings.TrimSpace(query[open.end:last.start])
	if inner == "" {
		return nil, pgerror.New(pgcode.SyntaxError, "EXECUTE AS USER needs one statement in parentheses")
	}
	return &executeAsStmt{user: name, inner: inner}, nil
}

// preparseCreateTable handles CREATE [USER | SHARED | STREAM] TABLE and the
// trailing ACCESS LEVEL and TTL clauses, and hands the rest of the text to
// the grammar.
func preparseCreateTable(query string, toks []extToken, out *preparsed) (*preparsed, error) {
	kindAt := -1
	tableAt := -1
	for i := 1; i < len(toks) && i <= 3; i++ {
		if toks[i].is("table") {
			tableAt = i
			break
		}
	}
	if tableAt < 0 {
		return out, nil
	}
	if k := toks[tableAt-1]; k.is("user") || k.is("shared") || k.is("stream") {
		kindAt = tableAt - 1
	}
	opts := &tableOptions{}
	cut := len(toks)
	// Trailing clauses, in either order.
	for {
		n := cut
		switch {
		case n >= 3 && toks[n-3].is("access") && toks[n-2].is("level"):
			opts.accessLevel = strings.ToLower(unquoteIfString(toks[n-1]))
			cut -= 3
			continue
		case n >= 2 && toks[n-2].is("ttl"):
			v, err := strconv.ParseInt(toks[n-1].text, 10, 64)
			if err != nil {
				return nil, pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for ttl: %q", toks[n-1].text)
			}
			opts.ttl = &v
			cut -= 2
			continue
		}
		break
	}
	if kindAt < 0 && cut == len(toks) {
		return out, nil
	}
	text := query
	end := len(query)
	if cut < len(toks) {
		end = toks[cut].start
	}
	text = query[:end]
	if kindAt >= 0 {
		opts.kind = strings.ToLower(toks[kindAt].text)
		text = text[:toks[kindAt].start] + text[toks[kindAt].end:]
	}
	out.text = text
	out.tableOpts = opts
	return out, nil
}

func unquoteIfString(t extToken) string {
	if t.tok == pg_query.Token_SCONST {
		return unquoteString(t.text)
	}
	return t.text
}
