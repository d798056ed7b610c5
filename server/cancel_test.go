package server

import (
	"sync/atomic"
	"testing"
)

type countingCanceler struct{ calls atomic.Int32 }

func (c *countingCanceler) Cancel() { c.calls.Add(1) }

func TestCancelRegistry(t *testing.T) {
	r := newCancelRegistry()
	pid, secret := r.reserve()
	if pid == 0 || pid > 1<<31-1 {
		t.Fatalf("pid = %d, want 1..2^31-1", pid)
	}

	target := &countingCanceler{}
	if r.cancel(pid, secret[:]) {
		t.Error("cancel matched a connection without a session")
	}

	r.activate(pid, target)
	wrong := secret
	wrong[0] ^= 0xff
	if r.cancel(pid, wrong[:]) {
		t.Error("cancel with a wrong secret matched")
	}
	if r.cancel(pid, secret[:3]) {
		t.Error("cancel with a short secret matched")
	}
	if r.cancel(pid+1, secret[:]) {
		t.Error("cancel with a wrong pid matched")
	}
	if got := target.calls.Load(); got != 0 {
		t.Fatalf("target canceled %d times by wrong requests", got)
	}

	if !r.cancel(pid, secret[:]) {
		t.Error("cancel with the right pid and secret did not match")
	}
	if got := target.calls.Load(); got != 1 {
		t.Errorf("target canceled %d times, want 1", got)
	}

	r.release(pid)
	if r.cancel(pid, secret[:]) {
		t.Error("cancel matched a released pid")
	}
}

func TestCancelRegistryUniquePIDs(t *testing.T) {
	r := newCancelRegistry()
	seen := make(map[uint32]bool)
	for range 1000 {
		pid, _ := r.reserve()
		if seen[pid] {
			t.Fatalf("pid %d reserved twice", pid)
		}
		seen[pid] = true
	}
}
