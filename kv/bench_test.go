package kv

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkCommit measures fsynced single-key commits on disjoint keys from
// one committer and from many parallel committers, which share fsyncs in
// pebble's commit pipeline.
func BenchmarkCommit(b *testing.B) {
	value := make([]byte, 100)
	commitOne := func(b *testing.B, e Engine, key []byte) bool {
		txn, err := e.Begin()
		if err != nil {
			b.Error(err)
			return false
		}
		if err := txn.Put(key, value); err != nil {
			b.Error(err)
			return false
		}
		if err := txn.Commit(); err != nil {
			b.Error(err)
			return false
		}
		return true
	}

	b.Run("committers=1", func(b *testing.B) {
		e := openTestEngine(b)
		b.ResetTimer()
		for i := range b.N {
			if !commitOne(b, e, EncodeUint32(nil, uint32(i))) {
				return
			}
		}
	})

	procs := runtime.GOMAXPROCS(0)
	for _, perProc := range []int{4, 16} {
		b.Run(fmt.Sprintf("committers=%d", perProc*procs), func(b *testing.B) {
			e := openTestEngine(b)
			var next atomic.Uint32
			b.SetParallelism(perProc)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !commitOne(b, e, EncodeUint32(nil, next.Add(1))) {
						return
					}
				}
			})
		})
	}
}

// BenchmarkGet measures point reads of existing keys in a read-only
// transaction.
func BenchmarkGet(b *testing.B) {
	const keys = 10000
	e := openTestEngine(b)
	txn := begin(b, e)
	value := make([]byte, 100)
	for i := range keys {
		if err := txn.Put(EncodeInt64(nil, int64(i)), value); err != nil {
			b.Fatal(err)
		}
	}
	commit(b, txn)

	reader := begin(b, e)
	defer reader.Rollback()
	rng := rand.New(rand.NewPCG(1, 2))
	key := make([]byte, 0, 16)
	b.ResetTimer()
	for range b.N {
		key = EncodeInt64(key[:0], rng.Int64N(keys))
		if _, found, err := reader.Get(key); err != nil || !found {
			b.Fatalf("get: found %v, err %v", found, err)
		}
	}
}
