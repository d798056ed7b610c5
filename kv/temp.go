package kv

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// tempCacheSize is the block cache size of the temporary store.
const tempCacheSize = 8 << 20

// tempStore keeps the writes that large transactions moved out of memory.
// It is a pebble store of its own, without a WAL, in the directory "temp"
// inside the engine's directory, next to the sstables that commits build
// for ingestion. Nothing in it outlives the process: openPebble deletes the
// directory, and the store opens on the first spill.
//
// Each spilled transaction gets an 8-byte key prefix, so transactions share
// the store without seeing each other's keys.
type tempStore struct {
	fs     vfs.FS
	dir    string
	logger pebbleLogger

	mu struct {
		sync.Mutex
		db   *pebble.DB
		opts *pebble.Options
		// closed is set by close. The store does not open again after it.
		closed bool
	}
	// lastPrefix and lastFile number the spill prefixes and sstable files.
	lastPrefix atomic.Uint64
	lastFile   atomic.Uint64
}

// newTempStore removes what a previous process left in dir and returns a
// store that creates dir on first use.
func newTempStore(fs vfs.FS, dir string, logger pebbleLogger) (*tempStore, error) {
	if err := fs.RemoveAll(dir); err != nil {
		return nil, pgerror.Wrapf(err, pgcode.IoError, "kv: remove temporary directory %q", dir)
	}
	return &tempStore{fs: fs, dir: dir, logger: logger}, nil
}

// db returns the pebble store, opening it on the first call. It returns
// ErrClosed after close.
func (s *tempStore) db() (*pebble.DB, *pebble.Options, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dbLocked()
}

// dbLocked is db with s.mu held.
func (s *tempStore) dbLocked() (*pebble.DB, *pebble.Options, error) {
	if s.mu.closed {
		return nil, nil, ErrClosed
	}
	if s.mu.db != nil {
		return s.mu.db, s.mu.opts, nil
	}

	if err := s.fs.MkdirAll(s.dir, 0o755); err != nil {
		return nil, nil, pgerror.Wrapf(err, pgcode.IoError, "kv: create temporary directory %q", s.dir)
	}
	cache := pebble.NewCache(tempCacheSize)
	defer cache.Unref()
	opts := &pebble.Options{
		Cache:              cache,
		DisableWAL:         true,
		FS:                 s.fs,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             s.logger,
		// NB: every spill ingests an sstable, and those of a transaction
		// with scattered keys overlap, so L0 grows faster than compactions
		// shrink it. Pebble (v2.1.7) does not stall ingestions, but it
		// stalls the flush that drop starts while L0 has this many
		// sublevels. drop runs under the oracle's lock, so every commit
		// would wait for those compactions.
		L0StopWritesThreshold: math.MaxInt32,
		EventListener: &pebble.EventListener{
			WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
				s.logger.logger.Warn("kv: temporary store stalled writes", "reason", info.Reason)
			},
		},
	}
	opts.Levels[0].FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
	opts.EnsureDefaults()

	db, err := pebble.Open(s.fs.PathJoin(s.dir, "store"), opts)
	if err != nil {
		return nil, nil, pgerror.Wrapf(err, pgcode.IoError, "kv: open temporary store in %q", s.dir)
	}
	s.mu.db, s.mu.opts = db, opts
	return db, opts, nil
}

// newPrefix returns a key prefix no other spill uses.
func (s *tempStore) newPrefix() []byte {
	return binary.BigEndian.AppendUint64(nil, s.lastPrefix.Add(1))
}

// newFilePath returns the path of a new sstable file in the temporary
// directory.
func (s *tempStore) newFilePath() string {
	return s.fs.PathJoin(s.dir, fmt.Sprintf("ingest-%d.sst", s.lastFile.Add(1)))
}

// drop deletes the keys under prefix. The flush that follows lets pebble
// delete the files the range covers. After close it does nothing, because
// close deleted every key: the oracle may drop a commit's spill after the
// last transaction unregistered, when Engine.Close can already have run.
func (s *tempStore) drop(prefix []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return
	}
	db, _, err := s.dbLocked()
	if err == nil {
		err = db.DeleteRange(prefix, PrefixEnd(prefix), pebble.NoSync)
	}
	if err == nil {
		_, err = db.AsyncFlush()
	}
	if err != nil {
		// The space comes back when the process restarts.
		s.logger.logger.Error("kv: drop temporary keys failed", "err", err)
	}
}

// close closes the store and deletes its directory.
func (s *tempStore) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.closed = true
	if s.mu.db != nil {
		if err := s.mu.db.Close(); err != nil {
			return pgerror.Wrapf(err, pgcode.IoError, "kv: close temporary store")
		}
		s.mu.db = nil
	}
	if err := s.fs.RemoveAll(s.dir); err != nil {
		return pgerror.Wrapf(err, pgcode.IoError, "kv: remove temporary directory %q", s.dir)
	}
	return nil
}

// sstFiles writes sorted keys into sstable files of about maxBytes each,
// synced so that pebble may ingest them.
type sstFiles struct {
	fs       vfs.FS
	newPath  func() string
	opts     sstable.WriterOptions
	maxBytes int

	paths  []string
	w      *sstable.Writer
	nbytes int
	// count is the number of keys written.
	count int
}

// add writes key: a set of value, or a point deletion when del is true.
// Keys must arrive in ascending order.
func (f *sstFiles) add(key, value []byte, del bool) error {
	if f.w == nil {
		path := f.newPath()
		file, err := f.fs.Create(path, vfs.WriteCategoryUnspecified)
		if err != nil {
			return pgerror.Wrapf(err, pgcode.IoError, "kv: create sstable %q", path)
		}
		f.paths = append(f.paths, path)
		f.w = sstable.NewWriter(objstorageprovider.NewFileWritable(file), f.opts)
		f.nbytes = 0
	}
	var err error
	if del {
		err = f.w.Delete(key)
	} else {
		err = f.w.Set(key, value)
	}
	if err != nil {
		return pgerror.Wrapf(err, pgcode.IoError, "kv: write sstable")
	}
	f.count++
	f.nbytes += len(key) + len(value)
	if f.nbytes >= f.maxBytes {
		return f.closeFile()
	}
	return nil
}

// closeFile finishes the file being written, if any.
func (f *sstFiles) closeFile() error {
	if f.w == nil {
		return nil
	}
	err := f.w.Close()
	f.w = nil
	if err != nil {
		return pgerror.Wrapf(err, pgcode.IoError, "kv: finish sstable")
	}
	return nil
}

// finish closes the last file and returns the paths written.
func (f *sstFiles) finish() ([]string, error) {
	if err := f.closeFile(); err != nil {
		return nil, err
	}
	return f.paths, nil
}

// remove deletes the files, for a failed build or an ingestion that did
// not happen. Pebble removes the files it ingests itself.
func (f *sstFiles) remove() {
	if f.w != nil {
		_ = f.w.Close()
		f.w = nil
	}
	for _, path := range f.paths {
		_ = f.fs.Remove(path)
	}
	f.paths = nil
}

// ingest moves the files into db in one atomic step.
func ingest(db *pebble.DB, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	return db.Ingest(context.Background(), paths)
}
