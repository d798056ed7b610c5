package main

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgkeep/pgkeep/server/testcert"
)

func TestLoadConfigTLSFlags(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	cfg := mustLoadConfig(t, []string{"--tls-cert", certs.CertFile, "--tls-key", certs.KeyFile}, nil)

	want := TLSConfig{CertFile: certs.CertFile, KeyFile: certs.KeyFile, MinVersion: "1.2"}
	if cfg.TLS != want {
		t.Errorf("TLS = %+v, want %+v", cfg.TLS, want)
	}
	serverTLS, err := cfg.TLS.ServerConfig()
	if err != nil {
		t.Fatalf("ServerConfig: %v", err)
	}
	if len(serverTLS.Certificates) != 1 || serverTLS.MinVersion != tls.VersionTLS12 {
		t.Errorf("server TLS config has %d certificates and minimum %s, want 1 and TLS 1.2",
			len(serverTLS.Certificates), tls.VersionName(serverTLS.MinVersion))
	}
}

func TestLoadConfigTLSEnv(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	cfg := mustLoadConfig(t, nil, []string{
		"PGKEEP_TLS_CERT_FILE=" + certs.CertFile,
		"PGKEEP_TLS_KEY_FILE=" + certs.KeyFile,
		"PGKEEP_TLS_REQUIRE_REMOTE=true",
		"PGKEEP_TLS_MIN_VERSION=1.3",
	})

	want := TLSConfig{CertFile: certs.CertFile, KeyFile: certs.KeyFile, RequireRemote: true, MinVersion: "1.3"}
	if cfg.TLS != want {
		t.Errorf("TLS = %+v, want %+v", cfg.TLS, want)
	}
	serverTLS, err := cfg.TLS.ServerConfig()
	if err != nil {
		t.Fatalf("ServerConfig: %v", err)
	}
	if serverTLS.MinVersion != tls.VersionTLS13 {
		t.Errorf("MinVersion = %s, want TLS 1.3", tls.VersionName(serverTLS.MinVersion))
	}
}

func TestLoadConfigTLSFile(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	want := TLSConfig{CertFile: certs.CertFile, KeyFile: certs.KeyFile, RequireRemote: true, MinVersion: "1.3"}

	// YAML and TOML decode an unquoted 1.3 as a number, which is accepted.
	files := map[string]string{
		"pgkeep.yaml": "tls:\n  cert_file: " + certs.CertFile + "\n  key_file: " + certs.KeyFile +
			"\n  require_remote: true\n  min_version: 1.3\n",
		"quoted.yaml": "tls:\n  cert_file: " + certs.CertFile + "\n  key_file: " + certs.KeyFile +
			"\n  require_remote: true\n  min_version: \"1.3\"\n",
		"pgkeep.toml": "[tls]\ncert_file = \"" + certs.CertFile + "\"\nkey_file = \"" + certs.KeyFile +
			"\"\nrequire_remote = true\nmin_version = 1.3\n",
	}
	for name, content := range files {
		t.Run(name, func(t *testing.T) {
			cfg := mustLoadConfig(t, []string{"--config", writeConfigFile(t, name, content)}, nil)
			if cfg.TLS != want {
				t.Errorf("TLS = %+v, want %+v", cfg.TLS, want)
			}
		})
	}
}

func TestLoadConfigTLSDisabledByDefault(t *testing.T) {
	cfg := mustLoadConfig(t, nil, nil)
	serverTLS, err := cfg.TLS.ServerConfig()
	if err != nil || serverTLS != nil {
		t.Errorf("ServerConfig() = %v, %v; want nil, nil", serverTLS, err)
	}
}

func TestLoadConfigTLSErrors(t *testing.T) {
	certs := testcert.Generate(t, t.TempDir())
	other := testcert.Generate(t, t.TempDir())
	missing := filepath.Join(t.TempDir(), "missing.pem")

	cases := []struct {
		name string
		args []string
		env  []string
		yaml string
		want []string
	}{
		{
			name: "certificate without key",
			args: []string{"--tls-cert", certs.CertFile},
			want: []string{"config: tls.key_file: must be set when tls.cert_file is set"},
		},
		{
			name: "key without certificate",
			env:  []string{"PGKEEP_TLS_KEY_FILE=" + certs.KeyFile},
			want: []string{"config: tls.cert_file: must be set when tls.key_file is set"},
		},
		{
			name: "missing certificate file",
			args: []string{"--tls-cert", missing, "--tls-key", certs.KeyFile},
			want: []string{"config: tls.cert_file: loading the certificate", "no such file or directory", "(from flag --tls-cert)"},
		},
		{
			name: "missing key file",
			env:  []string{"PGKEEP_TLS_CERT_FILE=" + certs.CertFile, "PGKEEP_TLS_KEY_FILE=" + missing},
			want: []string{"config: tls.key_file: reading the key file failed", "no such file or directory", "(from environment variable PGKEEP_TLS_KEY_FILE)"},
		},
		{
			name: "key of another certificate",
			args: []string{"--tls-cert", certs.CertFile, "--tls-key", other.KeyFile},
			want: []string{"config: tls.cert_file: loading the certificate", "private key does not match public key"},
		},
		{
			name: "key and certificate swapped",
			args: []string{"--tls-cert", certs.KeyFile, "--tls-key", certs.CertFile},
			want: []string{"config: tls.cert_file: loading the certificate"},
		},
		{
			name: "TLS 1.1",
			env:  []string{"PGKEEP_TLS_MIN_VERSION=1.1"},
			want: []string{`config: tls.min_version: must be one of 1.2, 1.3, got "1.1"`},
		},
		{
			name: "minimum version as a list",
			yaml: "tls:\n  min_version: [1.2]\n",
			want: []string{`config: tls.min_version: must be a version such as "1.3", got a list`},
		},
		{
			name: "require remote without certificate",
			yaml: "tls:\n  require_remote: true\n",
			want: []string{"config: tls.require_remote: requires tls.cert_file and tls.key_file"},
		},
		{
			name: "unknown TLS key",
			yaml: "tls:\n  cert: x.pem\n",
			want: []string{`config: unknown key "tls.cert"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.yaml != "" {
				args = append([]string{"--config", writeConfigFile(t, "pgkeep.yaml", tc.yaml)}, args...)
			}
			cfg, err := LoadConfig(args, tc.env)
			if err == nil {
				t.Fatalf("LoadConfig returned %+v, want an error containing %q", cfg, tc.want)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadConfigHelpListsTLSFlags(t *testing.T) {
	_, err := LoadConfig([]string{"--help"}, nil)
	if err == nil {
		t.Fatal("LoadConfig(--help) succeeded, want the usage text")
	}
	for _, flag := range []string{"--tls-cert", "--tls-key", "PGKEEP_TLS_CERT_FILE", "PGKEEP_TLS_KEY_FILE"} {
		if !strings.Contains(err.Error(), flag) {
			t.Errorf("help text does not mention %s:\n%s", flag, err)
		}
	}
}
