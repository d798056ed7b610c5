package server

import (
	"net"
	"testing"

	"github.com/pgkeep/pgkeep/security"
)

func TestSourceOfAddr(t *testing.T) {
	tests := []struct {
		ip   string
		want security.Source
	}{
		{"127.0.0.1", security.SourceLoopback},
		{"127.8.9.10", security.SourceLoopback},
		{"::1", security.SourceLoopback},
		{"::ffff:127.0.0.1", security.SourceLoopback},
		{"10.0.0.1", security.SourceRemote},
		{"::ffff:10.0.0.1", security.SourceRemote},
		{"192.168.1.5", security.SourceRemote},
		{"2001:db8::1", security.SourceRemote},
		{"0.0.0.0", security.SourceRemote},
	}
	for _, tt := range tests {
		addr := &net.TCPAddr{IP: net.ParseIP(tt.ip), Port: 5432}
		if got := sourceOfAddr(addr); got != tt.want {
			t.Errorf("sourceOfAddr(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}

	if got := sourceOfAddr(&net.UnixAddr{Name: "/tmp/x", Net: "unix"}); got != security.SourceRemote {
		t.Errorf("a non-TCP address passed to sourceOfAddr = %v, want remote", got)
	}
}
