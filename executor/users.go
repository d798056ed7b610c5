package executor

import (
	"encoding/json"
	"net/mail"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/security"
)

// createUserStmt is CREATE USER in pgkeep's form or PostgreSQL's.
type createUserStmt struct {
	name        string
	ifNotExists bool
	password    *string
	internal    bool
	// oauth is the JSON text of OAUTH '{"provider": ..., "subject": ...}'.
	oauth       *string
	role        string
	email       string
	allowRemote bool
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
		case p.accept("oauth"):
			o, err := p.str()
			if err != nil {
				return nil, err
			}
			cu.oauth = &o
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
			b, err := p.boolValue("allow_remote")
			if err != nil {
				return nil, err
			}
			cu.allowRemote = b
		default:
			return nil, p.syntaxError()
		}
	}
	methods := 0
	for _, set := range []bool{cu.password != nil, cu.internal, cu.oauth != nil} {
		if set {
			methods++
		}
	}
	if methods == 0 {
		return nil, pgerror.New(pgcode.InvalidParameterValue, "CREATE USER needs PASSWORD, OAUTH or INTERNAL")
	}
	if methods > 1 {
		return nil, pgerror.New(pgcode.SyntaxError, "conflicting options: use only one of PASSWORD, OAUTH and INTERNAL")
	}
	return cu, nil
}

func (a *analyser) planExtension(ext *extStmt) (*plan, error) {
	switch {
	case ext.createUser != nil:
		return a.planCreateUser(ext.createUser)
	case ext.alterUser != nil:
		return a.planAlterUser(ext.alterUser)
	case ext.alterAccessLevel != nil:
		return a.planAlterAccessLevel(ext.alterAccessLevel)
	case ext.executeAs != nil:
		return a.planExecuteAs(ext.executeAs)
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

// oauthIdentity is the JSON of OAUTH '{...}'.
type oauthIdentity struct {
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
}

func parseOAuth(text string) (oauthIdentity, error) {
	var id oauthIdentity
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&id); err != nil {
		return id, pgerror.New(pgcode.InvalidParameterValue, "invalid value for oauth: expected a JSON object with \"provider\" and \"subject\"")
	}
	if strings.TrimSpace(id.Provider) == "" || strings.TrimSpace(id.Subject) == "" {
		return id, pgerror.New(pgcode.InvalidParameterValue, "invalid value for oauth: \"provider\" and \"subject\" must not be empty")
	}
	return id, nil
}

func validateEmail(email string) error {
	if email == "" {
		return nil
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for email: %q", email)
	}
	return nil
}

func parseRole(r string) (security.Role, error) {
	role, err := security.ParseRole(r)
	if err != nil {
		return 0, err
	}
	return role, nil
}

func (a *analyser) planCreateUser(cu *createUserStmt) (*plan, error) {
	role, err := parseRole(cu.role)
	if err != nil {
		return nil, err
	}
	if err := validateEmail(cu.email); err != nil {
		return nil, err
	}
	var oauth oauthIdentity
	if cu.oauth != nil {
		if oauth, err = parseOAuth(*cu.oauth); err != nil {
			return nil, err
		}
	}
	if cu.name == "" {
		return nil, pgerror.New(pgcode.InvalidParameterValue, "user name must not be empty")
	}
	target := security.Subject{Role: role, Name: cu.name}
	if err := security.CheckUserChange(subjectOf(a.subject()), target, security.UserChange{Create: true}, 0); err != nil {
		return nil, err
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
		u := &catalog.UserDescriptor{Name: cu.name, Role: role.String(), Email: cu.email, AllowRemote: cu.allowRemote}
		switch {
		case cu.internal:
			u.AuthType = catalog.AuthInternal
		case cu.oauth != nil:
			u.AuthType = catalog.AuthOAuth
			u.OAuthProvider, u.OAuthSubject = oauth.Provider, oauth.Subject
		default:
			u.AuthType = catalog.AuthPassword
			if err := s.setPassword(u, *cu.password); err != nil {
				return err
			}
		}
		if err := cat.CreateUser(s.txn.kv, u); err != nil {
			return err
		}
		detail := "role=" + u.Role + " auth_type=" + u.AuthType
		if cu.password != nil {
			detail += " password=[REDACTED]"
		}
		return ec.audit("create user", u.Name, detail)
	}), nil
}

// setPassword checks the password policy and stores the password forms of
// pw on u. A SCRAM verifier, as psql's \password sends, is stored as given
// and skips the policy, because the server cannot see the password.
func (s *Session) setPassword(u *catalog.UserDescriptor, pw string) error {
	if u.AuthType == catalog.AuthOAuth {
		return pgerror.Newf(pgcode.InvalidParameterValue, "user %q signs in with OAuth and cannot have a password", u.Name)
	}
	if s.srv.cfg.IsSCRAMVerifier != nil && s.srv.cfg.IsSCRAMVerifier(pw) {
		v, err := security.ParseSCRAMVerifier(pw)
		if err != nil {
			return pgerror.New(pgcode.InvalidParameterValue, "invalid value for password: malformed SCRAM-SHA-256 verifier")
		}
		if v.Iterations < security.DefaultSCRAMIterations {
			return pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for password: a SCRAM-SHA-256 verifier needs at least %d iterations", security.DefaultSCRAMIterations)
		}
		u.BcryptHash, u.SCRAMVerifier = "", pw
		return nil
	}
	if s.srv.cfg.PasswordPolicy != nil {
		if err := s.srv.cfg.PasswordPolicy(pw); err != nil {
			return err
		}
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

// planAlterRole handles PostgreSQL's ALTER ROLE/USER name [WITH] PASSWORD.
func (a *analyser) planAlterRole(ar *pg_query.AlterRoleStmt) (*plan, error) {
	name := ar.Role.GetRolename()
	if ar.Role.Roletype == pg_query.RoleSpecType_ROLESPEC_CURRENT_USER || ar.Role.Roletype == pg_query.RoleSpecType_ROLESPEC_SESSION_USER {
		name = a.sess.user.Name
	}
	au := &alterUserStmt{name: name}
	for _, o := range ar.Options {
		de := o.GetDefElem()
		switch de.Defname {
		case "password":
			if de.Arg == nil {
				return nil, pgerror.NotSupported("PASSWORD NULL")
			}
			pw := de.Arg.GetString_().GetSval()
			au.password = &pw
		case "canlogin", "inherit":
		default:
			return nil, pgerror.NotSupported("role option " + strings.ToUpper(de.Defname))
		}
	}
	return a.planAlterUser(au)
}

// planAlterUser changes a user's password, role, email or remote access.
func (a *analyser) planAlterUser(au *alterUserStmt) (*plan, error) {
	change := security.UserChange{Password: au.password != nil, Email: au.email != nil, AllowRemote: au.allowRemote != nil}
	if au.role != nil {
		role, err := parseRole(*au.role)
		if err != nil {
			return nil, err
		}
		change.NewRole = &role
	}
	if au.email != nil {
		if err := validateEmail(*au.email); err != nil {
			return nil, err
		}
	}
	return writePlan("ALTER ROLE", func(ec *evalContext) error {
		s := ec.sess
		cat := s.srv.cat
		txn := s.txn.kv
		if err := denyOtherUsers(ec.actor(), au.name, "alter"); err != nil {
			return err
		}
		// The last-system-user rule counts users: reading them with
		// TrackReads makes two concurrent demotions conflict at commit.
		txn.TrackReads()
		u, err := cat.User(txn, au.name)
		if err != nil {
			return err
		}
		if u == nil || !u.Active() {
			return pgerror.Newf(pgcode.UndefinedObject, "role %q does not exist", au.name)
		}
		systemUsers, err := activeSystemUsers(cat, txn)
		if err != nil {
			return err
		}
		if err := security.CheckUserChange(subjectOf(ec.actor()), subjectOf(u), change, systemUsers); err != nil {
			return err
		}
		var changes []string
		if au.password != nil {
			if err := s.setPassword(u, *au.password); err != nil {
				return err
			}
			changes = append(changes, "password=[REDACTED]")
		}
		if change.NewRole != nil {
			newRole := change.NewRole.String()
			if err := ec.audit("change role", u.Name, u.Role+" -> "+newRole); err != nil {
				return err
			}
			u.Role = newRole
		}
		if au.email != nil {
			u.Email = *au.email
			changes = append(changes, "email="+u.Email)
		}
		if au.allowRemote != nil {
			u.AllowRemote = *au.allowRemote
			changes = append(changes, "allow_remote="+boolSetting(u.AllowRemote))
		}
		if len(changes) > 0 {
			if err := ec.audit("alter user", u.Name, strings.Join(changes, " ")); err != nil {
				return err
			}
		}
		return cat.PutUser(txn, u)
	}), nil
}

// activeSystemUsers counts the users of role system that are not dropped.
func activeSystemUsers(cat *catalog.Catalog, txn kv.Txn) (int, error) {
	users, err := cat.Users(txn)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range users {
		if u.Active() && u.Role == catalog.RoleSystem {
			n++
		}
	}
	return n, nil
}

func (a *analyser) planDropRole(dr *pg_query.DropRoleStmt) (*plan, error) {
	var names []string
	for _, r := range dr.Roles {
		names = append(names, r.GetRoleSpec().GetRolename())
	}
	return writePlan("DROP ROLE", func(ec *evalContext) error {
		s := ec.sess
		cat := s.srv.cat
		txn := s.txn.kv
		txn.TrackReads()
		for _, name := range names {
			if err := denyOtherUsers(ec.actor(), name, "drop"); err != nil {
				return err
			}
			u, err := cat.User(txn, name)
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
			systemUsers, err := activeSystemUsers(cat, txn)
			if err != nil {
				return err
			}
			if err := security.CheckUserChange(subjectOf(ec.actor()), subjectOf(u), security.UserChange{Drop: true}, systemUsers); err != nil {
				return err
			}
			// The server clock, so that tests of the purge can move it.
			now := ec.now().UTC()
			u.DeletedAt = &now
			if err := cat.PutUser(txn, u); err != nil {
				return err
			}
			if err := ec.audit("drop user", u.Name, ""); err != nil {
				return err
			}
		}
		return nil
	}), nil
}

// denyOtherUsers rejects a user or service managing another user before
// the target is looked up, so the answer reveals neither whether the user
// exists nor its role.
func denyOtherUsers(actor *catalog.UserDescriptor, target, verb string) error {
	if actor.Role == catalog.RoleDBA || actor.Role == catalog.RoleSystem {
		return nil
	}
	if verb == "alter" && target == actor.Name {
		return nil
	}
	return pgerror.Newf(pgcode.InsufficientPrivilege, "permission denied to %s user %q", verb, target).
		WithDetailf("Required role: dba or system; current role: %s.", actor.Role)
}
