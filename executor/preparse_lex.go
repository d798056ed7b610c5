package executor

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// extToken is one token of PostgreSQL's lexer with its text and byte
// offsets in the statement.
type extToken struct {
	tok        pg_query.Token
	text       string
	start, end int
	keyword    bool
}

func (t extToken) is(word string) bool { return strings.EqualFold(t.text, word) }

type extParser struct {
	toks []extToken
	pos  int
}

func (p *extParser) peek() *extToken {
	if p.pos >= len(p.toks) {
		return nil
	}
	return &p.toks[p.pos]
}

func (p *extParser) accept(word string) bool {
	if t := p.peek(); t != nil && t.is(word) {
		p.pos++
		return true
	}
	return false
}

func (p *extParser) syntaxError() error {
	if t := p.peek(); t != nil {
		return pgerror.Newf(pgcode.SyntaxError, "syntax error at or near %q", t.text)
	}
	return pgerror.New(pgcode.SyntaxError, "syntax error at end of input")
}

// name reads an identifier or a single-quoted string.
func (p *extParser) name() (string, error) {
	t := p.peek()
	if t == nil {
		return "", p.syntaxError()
	}
	p.pos++
	if t.tok == pg_query.Token_SCONST {
		return unquoteString(t.text), nil
	}
	if strings.HasPrefix(t.text, `"`) {
		return strings.ReplaceAll(t.text[1:len(t.text)-1], `""`, `"`), nil
	}
	if t.tok == pg_query.Token_IDENT || t.keyword {
		return strings.ToLower(t.text), nil
	}
	p.pos--
	return "", p.syntaxError()
}

func (p *extParser) str() (string, error) {
	t := p.peek()
	if t == nil || t.tok != pg_query.Token_SCONST {
		return "", p.syntaxError()
	}
	p.pos++
	return unquoteString(t.text), nil
}

// unquoteString returns the value of a string constant token: '...' with
// doubled quotes, E'...' with backslash escapes, or $tag$...$tag$.
func unquoteString(s string) string {
	switch {
	case strings.HasPrefix(s, "$"):
		end := strings.Index(s[1:], "$") + 2
		return s[end : len(s)-end]
	case strings.HasPrefix(s, "E'") || strings.HasPrefix(s, "e'"):
		body := s[2 : len(s)-1]
		var b strings.Builder
		for i := 0; i < len(body); i++ {
			c := body[i]
			if c == '\\' && i+1 < len(body) {
				i++
				switch body[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				default:
					b.WriteByte(body[i])
				}
				continue
			}
			if c == '\'' && i+1 < len(body) && body[i+1] == '\'' {
				i++
			}
			b.WriteByte(c)
		}
		return b.String()
	}
	return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
}
