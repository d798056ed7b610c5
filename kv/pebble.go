package kv

import (
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// DefaultCacheSize is the block cache size used when PebbleOptions.CacheSize
// is zero.
const DefaultCacheSize = 64 << 20

// bloomBitsPerKey sizes the bloom filters of the sstables. Ten bits per key
// gives a false positive rate of about 1%, which spares most point lookups
// of absent keys a data block read.
const bloomBitsPerKey = 10

// PebbleOptions configures OpenPebble.
type PebbleOptions struct {
	// Logger receives the engine's and pebble's log messages. Nil discards
	// them.
	Logger *slog.Logger
	// InMemory keeps every file in memory (pebble's vfs.NewMem), so nothing
	// survives Close. The dir argument of OpenPebble is then only a name
	// inside the in-memory file system.
	InMemory bool
	// CacheSize is the size of the block cache in bytes. Zero means
	// DefaultCacheSize.
	CacheSize int64
	// WriteBufferSize is the size in bytes of a transaction's in-memory
	// write index above which its entries move to the temporary store.
	// Zero means DefaultWriteBufferSize.
	WriteBufferSize int
}

// pebbleEngine is the Engine over one pebble store.
type pebbleEngine struct {
	db *pebble.DB
	// opts are the options db was opened with, defaults filled in.
	opts   *pebble.Options
	temp   *tempStore
	logger *slog.Logger
	oracle *oracle
	knobs  testingKnobs
	// writeBufferSize is PebbleOptions.WriteBufferSize or its default.
	writeBufferSize int
}

// testingKnobs are hooks that only tests of this package set.
type testingKnobs struct {
	// beforeApply runs before a commit batch is applied. A non-nil error
	// takes the place of the apply result, and the batch is not applied.
	beforeApply func() error
}

var _ Engine = (*pebbleEngine)(nil)

// OpenPebble opens, creating it if needed, the pebble store in dir.
func OpenPebble(dir string, opts PebbleOptions) (Engine, error) {
	return openPebble(dir, opts)
}

// OpenMemory opens an empty in-memory pebble engine for tests. It behaves
// like an on-disk engine except that nothing outlives Close.
func OpenMemory() (Engine, error) {
	return openPebble("", PebbleOptions{InMemory: true})
}

func openPebble(dir string, opts PebbleOptions) (*pebbleEngine, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cacheSize, err := sizeOption(opts.CacheSize, DefaultCacheSize, "cache size")
	if err != nil {
		return nil, err
	}
	writeBufferSize, err := sizeOption(opts.WriteBufferSize, DefaultWriteBufferSize, "write buffer size")
	if err != nil {
		return nil, err
	}

	pebbleOpts := &pebble.Options{
		CacheSize:          cacheSize,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{logger: logger},
	}
	// Levels below L0 inherit the filter policy of L0.
	pebbleOpts.Levels[0].FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
	if opts.InMemory {
		pebbleOpts.FS = vfs.NewMem()
	}
	pebbleOpts.EnsureDefaults()

	db, err := pebble.Open(dir, pebbleOpts)
	if err != nil {
		return nil, pgerror.Wrapf(err, pgcode.IoError, "kv: open pebble store in %q", dir)
	}
	// NB: the temporary directory is inside the store's directory, on the
	// same file system, so ingesting a commit's sstables links them instead
	// of copying them. Pebble ignores the names it does not know.
	temp, err := newTempStore(pebbleOpts.FS, pebbleOpts.FS.PathJoin(dir, "temp"), pebbleLogger{logger: logger})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	logger.Info("kv: opened pebble store", "dir", dir, "in_memory", opts.InMemory, "cache_bytes", cacheSize)
	return &pebbleEngine{
		db:              db,
		opts:            pebbleOpts,
		temp:            temp,
		logger:          logger,
		oracle:          newOracle(),
		writeBufferSize: writeBufferSize,
	}, nil
}

// sizeOption returns the size option value, or def when value is zero. A
// negative value is invalid.
func sizeOption[T int | int64](value, def T, name string) (T, error) {
	if value < 0 {
		return 0, pgerror.Newf(pgcode.InvalidParameterValue,
			"kv: invalid %s %d: must be zero (the default) or positive", name, value)
	}
	if value == 0 {
		return def, nil
	}
	return value, nil
}

// Begin starts a transaction. Its snapshot contains every commit that
// returned before Begin was called.
func (e *pebbleEngine) Begin() (Txn, error) {
	startSeq, err := e.oracle.begin()
	if err != nil {
		return nil, err
	}
	// NB: the snapshot is taken after startSeq was read, so it contains every
	// commit numbered startSeq or lower. It may contain later commits too,
	// which at worst turns a write to the same key into a conflict.
	return &pebbleTxn{
		engine:   e,
		startSeq: startSeq,
		readSeq:  startSeq,
		snap:     e.db.NewSnapshot(),
	}, nil
}

// Close closes the store. It fails, leaving the engine open, while a
// transaction is still open, and returns ErrClosed when called twice.
func (e *pebbleEngine) Close() error {
	if err := e.oracle.close(); err != nil {
		return err
	}
	if err := e.temp.close(); err != nil {
		e.logger.Error("kv: close temporary store failed", "err", err)
	}
	if err := e.db.Close(); err != nil {
		return pgerror.Wrapf(err, pgcode.IoError, "kv: close pebble store")
	}
	e.logger.Info("kv: closed pebble store")
	return nil
}

// pebbleLogger passes pebble's log messages to slog.
type pebbleLogger struct {
	logger *slog.Logger
}

func (l pebbleLogger) Infof(format string, args ...any) {
	l.logger.Info(fmt.Sprintf(format, args...), "component", "pebble")
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.logger.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf logs and panics, because pebble calls it on states it cannot
// continue from and does not expect it to return.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.logger.Error(msg, "component", "pebble", "fatal", true)
	panic("pebble: " + msg)
}
