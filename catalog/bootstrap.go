package catalog

import (
	"crypto/rand"
	"time"

	"github.com/pgkeep/pgkeep/pgerror"
)

// RootUserName is the system user created at bootstrap.
const RootUserName = "root"

// BootstrapOptions configures the first start of a data directory.
type BootstrapOptions struct {
	DatabaseName string
	// NewRootPassword generates root's password and returns it with its
	// stored forms. The password itself is handed to SaveRootPassword and
	// never stored in the catalog.
	NewRootPassword func() (password, bcryptHash, scramVerifier string, err error)
	// SaveRootPassword writes root's password where the operator finds it.
	// It runs before the catalog commits, so a failed write leaves the data
	// directory unbootstrapped.
	SaveRootPassword func(password string) error
}

// Bootstrap creates the database, the built-in schemas, the server secret
// and the root user on first start. On later starts it only checks that the
// stored database name matches. It reports whether it created the catalog.
func (c *Catalog) Bootstrap(opts BootstrapOptions) (created bool, err error) {
	txn, err := c.engine.Begin()
	if err != nil {
		return false, err
	}
	defer txn.Rollback()

	var db DatabaseDescriptor
	found, err := getJSON(txn, keyDatabase, &db)
	if err != nil {
		return false, err
	}
	if found {
		if db.Name != opts.DatabaseName {
			return false, pgerror.Internal("data directory holds database %q, but the configured database is %q", db.Name, opts.DatabaseName)
		}
		return false, nil
	}

	now := time.Now().UTC()
	db = DatabaseDescriptor{ID: DatabaseID, Name: opts.DatabaseName, CreatedAt: now}
	if err := putJSON(txn, keyDatabase, &db); err != nil {
		return false, err
	}
	schemas := []SchemaDescriptor{
		{ID: PublicSchemaID, Name: "public"},
		{ID: SystemSchemaID, Name: "system", Virtual: true},
		{ID: PgCatalogSchemaID, Name: "pg_catalog", Virtual: true},
		{ID: InfoSchemaSchemaID, Name: "information_schema", Virtual: true},
	}
	for i := range schemas {
		if err := putJSON(txn, keySchemaPrefix+schemas[i].Name, &schemas[i]); err != nil {
			return false, err
		}
	}

	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return false, pgerror.Internal("generating server secret: %v", err)
	}
	if err := txn.Put([]byte(keySecret), secret); err != nil {
		return false, err
	}

	password, bcryptHash, verifier, err := opts.NewRootPassword()
	if err != nil {
		return false, err
	}
	root := &UserDescriptor{
		ID:            RootUserID,
		Name:          RootUserName,
		Role:          RoleSystem,
		AuthType:      AuthInternal,
		BcryptHash:    bcryptHash,
		SCRAMVerifier: verifier,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if err := putJSON(txn, keyUserPrefix+root.Name, root); err != nil {
		return false, err
	}
	if err := txn.Put([]byte(idKey(keyUserIDPrefix, root.ID)), []byte(root.Name)); err != nil {
		return false, err
	}
	if err := opts.SaveRootPassword(password); err != nil {
		return false, err
	}
	if err := txn.Commit(); err != nil {
		return false, err
	}
	return true, nil
}
