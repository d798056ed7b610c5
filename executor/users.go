package executor

import (
	"errors"
	"strings"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// extStmt is a pgkeep statement that PostgreSQL's grammar does not have,
// recognised by the pre-parser.
type extStmt struct {
	createUser *createUserStmt
}

// createUserStmt is CREATE USER in pgkeep's form or PostgreSQL's.
type createUserStmt struct {
	name        string
	ifNotExists bool
	password    *string
	internal    bool
	role        string
	email       string
	allowRemote bool
}

// parseExtension recognises pgkeep's CREATE USER form:
//
//	CREATE USER [IF NOT EXISTS] name WITH PASSWORD 'pw' | INTERNAL
//	    [ROLE user|service|dba|system] [EMAIL 'addr'] [ALLOW_REMOTE true|false]
//
// It works on the tokens of PostgreSQL's lexer, so quoting and comments
// behave as in PostgreSQL. ok is false for any other statement, which then
// goes to the PostgreSQL grammar; PostgreSQL's own CREATE USER ... LOGIN
// PASSWORD form is left to it as well.
func parseExtension(query string) (*extStmt, bool, error) {
	trimmed := strings.TrimLeft(query, " \t\r\n")
	if len(trimmed) < 6 || !strings.EqualFold(trimmed[:6], "create") {
		return nil, false, nil
	}
	scan, err := pg_query.Scan(query)
	if err != nil {
		return nil, false, nil
	}
	toks := make([]extToken, 0, len(scan.Tokens))
	for _, t := range scan.Tokens {
		if t.Token == pg_query.Token_SQL_COMMENT || t.Token == pg_query.Token_C_COMMENT {
			continue
		}
		toks = append(toks, extToken{tok: t.Token, text: query[t.Start:t.End], keyword: t.KeywordKind != pg_query.KeywordKind_NO_KEYWORD})
	}
	if len(toks) > 0 && toks[len(toks)-1].tok == pg_query.Token_ASCII_59 {
		toks = toks[:len(toks)-1]
	}
	if len(toks) >= 3 && toks[0].is("create") && toks[1].is("namespace") {
		// CREATE NAMESPACE is pgkeep's synonym of CREATE SCHEMA.
		return nil, false, errNamespaceSynonym
	}
	if len(toks) < 3 || !toks[0].is("create") || !toks[1].is("user") {
		return nil, false, nil
	}
	// Only statements using a pgkeep clause take this path.
	pgkeepForm := false
	for _, t := range toks[2:] {
		if t.is("role") || t.is("email") || t.is("allow_remote") || t.is("internal") || t.is("if") {
			pgkeepForm = true
		}
	}
	if !pgkeepForm {
		return nil, false, nil
	}
	p := &extParser{toks: toks, pos: 2}
	cu, err := p.createUser()
	if err != nil {
		return nil, true, err
	}
	return &extStmt{createUser: cu}, true, nil
}

type extToken struct {
	tok     pg_query.Token
	text    string
	keyword bool
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

func (p *extParser) createUser() (*createUserStmt, error) {
	cu := &createUserStmt{role: catalog.RoleUser}
	if p.accept("if") {
		if !p.accept("not") || !p.accept("exists") {
			return nil, p.syntaxError()
		}
		cu.ifNotExists = true
	}
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	cu.name = name
	p.accept("with")
	for p.peek() != nil {
		switch {
		case p.accept("password"):
			pw, err := p.str()
			if err != nil {
				return nil, err
			}
			cu.password = &pw
		case p.accept("internal"):
			cu.internal = true
		case p.accept("login"):
		case p.accept("role"):
			r, err := p.name()
			if err != nil {
				return nil, err
			}
			cu.role = r
		case p.accept("email"):
			e, err := p.str()
			if err != nil {
				return nil, err
			}
			cu.email = e
		case p.accept("allow_remote"):
			t := p.peek()
			if t == nil {
				return nil, p.syntaxError()
			}
			p.pos++
			v, err := parseBool(strings.Trim(t.text, "'"))
			if err != nil {
				return nil, pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for allow_remote: %q", t.text)
			}
			cu.allowRemote = v.(bool)
		default:
			return nil, p.syntaxError()
		}
	}
	if cu.password == nil && !cu.internal {
		return nil, pgerror.New(pgcode.InvalidParameterValue, "CREATE USER needs PASSWORD or INTERNAL")
	}
	if cu.password != nil && cu.internal {
		return nil, pgerror.New(pgcode.SyntaxError, "conflicting options: PASSWORD and INTERNAL")
	}
	return cu, nil
}

func (a *analyser) planExtension(ext *extStmt) (*plan, error) {
	if ext.createUser != nil {
		return a.planCreateUser(ext.createUser)
	}
	return nil, pgerror.Internal("empty extension statement")
}

func (a *analyser) planCreateRole(cr *pg_query.CreateRoleStmt) (*plan, error) {
	cu := &createUserStmt{name: cr.Role, role: catalog.RoleUser}
	for _, o := range cr.Options {
		de := o.GetDefElem()
		switch de.Defname {
		case "password":
			if de.Arg == nil {
				continue
			}
			pw := de.Arg.GetString_().GetSval()
			cu.password = &pw
		case "canlogin", "inherit", "connectionlimit":
		default:
			return nil, pgerror.NotSupported("role option " + strings.ToUpper(de.Defname))
		}
	}
	if cu.password == nil {
		return nil, pgerror.New(pgcode.InvalidParameterValue, "CREATE ROLE needs a PASSWORD in pgkeep").
			WithHint("pgkeep users log in with a password; use CREATE USER name WITH INTERNAL for local-only users.")
	}
	return a.planCreateUser(cu)
}

func (a *analyser) planCreateUser(cu *createUserStmt) (*plan, error) {
	if err := a.requireRole("create users", catalog.RoleDBA, catalog.RoleSystem); err != nil {
		return nil, err
	}
	if !catalog.ValidRole(cu.role) {
		return nil, pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for role: %q", cu.role).
			WithHint("Valid roles are user, service, dba and system.")
	}
	if cu.role == catalog.RoleSystem && a.sess.user.Role != catalog.RoleSystem {
		return nil, pgerror.New(pgcode.InsufficientPrivilege, "permission denied to create a user with role system").
			WithDetailf("Required role: system; current role: %s.", a.sess.user.Role)
	}
	if cu.name == "" {
		return nil, pgerror.New(pgcode.InvalidParameterValue, "user name must not be empty")
	}
	return writePlan("CREATE ROLE", func(ec *evalContext) error {
		s := ec.sess
		cat := s.srv.cat
		existing, err := cat.User(s.txn.kv, cu.name)
		if err != nil {
			return err
		}
		if existing != nil && existing.Active() {
			if cu.ifNotExists {
				return ec.notice("42710", "role \""+cu.name+"\" already exists, skipping")
			}
			return pgerror.Newf(pgcode.DuplicateObject, "role %q already exists", cu.name)
		}
		u := &catalog.UserDescriptor{Name: cu.name, Role: cu.role, Email: cu.email, AllowRemote: cu.allowRemote}
		if cu.internal {
			u.AuthType = catalog.AuthInternal
		} else {
			u.AuthType = catalog.AuthPassword
			if err := s.setPassword(u, *cu.password); err != nil {
				return err
			}
		}
		return cat.CreateUser(s.txn.kv, u)
	}), nil
}

// setPassword stores the password forms of pw on u. A SCRAM verifier, as
// psql's \password sends, is stored as given.
func (s *Session) setPassword(u *catalog.UserDescriptor, pw string) error {
	if s.srv.cfg.IsSCRAMVerifier != nil && s.srv.cfg.IsSCRAMVerifier(pw) {
		u.BcryptHash, u.SCRAMVerifier = "", pw
		return nil
	}
	if pw == "" {
		return pgerror.New(pgcode.InvalidParameterValue, "password must not be empty")
	}
	if s.srv.cfg.HashPassword == nil {
		return pgerror.Internal("no password hasher configured")
	}
	bh, verifier, err := s.srv.cfg.HashPassword(pw)
	if err != nil {
		return err
	}
	u.BcryptHash, u.SCRAMVerifier = bh, verifier
	return nil
}

func (a *analyser) planAlterRole(ar *pg_query.AlterRoleStmt) (*plan, error) {
	name := ar.Role.GetRolename()
	if ar.Role.Roletype == pg_query.RoleSpecType_ROLESPEC_CURRENT_USER || ar.Role.Roletype == pg_query.RoleSpecType_ROLESPEC_SESSION_USER {
		name = a.sess.user.Name
	}
	var password *string
	for _, o := range ar.Options {
		de := o.GetDefElem()
		switch de.Defname {
		case "password":
			if de.Arg == nil {
				return nil, pgerror.NotSupported("PASSWORD NULL")
			}
			pw := de.Arg.GetString_().GetSval()
			password = &pw
		case "canlogin", "inherit":
		default:
			return nil, pgerror.NotSupported("role option " + strings.ToUpper(de.Defname))
		}
	}
	if password == nil {
		return tagPlan("ALTER ROLE", func(*evalContext) error { return nil }), nil
	}
	self := name == a.sess.user.Name
	if !self {
		if err := a.requireRole("alter other users", catalog.RoleDBA, catalog.RoleSystem); err != nil {
			return nil, err
		}
	}
	return writePlan("ALTER ROLE", func(ec *evalContext) error {
		s := ec.sess
		cat := s.srv.cat
		u, err := cat.User(s.txn.kv, name)
		if err != nil {
			return err
		}
		if u == nil || !u.Active() {
			return pgerror.Newf(pgcode.UndefinedObject, "role %q does not exist", name)
		}
		if !self && u.Role == catalog.RoleSystem && s.user.Role != catalog.RoleSystem {
			return pgerror.New(pgcode.InsufficientPrivilege, "permission denied to alter a system user").
				WithDetailf("Required role: system; current role: %s.", s.user.Role)
		}
		if u.AuthType == catalog.AuthOAuth {
			return pgerror.Newf(pgcode.InvalidParameterValue, "user %q signs in with OAuth and cannot have a password", name)
		}
		if err := s.setPassword(u, *password); err != nil {
			return err
		}
		return cat.PutUser(s.txn.kv, u)
	}), nil
}

func (a *analyser) planDropRole(dr *pg_query.DropRoleStmt) (*plan, error) {
	if err := a.requireRole("drop users", catalog.RoleDBA, catalog.RoleSystem); err != nil {
		return nil, err
	}
	var names []string
	for _, r := range dr.Roles {
		names = append(names, r.GetRoleSpec().GetRolename())
	}
	return writePlan("DROP ROLE", func(ec *evalContext) error {
		s := ec.sess
		cat := s.srv.cat
		for _, name := range names {
			u, err := cat.User(s.txn.kv, name)
			if err != nil {
				return err
			}
			if u == nil || !u.Active() {
				if dr.MissingOk {
					if err := ec.notice("00000", "role \""+name+"\" does not exist, skipping"); err != nil {
						return err
					}
					continue
				}
				return pgerror.Newf(pgcode.UndefinedObject, "role %q does not exist", name)
			}
			if u.ID == s.user.ID {
				return pgerror.New(pgcode.ObjectInUse, "current user cannot be dropped")
			}
			if u.Role == catalog.RoleSystem && s.user.Role != catalog.RoleSystem {
				return pgerror.New(pgcode.InsufficientPrivilege, "permission denied to drop a system user").
					WithDetailf("Required role: system; current role: %s.", s.user.Role)
			}
			now := time.Now().UTC()
			u.DeletedAt = &now
			if err := cat.PutUser(s.txn.kv, u); err != nil {
				return err
			}
		}
		return nil
	}), nil
}

// errNamespaceSynonym marks a CREATE NAMESPACE text, which parseQuery
// parses as CREATE SCHEMA.
var errNamespaceSynonym = errors.New("CREATE NAMESPACE")

// replaceNamespaceKeyword turns "CREATE NAMESPACE ..." into
// "CREATE SCHEMA ..." by replacing the second token in place, so error
// positions still point into the original text as closely as possible.
func replaceNamespaceKeyword(query string) string {
	scan, err := pg_query.Scan(query)
	if err != nil {
		return query
	}
	words := 0
	for _, t := range scan.Tokens {
		if t.Token == pg_query.Token_SQL_COMMENT || t.Token == pg_query.Token_C_COMMENT {
			continue
		}
		words++
		if words == 2 {
			return query[:t.Start] + "SCHEMA" + query[t.End:]
		}
	}
	return query
}
