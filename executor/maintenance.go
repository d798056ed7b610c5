package executor

import (
	"bytes"
	"time"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
)

// PurgedUser reports one user removed by PurgeDeletedUsers.
type PurgedUser struct {
	ID          uint32
	Name        string
	DeletedAt   time.Time
	RowsRemoved int
}

// maxDeletesPerTxn bounds the writes of one maintenance transaction, so a
// large purge or sweep commits in pieces instead of one huge batch.
const maxDeletesPerTxn = 10000

// PurgeDeletedUsers removes the users dropped before now minus grace,
// together with their rows in every USER and STREAM table.
func (s *Server) PurgeDeletedUsers(now time.Time, grace time.Duration) ([]PurgedUser, error) {
	cutoff := now.Add(-grace)
	txn, err := s.cat.Engine().Begin()
	if err != nil {
		return nil, err
	}
	users, err := s.cat.Users(txn)
	txn.Rollback()
	if err != nil {
		return nil, err
	}
	var purged []PurgedUser
	for _, u := range users {
		if u.Active() || u.DeletedAt.After(cutoff) {
			continue
		}
		n, err := s.purgeUser(u)
		if err != nil {
			return purged, err
		}
		purged = append(purged, PurgedUser{ID: u.ID, Name: u.Name, DeletedAt: *u.DeletedAt, RowsRemoved: n})
	}
	return purged, nil
}

// purgeUser deletes a dropped user's rows, then the user.
func (s *Server) purgeUser(u *catalog.UserDescriptor) (int, error) {
	tables, err := s.perUserTables()
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, t := range tables {
		prefix := catalog.UserPrefix(t.ID, catalog.PrimaryIndexID, u.ID)
		n, err := s.deleteMatching(prefix, func(key, value []byte) (bool, error) { return true, nil })
		removed += n
		if err != nil {
			return removed, err
		}
		for _, ix := range t.Indexes {
			if _, err := s.deleteMatching(catalog.UserPrefix(t.ID, ix.ID, u.ID), func(key, value []byte) (bool, error) { return true, nil }); err != nil {
				return removed, err
			}
		}
	}
	return removed, s.withWriteTxn(func(txn kv.Txn) error {
		current, err := s.cat.UserByID(txn, u.ID)
		if err != nil {
			return err
		}
		// Leave a user that was restored meanwhile.
		if current == nil || current.Active() {
			return nil
		}
		return s.cat.DeleteUser(txn, current)
	})
}

// SweepExpiredStreamRows deletes the rows of STREAM tables that are older
// than their table's TTL at now, and returns how many it deleted.
func (s *Server) SweepExpiredStreamRows(now time.Time) (int, error) {
	tables, err := s.perUserTables()
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, t := range tables {
		if t.Kind != catalog.TableKindStream || t.TTLSeconds <= 0 {
			continue
		}
		codec := newRowCodec(t)
		cutoff := now.Add(-time.Duration(t.TTLSeconds) * time.Second).UnixMicro()
		row := make([]any, codec.width())
		var indexKeys [][]byte
		n, err := s.deleteMatching(codec.prefix, func(key, value []byte) (bool, error) {
			created, err := codec.decodeValue(value, row)
			if err != nil || created >= cutoff {
				return false, err
			}
			// The row's index entries go with it.
			keys, err := codec.indexEntryKeys(row, codec.ownerOf(key))
			indexKeys = append(indexKeys, keys...)
			return true, err
		})
		if err == nil && len(indexKeys) > 0 {
			err = s.withWriteTxn(func(txn kv.Txn) error {
				for _, k := range indexKeys {
					if err := txn.Delete(k); err != nil {
						return err
					}
				}
				return nil
			})
		}
		removed += n
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// perUserTables returns every USER and STREAM table.
func (s *Server) perUserTables() ([]*catalog.TableDescriptor, error) {
	txn, err := s.cat.Engine().Begin()
	if err != nil {
		return nil, err
	}
	defer txn.Rollback()
	schemas, err := s.cat.Schemas(txn)
	if err != nil {
		return nil, err
	}
	var out []*catalog.TableDescriptor
	for _, sc := range schemas {
		if sc.Virtual {
			continue
		}
		tables, err := s.cat.Tables(txn, sc.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range tables {
			if t.PerUser() {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// deleteMatching deletes the keys under prefix for which match returns
// true, in transactions of at most maxDeletesPerTxn deletes.
func (s *Server) deleteMatching(prefix []byte, match func(key, value []byte) (bool, error)) (int, error) {
	removed := 0
	start := prefix
	end := kv.PrefixEnd(prefix)
	for {
		var next []byte
		var count int
		err := s.withWriteTxn(func(txn kv.Txn) error {
			it, err := txn.NewIterator(start, end)
			if err != nil {
				return err
			}
			var keys [][]byte
			for ok := it.First(); ok; ok = it.Next() {
				if len(keys) == maxDeletesPerTxn {
					next = append([]byte(nil), it.Key()...)
					break
				}
				hit, err := match(it.Key(), it.Value())
				if err != nil {
					_ = it.Close()
					return err
				}
				if hit {
					keys = append(keys, bytes.Clone(it.Key()))
				}
			}
			if err := it.Close(); err != nil {
				return err
			}
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			count = len(keys)
			return nil
		})
		if err != nil {
			return removed, err
		}
		removed += count
		if next == nil {
			return removed, nil
		}
		start = next
	}
}

// withWriteTxn runs f in a transaction and commits it.
func (s *Server) withWriteTxn(f func(kv.Txn) error) error {
	txn, err := s.cat.Engine().Begin()
	if err != nil {
		return err
	}
	if err := f(txn); err != nil {
		txn.Rollback()
		return err
	}
	return txn.Commit()
}

// RecordLogin sets a user's last_seen to now, at most once a day.
func (s *Server) RecordLogin(name string, now time.Time) error {
	return s.withWriteTxn(func(txn kv.Txn) error {
		u, err := s.cat.User(txn, name)
		if err != nil || u == nil || !u.Active() {
			return err
		}
		last, err := s.cat.LastSeen(txn, u.ID)
		if err != nil {
			return err
		}
		if last != nil && now.Sub(*last) < 24*time.Hour {
			return nil
		}
		return s.cat.SetLastSeen(txn, u.ID, now)
	})
}

// RecordAudit stores an audit log entry of an event outside a statement,
// such as a login, in a transaction of its own.
func (s *Server) RecordAudit(e *catalog.AuditEntry) error {
	return s.withWriteTxn(func(txn kv.Txn) error {
		return s.cat.AppendAudit(txn, e)
	})
}

// PruneAuditLog deletes audit log entries older than now minus retention.
func (s *Server) PruneAuditLog(now time.Time, retention time.Duration) (int, error) {
	n := 0
	err := s.withWriteTxn(func(txn kv.Txn) error {
		var err error
		n, err = s.cat.PruneAudit(txn, now.Add(-retention))
		return err
	})
	return n, err
}
