// Package kv is pgkeep's storage layer: an ordered, transactional key-value
// store (Engine, Txn, Iterator), its implementation over an embedded pebble
// store, and the order-preserving encoding of SQL values into keys. Table
// semantics belong to the packages above it. No pebble type appears in its
// exported API, so a distributed store with snapshot isolation can replace
// pebble behind the same interface.
//
// # Transactions
//
// Engine.Begin takes a pebble snapshot. Get and iterators read that
// snapshot plus the transaction's own writes, so a transaction never sees
// a commit that finished after it began. An iterator sees the writes made
// before it was created, not later ones, which keeps a statement that scans
// and writes the same range from reading its own output.
//
// An iterator moves forward from First or SeekGE with Next, or backward
// from Last with Prev. It does not change direction.
//
// Writes go into a write index, an indexed pebble batch in which a delete
// is stored as a tombstone value. Iterators merge the snapshot with the
// write index: a put shadows the snapshot's value and a tombstone hides the
// snapshot's key.
//
// Commit gives snapshot isolation with write-write conflict detection,
// first committer wins. A short critical section checks, for every written
// key, whether a transaction that committed after this one's snapshot
// wrote it too. If so, Commit fails with SQLSTATE 40001 ("could not
// serialize access due to concurrent update") and discards the writes, and
// the caller may retry the whole transaction. Otherwise the commit gets a
// sequence number and leaves the critical section before pebble applies
// and fsyncs the batch (pebble.Sync), so concurrent commits share fsyncs in
// pebble's commit pipeline. Commit returns after the fsync. A transaction
// without writes commits without the check. A key first written after a
// Refresh carries in its tag the snapshot it was written on, and its check
// starts there.
//
// Each transaction starts at the visible watermark, the highest commit
// sequence number at or below which every commit has finished applying,
// and takes its snapshot after reading it. Keys written by commits that no
// open transaction can conflict with any more are pruned from the conflict
// map.
//
// # Large transactions
//
// A transaction's memory stays bounded however much it writes. When the
// indexed batch passes the write buffer size (PebbleOptions.WriteBufferSize,
// 8 MiB by default), its entries move to the temporary store and the batch
// starts empty. The temporary store is a second pebble store without a WAL
// in the directory "temp" inside the store's directory, opened on the first
// move and deleted at every open and close, so a crash leaves nothing
// behind. Each moving transaction writes under its own 8-byte key prefix,
// and each move writes the sorted batch as one sstable and ingests it.
// Reads then merge the batch over the moved entries over the snapshot. A
// batch that an open iterator reads stays in memory until the iterator
// closes, so the iterator still returns the writes made before it.
//
// A transaction thus holds at most about twice the write buffer (the batch
// and the undo entries of savepoints), plus one batch per iterator open
// across a move. The in-memory engine of OpenMemory keeps the temporary
// store in memory too, so there the bound does not hold.
//
// Such a transaction commits by ingestion: it writes its entries, without
// the prefix and without the undone keys, into sstables of at most 128 MiB,
// and pebble ingests them atomically after the conflict check. Ingestion
// is durable when it returns, like a commit with pebble.Sync. Its keys do
// not enter the conflict map. Instead the oracle keeps the moved entries
// as the record of the keys the commit wrote, and a later commit looks its
// own keys up there. The large commit itself looks up, in its entries, the
// keys of the conflict map newer than its snapshot. The temporary store
// drops the entries once no open transaction began before the commit.
//
// The undo entries of savepoints move the same way, and a read set of
// TrackReads that grows past 65,536 keys or 256 ranges becomes the range
// spanning them, which can only add conflicts.
//
// Commit and Rollback release the snapshot and close the transaction's
// iterators that are still open. A closed iterator reports no key and its
// Close returns nil or the error met while iterating. Engine.Close fails
// while a transaction is open.
//
// # Key encoding
//
// The Encode functions append one value to a key and the Decode functions
// read it back together with the rest of the key. Every encoded value
// starts with a type tag and delimits itself, so the concatenation of
// encoded values compares bytewise (bytes.Compare) in the order of the
// tuple of values, column by column. NULL has the smallest tag and sorts
// first. Within a type the order is PostgreSQL's:
//
//   - bool: false before true.
//   - int64 (smallint, integer, bigint): 8 big-endian bytes with the sign
//     bit flipped.
//   - float64: -Inf, negative, zero (-0 equals +0), positive, +Inf, NaN.
//     Every NaN encodes the same.
//   - numeric (*apd.Decimal): -Infinity, negative, zero, positive,
//     Infinity, NaN. Values equal in value encode the same (1.0 and 1.00),
//     so a decoded value has no trailing zeros.
//   - text and bytea: bytewise (the C collation for text). Each 0x00 byte is
//     escaped as 0x00 0xff and the value ends with 0x00 0x01, so a value
//     sorts before the longer values it is a prefix of.
//   - timestamp: microseconds since the Unix epoch as an int64.
//   - date: days since 1970-01-01 as an int32.
//   - uuid: the 16 bytes.
//
// EncodeUint32 writes table and index IDs as 4 big-endian bytes without a
// tag, and PrefixEnd returns the exclusive upper bound of the keys that
// share a prefix. Decoders return errors with SQLSTATE XX001
// (data_corrupted) for malformed input.
package kv
