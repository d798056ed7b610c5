package node

import (
	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/security"
)

// auditQueueSize bounds the login events waiting to be written. A full
// queue drops events (with a log line) rather than slow logins down.
const auditQueueSize = 1024

// startAuditWriter starts the goroutine that writes login events to the
// audit log off the login path.
func (n *Node) startAuditWriter() {
	n.auditQueue = make(chan *catalog.AuditEntry, auditQueueSize)
	n.auditDone = make(chan struct{})
	go func() {
		defer close(n.auditDone)
		for e := range n.auditQueue {
			if err := n.exec.RecordAudit(e); err != nil {
				n.logger.Error("writing an audit log entry failed", "action", e.Action, "actor", e.Actor, "error", err)
			}
		}
	}()
}

// stopAuditWriter writes the queued events and stops the writer.
func (n *Node) stopAuditWriter() {
	close(n.auditQueue)
	<-n.auditDone
}

// auditLogin queues the audit entry of a login attempt. Its detail is the
// failure reason, which never holds a secret.
func (n *Node) auditLogin(ci security.ConnInfo, res security.Result, err error) {
	action := "login"
	if res.Reason == security.ReasonLockedOut {
		action = "lockout"
	}
	e := &catalog.AuditEntry{
		Time: n.now().UTC(), Actor: ci.User, Action: action, Target: ci.Database,
		Source: ci.RemoteAddr, Method: res.Method, Success: err == nil, Detail: res.Reason,
	}
	select {
	case n.auditQueue <- e:
	default:
		n.logger.Warn("audit log queue is full; dropped a login event", "user", ci.User, "source", ci.RemoteAddr)
	}
}
