// Package catalog stores pgkeep's descriptors in kv: the database, schemas,
// tables with their columns and primary keys, users, sequences and the
// server secret.
//
// Every read and write goes through a kv transaction that the caller owns,
// so DDL commits or rolls back together with the statement's transaction.
// Descriptors are JSON values under "/meta/" keys; table rows live under
// "/t/<table id>/<index id>/", which TablePrefix and IndexPrefix build.
//
// Bootstrap creates the catalog on first start: the database, the public,
// system, pg_catalog and information_schema schemas, a random server secret
// and the root user. The secret keys the mock SCRAM salts of unknown users.
// Root is a system user of auth type internal; its generated password is
// handed to the caller once and stored only as hashes.
//
// Version counts schema changes in this process. Cached plans compare it to
// decide whether they are still valid.
// NOTE: the version lives in memory only, which is correct while one
// process owns the store.
//
// Sequences reserve values ahead in blocks of 32 with one kv write each.
// Like PostgreSQL's nextval they are not transactional, and a crash skips
// the unused rest of a block. Named sequences (CREATE SEQUENCE) are
// descriptors of kind "sequence". The implicit sequence of a serial or
// identity column has no descriptor of its own, so ColumnSequence builds
// one when it is used. Both keep their state the same way (sequence.go).
//
// Temporary schemas, tables and sequences take IDs from a range counted
// in memory and leave Version alone, because only their session can name
// them (temporary.go). RemoveTemporaryObjects deletes them at start-up.
package catalog
