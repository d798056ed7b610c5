package server

import (
	"net"
	"net/netip"

	"github.com/pgkeep/pgkeep/security"
)

// localRemoteAddr is the remote address of unix socket connections in logs
// and SessionInfo, as PostgreSQL shows it.
const localRemoteAddr = "[local]"

// connectionSource classifies a connection from its socket alone: unix
// sockets are local, TCP from 127.0.0.0/8 or ::1 (also as ::ffff:127.x.y.z)
// is loopback, anything else is remote. Nothing the client sends can change
// it. The OverrideSource testing knob may replace the result for TCP.
func (s *Server) connectionSource(conn net.Conn, unix bool) security.Source {
	if unix {
		return security.SourceLocal
	}
	if override := s.cfg.TestingKnobs.OverrideSource; override != nil {
		if source, ok := override(conn.RemoteAddr()); ok {
			return source
		}
	}
	return sourceOfAddr(conn.RemoteAddr())
}

func sourceOfAddr(addr net.Addr) security.Source {
	tcpAddr, ok := addr.(*net.TCPAddr)
	if !ok {
		return security.SourceRemote
	}
	ip, ok := netip.AddrFromSlice(tcpAddr.IP)
	if !ok {
		return security.SourceRemote
	}
	if ip.Unmap().IsLoopback() {
		return security.SourceLoopback
	}
	return security.SourceRemote
}

func remoteAddrString(conn net.Conn, unix bool) string {
	if unix {
		return localRemoteAddr
	}
	return conn.RemoteAddr().String()
}

// hostOf returns the host part of a remote address for messages, or the
// address unchanged when it has no port, such as "[local]".
func hostOf(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}
