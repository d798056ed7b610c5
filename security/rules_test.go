package security

import (
	"context"
	"net/netip"
	"reflect"
	"testing"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

func TestParseRulesFields(t *testing.T) {
	cases := []struct {
		line string
		want Rule
	}{
		{"local all all trust",
			Rule{Type: ConnLocal, AllDatabases: true, AllUsers: true, Method: MethodTrust}},
		{"host app,reports alice,+dba 10.0.0.0/8 scram-sha-256",
			Rule{Type: ConnHost, Databases: []string{"app", "reports"}, Users: []string{"alice"}, Roles: []Role{RoleDBA},
				Address: AddressMatch{Kind: AddressPrefix, Prefix: netip.MustParsePrefix("10.0.0.0/8")}, Method: MethodSCRAMSHA256}},
		{"hostssl all +system,+service ::1/128 jwt",
			Rule{Type: ConnHostSSL, AllDatabases: true, Roles: []Role{RoleSystem, RoleService},
				Address: AddressMatch{Kind: AddressPrefix, Prefix: netip.MustParsePrefix("::1/128")}, Method: MethodJWT}},
		{"hostnossl all all loopback password",
			Rule{Type: ConnHostNoSSL, AllDatabases: true, AllUsers: true, Address: AddressMatch{Kind: AddressLoopback}, Method: MethodPassword}},
		{"host all all all reject",
			Rule{Type: ConnHost, AllDatabases: true, AllUsers: true, Address: AddressMatch{Kind: AddressAll}, Method: MethodReject}},
		// Host bits are cleared, as PostgreSQL does with the mask.
		{"host all all 192.168.1.77/24 trust",
			Rule{Type: ConnHost, AllDatabases: true, AllUsers: true,
				Address: AddressMatch{Kind: AddressPrefix, Prefix: netip.MustParsePrefix("192.168.1.0/24")}, Method: MethodTrust}},
		// Quoted keywords are names, a comma list may continue after a space,
		// and a comment ends the rule.
		{`local "all" "+dba", bob trust # for the app`,
			Rule{Type: ConnLocal, Databases: []string{"all"}, Users: []string{"+dba", "bob"}, Method: MethodTrust}},
		{"\thost  all\tall  all   trust  ",
			Rule{Type: ConnHost, AllDatabases: true, AllUsers: true, Address: AddressMatch{Kind: AddressAll}, Method: MethodTrust}},
		{`local "my db" bob trust`,
			Rule{Type: ConnLocal, Databases: []string{"my db"}, Users: []string{"bob"}, Method: MethodTrust}},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			rules, err := ParseRules([]string{tc.line})
			if err != nil {
				t.Fatalf("ParseRules: %v", err)
			}
			tc.want.Number = 1
			if !reflect.DeepEqual(rules[0], tc.want) {
				t.Errorf("got  %+v\nwant %+v", rules[0], tc.want)
			}
		})
	}
}

func TestParseRulesNumbers(t *testing.T) {
	rules, err := ParseRules([]string{"local all all trust", "host all all all reject"})
	if err != nil {
		t.Fatalf("ParseRules: %v", err)
	}
	if rules[0].Number != 1 || rules[1].Number != 2 {
		t.Errorf("numbers = %d, %d, want 1, 2", rules[0].Number, rules[1].Number)
	}
}

func TestParseRulesErrors(t *testing.T) {
	cases := []struct {
		line, want string
	}{
		{"", "empty rule: expected a connection type, database, user, address and method"},
		{"# only a comment", "empty rule: expected a connection type, database, user, address and method"},
		{"hots all all all trust", `invalid connection type "hots": use local, host, hostssl or hostnossl`},
		{`"local" all all trust`, `invalid connection type "local": use local, host, hostssl or hostnossl`},
		{"local", "missing database"},
		{"local all", "missing user"},
		{"local all all", "missing method"},
		{"host all all trust", "missing method"},
		{"host all all", "missing address"},
		{"local all all md5", `invalid method "md5": use trust, scram-sha-256, password, jwt or reject`},
		{"local all all trust,reject", `invalid method "trust,reject": use trust, scram-sha-256, password, jwt or reject`},
		{"local all all trust clientcert=verify-full", `unexpected field "clientcert=verify-full" after the method: rules take no options`},
		{"host all all 10.0.0.0/33 trust", `invalid address "10.0.0.0/33": use a CIDR prefix such as 10.0.0.0/8 or ::1/128, all or loopback`},
		{"host all all 10.0.0.1 trust", `invalid address "10.0.0.1": use a CIDR prefix such as 10.0.0.0/8 or ::1/128, all or loopback`},
		{"host all all example.com trust", `invalid address "example.com": use a CIDR prefix such as 10.0.0.0/8 or ::1/128, all or loopback`},
		{"host all all 10.0.0.0/8,::1/128 trust", `invalid address "10.0.0.0/8,::1/128": use one CIDR prefix such as 10.0.0.0/8, all or loopback`},
		{"host all all samenet trust", `invalid address "samenet": the keyword samenet is not supported; use a CIDR prefix, all or loopback`},
		{"local all +admin trust", `invalid role "+admin": use +user, +service, +dba or +system`},
		{"local sameuser all trust", `invalid database "sameuser": the keyword sameuser is not supported; use all or database names`},
		{"local @dbs all trust", `invalid database "@dbs": file inclusion with @ is not supported`},
		{"local all @users trust", `invalid user "@users": file inclusion with @ is not supported`},
		{`local "" all trust`, "invalid database: empty name"},
		{`local all "" trust`, "invalid user: empty name"},
		{"local a,,b all trust", "empty item in a comma-separated list"},
		{"local a, all trust", "missing method"},
		{"local all all, ", "comma at the end of a list"},
		{`local "all all trust`, "unterminated double quote"},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			// Two valid rules first, so the error must name rule 3.
			_, err := ParseRules([]string{"local all all trust", "host all all all reject", tc.line})
			if err == nil {
				t.Fatal("ParseRules returned no error")
			}
			want := "rule 3: " + tc.want
			if err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if code := pgerror.GetCode(err); code != pgcode.ConfigFileError {
				t.Errorf("SQLSTATE = %s, want F0000", code)
			}
		})
	}
}

func mustParseRules(t *testing.T, lines ...string) []Rule {
	t.Helper()
	rules, err := ParseRules(lines)
	if err != nil {
		t.Fatalf("ParseRules: %v", err)
	}
	return rules
}

// matchingRule returns the number of the first rule that matches, or 0.
func matchingRule(rules []Rule, ci ConnInfo, role Role) int {
	ip := clientIP(ci)
	for i := range rules {
		if rules[i].matches(ci, ip, role) {
			return rules[i].Number
		}
	}
	return 0
}

func TestRuleMatching(t *testing.T) {
	rules := mustParseRules(t,
		"local all bob reject",                    // 1
		"local app all trust",                     // 2
		"hostssl all all 10.1.0.0/16 password",    // 3
		"hostnossl all all 10.1.0.0/16 reject",    // 4
		"host all +dba 10.0.0.0/8 scram-sha-256",  // 5
		"host all all 2001:db8::/32 jwt",          // 6
		"host all all loopback trust",             // 7
		"host reports alice,carol all password",   // 8
		"host all all 192.0.2.0/24 scram-sha-256", // 9
	)
	local := func(user, db string) ConnInfo {
		return ConnInfo{User: user, Database: db, Source: SourceLocal, RemoteAddr: "[local]"}
	}
	tcp := func(user, db, addr string, tls bool) ConnInfo {
		source := SourceRemote
		if ip := netip.MustParseAddrPort(addr).Addr().Unmap(); ip.IsLoopback() {
			source = SourceLoopback
		}
		return ConnInfo{User: user, Database: db, Source: source, RemoteAddr: addr, TLS: tls}
	}

	cases := []struct {
		name string
		ci   ConnInfo
		role Role
		want int
	}{
		{"local first match wins", local("bob", "app"), 0, 1},
		{"local by database", local("alice", "app"), 0, 2},
		{"local no match", local("alice", "other"), 0, 0},
		{"local rule skips TCP", tcp("bob", "app", "127.0.0.1:4000", false), 0, 7},
		{"hostssl with TLS", tcp("alice", "db", "10.1.2.3:4000", true), 0, 3},
		{"hostnossl without TLS", tcp("alice", "db", "10.1.2.3:4000", false), 0, 4},
		{"+dba matches dba", tcp("alice", "db", "10.9.9.9:4000", false), RoleDBA, 5},
		{"+dba skips system", tcp("alice", "db", "10.9.9.9:4000", false), RoleSystem, 0},
		{"+dba skips unknown user", tcp("alice", "db", "10.9.9.9:4000", false), 0, 0},
		{"IPv6 prefix", tcp("alice", "db", "[2001:db8::5]:4000", false), 0, 6},
		{"IPv6 outside prefix", tcp("alice", "db", "[2001:db9::5]:4000", false), 0, 0},
		{"IPv4-mapped IPv6 address", tcp("alice", "db", "[::ffff:192.0.2.7]:4000", false), 0, 9},
		{"loopback IPv4", tcp("alice", "db", "127.0.0.5:4000", false), 0, 7},
		{"loopback IPv6", tcp("alice", "db", "[::1]:4000", true), 0, 7},
		{"user list", tcp("carol", "reports", "198.51.100.1:4000", false), 0, 8},
		{"user list other user", tcp("dave", "reports", "198.51.100.1:4000", false), 0, 0},
		{"prefix v4", tcp("dave", "db", "192.0.2.200:4000", false), 0, 9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchingRule(rules, tc.ci, tc.role); got != tc.want {
				t.Errorf("matching rule = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestLoopbackKeywordUsesSource checks that "loopback" follows the source the
// server decided, not the address: a loopback address whose source was
// overridden to remote does not match it, but does match its CIDR prefix.
func TestLoopbackKeywordUsesSource(t *testing.T) {
	rules := mustParseRules(t, "host all all loopback trust", "host all all 127.0.0.0/8 reject")
	ci := ConnInfo{User: "alice", Database: "db", Source: SourceRemote, RemoteAddr: "127.0.0.1:5000"}
	if got := matchingRule(rules, ci, 0); got != 2 {
		t.Errorf("matching rule = %d, want 2", got)
	}
}

func newRulesAuthenticator(t *testing.T, lines ...string) *Authenticator {
	t.Helper()
	a, err := NewAuthenticator(Config{BcryptCost: 4, ServerSecret: testSecret, Rules: mustParseRules(t, lines...)})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	return a
}

// TestNoMatchingRuleIdentical checks that the no-match error is the same for
// an existing and an unknown user and comes before any exchange.
func TestNoMatchingRuleIdentical(t *testing.T) {
	a := newRulesAuthenticator(t, "host app all all scram-sha-256", "local all all trust")
	store := testStore(t, a)

	for _, user := range []string{"alice", "nobody", "deleted"} {
		t.Run(user, func(t *testing.T) {
			ci := ConnInfo{User: user, Database: "db", Source: SourceRemote, RemoteAddr: "192.0.2.10:5000"}
			res, err := a.Authenticate(context.Background(), ci, store, noExchange{t})
			pe := assertPGError(t, err, pgcode.InvalidAuthorizationSpecification,
				`no connection rule matches host "192.0.2.10", user "`+user+`", database "db"`)
			if pe.Detail != "" || pe.Hint != "" {
				t.Errorf("detail %q, hint %q: want both empty", pe.Detail, pe.Hint)
			}
			if res.Reason != ReasonNoMatchingRule || res.Method != "" {
				t.Errorf("result = %+v, want no method and reason %q", res, ReasonNoMatchingRule)
			}
		})
	}

	local := ConnInfo{User: "alice", Database: "db", Source: SourceLocal, RemoteAddr: "[local]"}
	b := newRulesAuthenticator(t, "host all all all trust")
	_, err := b.Authenticate(context.Background(), local, store, noExchange{t})
	assertPGError(t, err, pgcode.InvalidAuthorizationSpecification,
		`no connection rule matches host "[local]", user "alice", database "db"`)
}

func TestRejectRule(t *testing.T) {
	a := newRulesAuthenticator(t, "host all alice loopback reject", "host all all all password")
	store := testStore(t, a)

	ci := ConnInfo{User: "alice", Database: "db", Source: SourceLoopback, RemoteAddr: "[::1]:5000"}
	res, err := a.Authenticate(context.Background(), ci, store, noExchange{t})
	assertPGError(t, err, pgcode.InvalidAuthorizationSpecification,
		`connection rule rejects host "::1", user "alice", database "db"`)
	if res.Method != MethodReject || res.Reason != "rejected by rule 1" {
		t.Errorf("result = %+v, want reject by rule 1", res)
	}

	// Other users go on to the next rule.
	ci.User = "bcryptonly"
	if _, err := a.Authenticate(context.Background(), ci, store, &passwordExchange{password: testPassword}); err != nil {
		t.Errorf("bcryptonly: %v", err)
	}
}

// TestRoleRuleUnknownUser checks that a +role rule does not match an unknown
// user, who falls through to the next rule like a user of another role.
func TestRoleRuleUnknownUser(t *testing.T) {
	a := newRulesAuthenticator(t, "host all +dba all password", "host all all all scram-sha-256")
	store := testStore(t, a)
	dba := store.users["alice"]
	dba.Role = RoleDBA
	store.users["alice"] = dba
	deleted := store.users["deleted"]
	deleted.Role = RoleDBA
	store.users["deleted"] = deleted

	cases := []struct {
		user, method string
	}{
		{"alice", MethodPassword},
		{"deleted", MethodPassword}, // a deleted user keeps its role's method
		{"bcryptonly", MethodSCRAMSHA256},
		{"nobody", MethodSCRAMSHA256},
	}
	for _, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			var ex Exchange = newSCRAMClientExchange(t, "", "wrong")
			if tc.method == MethodPassword {
				ex = &passwordExchange{password: "wrong"}
			}
			res, err := a.Authenticate(context.Background(), remoteConn(tc.user), store, ex)
			assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "`+tc.user+`"`)
			if res.Method != tc.method {
				t.Errorf("method = %q, want %q", res.Method, tc.method)
			}
		})
	}
}

// TestTrustRule checks trust from a configured rule: no exchange, but users
// who cannot log in at all still fail.
func TestTrustRule(t *testing.T) {
	a := newRulesAuthenticator(t, "host all all all trust")
	store := testStore(t, a)

	for _, user := range []string{"alice", "oauthuser", "internalrem"} {
		res, err := a.Authenticate(context.Background(), remoteConn(user), store, noExchange{t})
		if err != nil || res.Method != MethodTrust {
			t.Errorf("%s: result %+v, error %v; want trust", user, res, err)
		}
	}
	for user, reason := range map[string]string{
		"nobody":    ReasonUnknownUser,
		"deleted":   ReasonUserDeleted,
		"internal":  ReasonRemoteInternal,
		"weirdtype": ReasonUnknownAuthType,
	} {
		res, err := a.Authenticate(context.Background(), remoteConn(user), store, noExchange{t})
		assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "`+user+`"`)
		if res.Reason != reason {
			t.Errorf("%s: reason = %q, want %q", user, res.Reason, reason)
		}
	}
}

// TestConfiguredRulesNoInternalTrust checks that the trust of internal users
// belongs to the default rules only: with configured rules, a local internal
// user runs the rule's method.
func TestConfiguredRulesNoInternalTrust(t *testing.T) {
	a := newRulesAuthenticator(t, "local all all password")
	store := testStore(t, a)
	ci := ConnInfo{User: "internal", Database: "db", Source: SourceLocal, RemoteAddr: "[local]"}
	res, err := a.Authenticate(context.Background(), ci, store, &passwordExchange{password: testPassword})
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if res.Method != MethodPassword {
		t.Errorf("method = %q, want password", res.Method)
	}
}

func TestRequestsJWT(t *testing.T) {
	cases := []struct {
		options string
		want    bool
	}{
		{"-c pgkeep.auth=jwt", true},
		{"-cpgkeep.auth=jwt", true},
		{"--pgkeep.auth=jwt", true},
		{"-c search_path=app -c pgkeep.auth=JWT -c statement_timeout=5s", true},
		{"-c PgKeep.Auth=jwt", true},
		{"", false},
		{"-c pgkeep.auth=password", false},
		{"-c pgkeep.auth", false},
		{"pgkeep.auth=jwt", false},
		{"-c search_path=pgkeep.auth=jwt", false},
		{"-c", false},
	}
	for _, tc := range cases {
		if got := requestsJWT(map[string]string{"options": tc.options}); got != tc.want {
			t.Errorf("requestsJWT(%q) = %v, want %v", tc.options, got, tc.want)
		}
	}
}

// fakeTokenVerifier accepts the token "good-token" for every stored user and
// records the calls. It creates no users, so it rejects unknown ones.
type fakeTokenVerifier struct {
	calls []string
}

func (v *fakeTokenVerifier) VerifyToken(_ context.Context, ci ConnInfo, token string, _ Credentials, found bool) (bool, string, error) {
	v.calls = append(v.calls, ci.User)
	if token != "good-token" {
		return false, "bad signature", nil
	}
	if !found {
		return false, "no such user", nil
	}
	return true, "", nil
}

func jwtConn(user string) ConnInfo {
	ci := remoteConn(user)
	ci.Params = map[string]string{"options": "-c pgkeep.auth=jwt"}
	return ci
}

func TestJWTNotConfigured(t *testing.T) {
	a := newTestAuthenticator(t, "")
	store := testStore(t, a)

	for _, user := range []string{"oauthuser", "alice", "nobody"} {
		ex := &passwordExchange{password: "some-token"}
		res, err := a.Authenticate(context.Background(), jwtConn(user), store, ex)
		assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "`+user+`"`)
		if res.Method != MethodJWT || res.Reason != ReasonJWTNotConfigured {
			t.Errorf("%s: result = %+v, want jwt with reason %q", user, res, ReasonJWTNotConfigured)
		}
		if ex.requested != 1 {
			t.Errorf("%s: password requested %d times, want 1", user, ex.requested)
		}
	}
}

func TestJWTMethod(t *testing.T) {
	verifier := &fakeTokenVerifier{}
	a, err := NewAuthenticator(Config{BcryptCost: 4, ServerSecret: testSecret, TokenVerifier: verifier})
	if err != nil {
		t.Fatal(err)
	}
	store := testStore(t, a)

	cases := []struct {
		user, token, reason string // reason "" for success
	}{
		{"oauthuser", "good-token", ""},
		{"alice", "good-token", ""},
		{"oauthuser", "forged", "bad signature"},
		{"nobody", "good-token", ReasonUnknownUser},
		{"deleted", "good-token", ReasonUserDeleted},
		{"internal", "good-token", ReasonRemoteInternal},
	}
	for _, tc := range cases {
		t.Run(tc.user+"/"+tc.token, func(t *testing.T) {
			verifier.calls = nil
			res, err := a.Authenticate(context.Background(), jwtConn(tc.user), store, &passwordExchange{password: tc.token})
			if len(verifier.calls) != 1 {
				t.Errorf("verifier called %d times, want 1", len(verifier.calls))
			}
			if res.Method != MethodJWT {
				t.Errorf("method = %q, want jwt", res.Method)
			}
			if tc.reason == "" {
				if err != nil {
					t.Errorf("Authenticate: %v", err)
				}
				return
			}
			assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "`+tc.user+`"`)
			if res.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", res.Reason, tc.reason)
			}
		})
	}

	// Without the option, an OAuth user gets the password method and fails.
	res, err := a.Authenticate(context.Background(), remoteConn("oauthuser"), store, newSCRAMClientExchange(t, "", "good-token"))
	assertPGError(t, err, pgcode.InvalidPassword, `password authentication failed for user "oauthuser"`)
	if res.Reason != ReasonOAuthUser {
		t.Errorf("reason = %q, want %q", res.Reason, ReasonOAuthUser)
	}
}

// TestJWTRuleForced checks that a rule selects jwt without the startup
// option.
func TestJWTRuleForced(t *testing.T) {
	verifier := &fakeTokenVerifier{}
	a, err := NewAuthenticator(Config{BcryptCost: 4, ServerSecret: testSecret, TokenVerifier: verifier,
		Rules: mustParseRules(t, "host all all all jwt")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Authenticate(context.Background(), remoteConn("oauthuser"), testStore(t, a), &passwordExchange{password: "good-token"})
	if err != nil || res.Method != MethodJWT {
		t.Errorf("result %+v, error %v; want a jwt login", res, err)
	}
}

func TestNewAuthenticatorInvalidRule(t *testing.T) {
	cases := []struct {
		name string
		rule Rule
	}{
		{"zero rule", Rule{Number: 1}},
		{"bad method", Rule{Number: 1, Type: ConnLocal, AllDatabases: true, AllUsers: true, Method: "md5"}},
		{"host without address", Rule{Number: 1, Type: ConnHost, AllDatabases: true, AllUsers: true, Method: MethodTrust}},
		{"local with address", Rule{Number: 1, Type: ConnLocal, Address: AddressMatch{Kind: AddressAll}, Method: MethodTrust}},
		{"bad role", Rule{Number: 1, Type: ConnLocal, Roles: []Role{0}, Method: MethodTrust}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAuthenticator(Config{ServerSecret: testSecret, BcryptCost: 4, Rules: []Rule{tc.rule}})
			if !pgerror.HasCode(err, pgcode.InvalidParameterValue) {
				t.Errorf("error %v, want SQLSTATE 22023", err)
			}
		})
	}
}
