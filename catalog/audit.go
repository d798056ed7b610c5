package catalog

import (
	"encoding/binary"
	"encoding/json"
	"sync"
	"time"

	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
)

// keyAuditPrefix is the prefix of audit log entries, each under its ID.
const keyAuditPrefix = "/meta/audit/"

// AuditEntry is one row of the audit log. Detail never contains a
// password, hash, verifier or token.
type AuditEntry struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor,omitempty"`
	Action  string    `json:"action"`
	Target  string    `json:"target,omitempty"`
	Source  string    `json:"source,omitempty"`
	Method  string    `json:"method,omitempty"`
	Success bool      `json:"success"`
	Detail  string    `json:"detail,omitempty"`
}

// auditIDs hands out audit entry IDs. It starts after the highest stored ID
// the first time it is used, and stays in memory afterwards, so concurrent
// writers never conflict on a counter key.
type auditIDs struct {
	once sync.Once
	mu   struct {
		sync.Mutex
		next int64
	}
	err error
}

func auditKey(id int64) []byte {
	return binary.BigEndian.AppendUint64([]byte(keyAuditPrefix), uint64(id))
}

func (c *Catalog) nextAuditID() (int64, error) {
	a := &c.audit
	a.once.Do(func() {
		txn, err := c.engine.Begin()
		if err != nil {
			a.err = err
			return
		}
		defer txn.Rollback()
		prefix := []byte(keyAuditPrefix)
		it, err := txn.NewIterator(prefix, kv.PrefixEnd(prefix))
		if err != nil {
			a.err = err
			return
		}
		var last int64
		for ok := it.First(); ok; ok = it.Next() {
			if k := it.Key(); len(k) == len(prefix)+8 {
				last = int64(binary.BigEndian.Uint64(k[len(prefix):]))
			}
		}
		a.err = it.Close()
		a.mu.next = last + 1
	})
	if a.err != nil {
		return 0, a.err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.mu.next
	a.mu.next++
	return id, nil
}

// AppendAudit assigns e an ID and stores it in txn.
func (c *Catalog) AppendAudit(txn kv.Txn, e *AuditEntry) error {
	id, err := c.nextAuditID()
	if err != nil {
		return err
	}
	e.ID = id
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return pgerror.Internal("encoding audit entry: %v", err)
	}
	return txn.Put(auditKey(id), b)
}

// AuditEntries returns the audit log in ID order.
func (c *Catalog) AuditEntries(txn kv.Txn) ([]*AuditEntry, error) {
	prefix := []byte(keyAuditPrefix)
	it, err := txn.NewIterator(prefix, kv.PrefixEnd(prefix))
	if err != nil {
		return nil, err
	}
	var out []*AuditEntry
	for ok := it.First(); ok; ok = it.Next() {
		var e AuditEntry
		if err := json.Unmarshal(it.Value(), &e); err != nil {
			_ = it.Close()
			return nil, pgerror.Internal("decoding audit entry: %v", err)
		}
		out = append(out, &e)
	}
	return out, it.Close()
}

// PruneAudit deletes the entries older than before and returns how many.
func (c *Catalog) PruneAudit(txn kv.Txn, before time.Time) (int, error) {
	entries, err := c.AuditEntries(txn)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !e.Time.Before(before) {
			// IDs grow with time, so the rest is newer.
			break
		}
		if err := txn.Delete(auditKey(e.ID)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
