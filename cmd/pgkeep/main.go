// Command pgkeep is the pgkeep database server.
//
//	pgkeep serve [--config FILE] [--data-dir DIR] [--listen HOST:PORT] [--socket-dir DIR]
//	             [--tls-cert FILE --tls-key FILE]
//	pgkeep token --user NAME [--ttl 1h] [--config FILE]
//	pgkeep version
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pgkeep/pgkeep/executor"
	"github.com/pgkeep/pgkeep/node"
	"github.com/pgkeep/pgkeep/security"
	"github.com/pgkeep/pgkeep/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `Usage:
  pgkeep serve [--config FILE] [--data-dir DIR] [--listen HOST:PORT] [--socket-dir DIR]
               [--tls-cert FILE --tls-key FILE]
  pgkeep token --user NAME [--ttl 1h] [--config FILE]
  pgkeep version
`

func main() {
	os.Exit(run(os.Args[1:], os.Environ()))
}

func run(args, env []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Printf("pgkeep %s (PostgreSQL %s compatible)\n", version, executor.ServerVersion)
		return 0
	case "serve":
		return serve(args[1:], env)
	case "token":
		return token(args[1:], env, os.Stdout, os.Stderr)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "pgkeep: unknown command %q\n%s", args[0], usage)
	return 2
}

func serve(args, env []string) int {
	cfg, err := LoadConfig(args, env)
	if err != nil {
		var help *HelpError
		if errors.As(err, &help) {
			fmt.Print(help.Usage)
			return 0
		}
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	tlsConfig, err := cfg.TLS.ServerConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	authConfig, err := cfg.Auth.SecurityConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	logger := NewLogger(cfg.Log, os.Stderr)
	logger.Info("starting pgkeep", "version", version, "data_dir", cfg.DataDir, "database", cfg.Database)
	if tlsConfig != nil {
		logger.Info("TLS enabled", "cert_file", cfg.TLS.CertFile, "min_version", cfg.TLS.MinVersion,
			"require_remote", cfg.TLS.RequireRemote)
	}
	if authConfig.TokenVerifier, err = cfg.Auth.JWT.TokenVerifier(logger); err != nil {
		logger.Error("start failed", "error", err)
		return 2
	}
	if authConfig.TokenVerifier != nil {
		logger.Info("JWT logins enabled", "hs256_secret", cfg.Auth.JWT.Secret != "",
			"public_key_files", len(cfg.Auth.JWT.PublicKeyFiles), "jwks_file", cfg.Auth.JWT.JWKSFile,
			"trusted_issuers", cfg.Auth.JWT.TrustedIssuers, "auto_provision", cfg.Auth.JWT.AutoProvision)
	}

	n, err := node.Start(node.Config{
		DataDir:  cfg.DataDir,
		Database: cfg.Database,
		TimeZone: cfg.TimeZone,
		Server: server.Config{
			ListenAddr:       cfg.Listen,
			SocketDir:        cfg.SocketDir,
			MaxConnections:   cfg.Limits.MaxConnections,
			MaxMessageSize:   cfg.Limits.MaxMessageSize,
			TLS:              tlsConfig,
			RequireTLSRemote: cfg.TLS.RequireRemote,
		},
		Auth: authConfig,
		PasswordPolicy: &security.PasswordPolicy{
			RejectCommon:      cfg.Auth.RejectCommonPasswords,
			RequireComplexity: cfg.Auth.RequirePasswordComplexity,
		},
		DeletedUserGracePeriod: cfg.Auth.DeletedUserGracePeriod,
		AuditRetention:         cfg.Audit.Retention,
		Logger:                 logger,
	})
	if err != nil {
		logger.Error("start failed", "error", err)
		return 1
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	sig := <-signals
	logger.Info("shutting down", "signal", sig.String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		logger.Error("shutdown failed", "error", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}
