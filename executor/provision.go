package executor

import (
	"strings"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/security"
)

// ProvisionOAuthUser creates an OAuth user for a login whose token a
// trusted identity provider signed, and records it in the audit log. It is
// the auto-provisioning hook of the JWT verifier.
//
// An active OAuth user with the same name, provider and subject is left as
// it is, so that two first logins racing each other both succeed. Any other
// active user of that name is a 42710 error. role must be user or service:
// a token never creates a dba or system user.
func (s *Server) ProvisionOAuthUser(name, provider, subject, role string) error {
	if name == "" {
		return pgerror.New(pgcode.InvalidParameterValue, "user name must not be empty")
	}
	if strings.TrimSpace(provider) == "" || strings.TrimSpace(subject) == "" {
		return pgerror.Newf(pgcode.InvalidParameterValue, "cannot provision user %q: the OAuth provider and subject must not be empty", name)
	}
	parsed, err := security.ParseRole(role)
	if err != nil {
		return err
	}
	if parsed >= security.RoleDBA {
		return pgerror.Newf(pgcode.InsufficientPrivilege, "cannot provision user %q with role %s: auto-provisioned users get role user or service", name, parsed)
	}

	return s.withWriteTxn(func(txn kv.Txn) error {
		existing, err := s.cat.User(txn, name)
		if err != nil {
			return err
		}
		if existing != nil && existing.Active() {
			if existing.AuthType == catalog.AuthOAuth && existing.OAuthProvider == provider && existing.OAuthSubject == subject {
				return nil
			}
			return pgerror.Newf(pgcode.DuplicateObject, "role %q already exists", name)
		}

		u := &catalog.UserDescriptor{
			Name:          name,
			Role:          parsed.String(),
			AuthType:      catalog.AuthOAuth,
			OAuthProvider: provider,
			OAuthSubject:  subject,
		}
		if err := s.cat.CreateUser(txn, u); err != nil {
			return err
		}
		return s.cat.AppendAudit(txn, &catalog.AuditEntry{
			Time:    s.now().UTC(),
			Actor:   name,
			Action:  "provision user",
			Target:  name,
			Method:  security.MethodJWT,
			Success: true,
			Detail:  "role=" + u.Role + " auth_type=" + u.AuthType + " provider=" + provider,
		})
	})
}
