package executor

import (
	"time"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/security"
)

// This file connects the executor to the access rules of package security.
// It describes sessions and tables in security's terms, and every access
// decision is a call into that package.

// subjectOf describes a user for the access rules.
func subjectOf(u *catalog.UserDescriptor) security.Subject {
	role, err := security.ParseRole(u.Role)
	if err != nil {
		// A stored role is always valid; fall back to the least privileged.
		role = security.RoleUser
	}
	return security.Subject{Role: role, UserID: u.ID, Name: u.Name}
}

// securityTable describes a stored table for the access rules.
func securityTable(t *catalog.TableDescriptor) security.Table {
	if t.Kind == catalog.TableKindSequence {
		// Every role may read and advance sequences; DML on them fails
		// before access is checked.
		return security.Table{Name: t.Name, Kind: security.KindShared, Level: security.AccessPublic, OwnerID: t.Owner}
	}
	kind := security.KindSystem
	if t.Kind != catalog.TableKindSystem {
		k, err := security.ParseTableKind(t.Kind)
		if err != nil {
			// A stored kind is always valid; treat anything else as the
			// most protected shared table.
			return security.Table{Name: t.Name, Kind: security.KindShared, Level: security.AccessRestricted, OwnerID: t.Owner}
		}
		kind = k
	}
	level := security.AccessPrivate
	if t.Kind == catalog.TableKindShared {
		if l, err := security.ParseAccessLevel(t.AccessLevel); err == nil {
			level = l
		}
	}
	return security.Table{Name: t.Name, Kind: kind, Level: level, OwnerID: t.Owner}
}

// actor returns the user a statement acts as: the session's user, or the
// target of EXECUTE AS USER.
func (ec *evalContext) actor() *catalog.UserDescriptor {
	if ec.asUser != nil {
		return ec.asUser
	}
	return ec.sess.user
}

// readsAllUsersRows reports whether the acting user reads every owner's
// rows of USER and STREAM tables.
func (ec *evalContext) readsAllUsersRows() bool {
	return security.ReadsAllUsersRows(subjectOf(ec.actor()))
}

// now returns the current time of the server's clock, which tests replace.
func (ec *evalContext) now() time.Time {
	return ec.sess.srv.now()
}

// checkTable applies the table rules for an operation of the acting user.
// Temporary tables pass: only their own session can name them, and every
// role may create them.
func (a *analyser) checkTable(t *catalog.TableDescriptor, op security.Operation) error {
	if t.Temporary {
		return nil
	}
	return security.CheckTable(subjectOf(a.subject()), securityTable(t), op)
}

// subject returns the user the statement is analysed for.
func (a *analyser) subject() *catalog.UserDescriptor {
	if a.asUser != nil {
		return a.asUser
	}
	return a.sess.user
}

// audit appends an audit log entry in the statement's transaction, so it
// commits or rolls back with the change it records.
func (ec *evalContext) audit(action, target, detail string) error {
	s := ec.sess
	actor := s.user.Name
	if ec.asUser != nil {
		actor = s.user.Name + " as " + ec.asUser.Name
	}
	return s.srv.cat.AppendAudit(s.txn.kv, &catalog.AuditEntry{
		Time: ec.now().UTC(), Actor: actor, Action: action, Target: target,
		Source: s.source, Success: true, Detail: detail,
	})
}
