package main

import (
	"io"
	"log/slog"
)

// NewLogger returns a logger that writes cfg.Format records (text or JSON) to
// w, dropping records below cfg.Level. Values that Validate rejects fall back
// to text output at level info.
func NewLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: parseLogLevel(cfg.Level)}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func parseLogLevel(level string) slog.Level {
	switch level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
