package executor

import (
	"net"
	"sync"
	"time"

	"github.com/pgkeep/pgkeep/catalog"
)

// sessionRegistry lists the live sessions of each server for
// pg_stat_activity.
var sessionRegistry sync.Map // *Server -> *liveSessions

type liveSessions struct {
	mu       sync.Mutex
	sessions map[*Session]time.Time // session -> backend start
}

// registerSession adds s to its server's live sessions.
func registerSession(s *Session) {
	v, _ := sessionRegistry.LoadOrStore(s.srv, &liveSessions{sessions: map[*Session]time.Time{}})
	live := v.(*liveSessions)
	live.mu.Lock()
	live.sessions[s] = time.Now()
	live.mu.Unlock()
}

// unregisterSession removes s from its server's live sessions.
func unregisterSession(s *Session) {
	if v, ok := sessionRegistry.Load(s.srv); ok {
		live := v.(*liveSessions)
		live.mu.Lock()
		delete(live.sessions, s)
		live.mu.Unlock()
	}
}

// pgStatActivityRows lists the live sessions: all of them for dba and
// system, the acting user's own for user and service.
// NOTE: state and query describe only the reading session ("active" and
// no text); other sessions show "idle".
func pgStatActivityRows(ec *evalContext, out *catalogRows) error {
	v, ok := sessionRegistry.Load(ec.sess.srv)
	if !ok {
		return nil
	}
	live := v.(*liveSessions)
	actor := ec.actor()
	seeAll := actor.Role == catalog.RoleDBA || actor.Role == catalog.RoleSystem
	live.mu.Lock()
	defer live.mu.Unlock()
	for s, started := range live.sessions {
		if !seeAll && s.user.ID != actor.ID {
			continue
		}
		state := "idle"
		if s == ec.sess {
			state = "active"
		}
		out.add(map[string]any{
			"datid": int64(1), "datname": s.database, "pid": int64(s.pid), "usesysid": int64(s.user.ID), "usename": s.user.Name,
			"application_name": s.settings.values["application_name"], "client_addr": clientAddress(s.source),
			"backend_start": started, "state": state, "backend_type": "client backend",
		})
	}
	return nil
}

// clientAddress returns the IP address of a "host:port" client address, or
// NULL for a unix socket.
func clientAddress(source string) any {
	host, _, err := net.SplitHostPort(source)
	if err != nil || net.ParseIP(host) == nil {
		return nil
	}
	return host
}
