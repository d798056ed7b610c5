package node

import (
	"context"
	"time"
)

const (
	defaultGracePeriod         = 30 * 24 * time.Hour
	defaultMaintenanceInterval = time.Hour
	defaultAuditRetention      = 90 * 24 * time.Hour
)

func (n *Node) now() time.Time {
	if n.cfg.TestingKnobs.Now != nil {
		return n.cfg.TestingKnobs.Now()
	}
	return time.Now()
}

// startMaintenance runs RunMaintenance every MaintenanceInterval until the
// node stops.
func (n *Node) startMaintenance() {
	interval := n.cfg.MaintenanceInterval
	if interval <= 0 {
		interval = defaultMaintenanceInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.stopMaintenance = cancel
	n.maintenanceDone = make(chan struct{})
	go func() {
		defer close(n.maintenanceDone)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				n.RunMaintenance()
			}
		}
	}()
}

// RunMaintenance purges users dropped longer than the grace period, with
// their rows, prunes the audit log and deletes STREAM rows past their TTL. It logs what it
// removed and every error; the next run retries what failed.
func (n *Node) RunMaintenance() {
	grace := n.cfg.DeletedUserGracePeriod
	if grace <= 0 {
		grace = defaultGracePeriod
	}
	now := n.now()
	purged, err := n.exec.PurgeDeletedUsers(now, grace)
	for _, p := range purged {
		n.logger.Info("purged dropped user", "user", p.Name, "user_id", p.ID, "deleted_at", p.DeletedAt, "rows_removed", p.RowsRemoved)
	}
	if err != nil {
		n.logger.Error("purging dropped users failed", "error", err)
	}
	retention := n.cfg.AuditRetention
	if retention <= 0 {
		retention = defaultAuditRetention
	}
	pruned, err := n.exec.PruneAuditLog(now, retention)
	if pruned > 0 {
		n.logger.Info("pruned audit log entries", "entries_removed", pruned)
	}
	if err != nil {
		n.logger.Error("pruning the audit log failed", "error", err)
	}
	swept, err := n.exec.SweepExpiredStreamRows(now)
	if swept > 0 {
		n.logger.Info("deleted expired stream rows", "rows_removed", swept)
	}
	if err != nil {
		n.logger.Error("sweeping stream tables failed", "error", err)
	}
}

// recordLogin updates last_seen off the login path, at most once a day per
// user. A failure only costs the update, so it is logged at debug level.
func (n *Node) recordLogin(user string) {
	n.loginWG.Add(1)
	go func() {
		defer n.loginWG.Done()
		if err := n.exec.RecordLogin(user, n.now()); err != nil {
			n.logger.Debug("updating last_seen failed", "user", user, "error", err)
		}
	}()
}
