package security

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// MethodJWT is the method of rules that request the cleartext password and
// verify it as a JWT with Config.TokenVerifier.
const MethodJWT = "jwt"

// ConnType is the connection type of a rule, as pg_hba.conf spells it.
type ConnType int

// Connection types. The zero value is not a type, so a Rule whose Type was
// never set matches no connection.
const (
	// ConnLocal matches unix socket connections.
	ConnLocal ConnType = iota + 1
	// ConnHost matches every TCP connection, with or without TLS.
	ConnHost
	// ConnHostSSL matches TCP connections over TLS.
	ConnHostSSL
	// ConnHostNoSSL matches TCP connections without TLS.
	ConnHostNoSSL
)

var connTypeNames = [...]string{
	ConnLocal:     "local",
	ConnHost:      "host",
	ConnHostSSL:   "hostssl",
	ConnHostNoSSL: "hostnossl",
}

// String returns the pg_hba.conf keyword of the type, such as "hostssl".
func (t ConnType) String() string {
	if t < ConnLocal || t > ConnHostNoSSL {
		return "ConnType(" + strconv.Itoa(int(t)) + ")"
	}
	return connTypeNames[t]
}

// AddressKind is the way the address field of a rule matches.
type AddressKind int

// Address kinds. Rules of type ConnLocal have AddressNone.
const (
	AddressNone AddressKind = iota
	// AddressAll matches every client address.
	AddressAll
	// AddressLoopback matches connections whose Source is SourceLoopback,
	// that is TCP from 127.0.0.0/8 or ::1.
	AddressLoopback
	// AddressPrefix matches client IP addresses inside Prefix.
	AddressPrefix
)

// AddressMatch is the address field of a rule.
type AddressMatch struct {
	Kind AddressKind
	// Prefix is the CIDR prefix of AddressPrefix, with the host bits zeroed.
	Prefix netip.Prefix
}

// Rule is one connection rule in pg_hba.conf style: the first rule whose
// connection type, database, user and address match a connection chooses its
// authentication method.
//
// A "+role" user entry matches users whose stored role is exactly that role,
// so "+dba" does not match system users. The role comes from the user store,
// so such an entry never matches an unknown user, and the connection goes on
// to the next rule, as PostgreSQL treats a user that is not a member of the
// group. This is the one way in which the chosen method can depend on the
// store: rules without "+role" entries choose the same method for every user
// name. A deleted user still matches by its stored role, so deleting a user
// does not change the method its name gets.
type Rule struct {
	// Number is the 1-based position of the rule in the configured list,
	// for error messages and logs.
	Number int
	Type   ConnType
	// AllDatabases matches every database. Otherwise the rule matches the
	// databases named in Databases.
	AllDatabases bool
	Databases    []string
	// AllUsers matches every user. Otherwise the rule matches the users named
	// in Users and the users whose role is in Roles.
	AllUsers bool
	Users    []string
	Roles    []Role
	// Address is AddressNone for ConnLocal rules and set for the others.
	Address AddressMatch
	// Method is MethodTrust, MethodSCRAMSHA256, MethodPassword, MethodJWT or
	// MethodReject.
	Method string
}

// ruleMethods lists the methods a rule may name.
var ruleMethods = []string{MethodTrust, MethodSCRAMSHA256, MethodPassword, MethodJWT, MethodReject}

// ruleMethodsHint lists ruleMethods for error messages.
const ruleMethodsHint = "trust, scram-sha-256, password, jwt or reject"

// ParseRules parses connection rules in pg_hba.conf syntax, one rule per
// string:
//
//	local     DATABASE USER METHOD
//	host      DATABASE USER ADDRESS METHOD
//	hostssl   DATABASE USER ADDRESS METHOD
//	hostnossl DATABASE USER ADDRESS METHOD
//
// DATABASE and USER are "all" or comma-separated lists of names, and USER
// entries may be "+role" for a pgkeep role (user, service, dba or system).
// ADDRESS is "all", "loopback" or a CIDR prefix such as 10.0.0.0/8 or
// ::1/128. METHOD is trust, scram-sha-256, password, jwt or reject. A name in
// double quotes is taken literally, so "all" in quotes names a database or
// user called all. Text from an unquoted # to the end is a comment.
//
// An error has SQLSTATE F0000 and names the 1-based rule number and the
// invalid field.
func ParseRules(lines []string) ([]Rule, error) {
	rules := make([]Rule, 0, len(lines))
	for i, line := range lines {
		rule, err := parseRule(line)
		if err != nil {
			return nil, pgerror.Newf(pgcode.ConfigFileError, "rule %d: %s", i+1, err.Error())
		}
		rule.Number = i + 1
		rules = append(rules, rule)
	}
	return rules, nil
}

// ruleToken is one comma-separated item of a rule field.
type ruleToken struct {
	text   string
	quoted bool
}

// ruleSyntaxError is a parse problem within one rule. ParseRules adds the
// rule number and the SQLSTATE.
type ruleSyntaxError string

func (e ruleSyntaxError) Error() string { return string(e) }

func ruleErrorf(format string, args ...any) error {
	return ruleSyntaxError(fmt.Sprintf(format, args...))
}

func parseRule(line string) (Rule, error) {
	fields, err := splitRuleFields(line)
	if err != nil {
		return Rule{}, err
	}
	if len(fields) == 0 {
		return Rule{}, ruleErrorf("empty rule: expected a connection type, database, user, address and method")
	}

	var rule Rule
	typeField := fields[0]
	if len(typeField) != 1 || typeField[0].quoted {
		return Rule{}, ruleErrorf("invalid connection type %s: use local, host, hostssl or hostnossl", quoteField(typeField))
	}
	rule.Type = parseConnType(typeField[0].text)
	if rule.Type == 0 {
		return Rule{}, ruleErrorf("invalid connection type %q: use local, host, hostssl or hostnossl", typeField[0].text)
	}

	names := []string{"database", "user", "address", "method"}
	if rule.Type == ConnLocal {
		names = []string{"database", "user", "method"}
	}
	for i, name := range names {
		if len(fields) <= i+1 {
			return Rule{}, ruleErrorf("missing %s", name)
		}
	}
	if len(fields) > len(names)+1 {
		return Rule{}, ruleErrorf("unexpected field %s after the method: rules take no options", quoteField(fields[len(names)+1]))
	}

	if err := rule.parseDatabases(fields[1]); err != nil {
		return Rule{}, err
	}
	if err := rule.parseUsers(fields[2]); err != nil {
		return Rule{}, err
	}
	methodField := fields[3]
	if rule.Type != ConnLocal {
		if rule.Address, err = parseAddressField(fields[3]); err != nil {
			return Rule{}, err
		}
		methodField = fields[4]
	}
	if len(methodField) != 1 || methodField[0].quoted || !slices.Contains(ruleMethods, methodField[0].text) {
		return Rule{}, ruleErrorf("invalid method %s: use %s", quoteField(methodField), ruleMethodsHint)
	}
	rule.Method = methodField[0].text
	return rule, nil
}

func parseConnType(s string) ConnType {
	for t := ConnLocal; t <= ConnHostNoSSL; t++ {
		if s == connTypeNames[t] {
			return t
		}
	}
	return 0
}

func (r *Rule) parseDatabases(field []ruleToken) error {
	for _, tok := range field {
		if !tok.quoted {
			switch tok.text {
			case "all":
				r.AllDatabases = true
				continue
			case "sameuser", "samerole", "samegroup", "replication":
				return ruleErrorf("invalid database %q: the keyword %s is not supported; use all or database names", tok.text, tok.text)
			}
			if strings.HasPrefix(tok.text, "@") {
				return ruleErrorf("invalid database %q: file inclusion with @ is not supported", tok.text)
			}
		}
		if tok.text == "" {
			return ruleErrorf("invalid database: empty name")
		}
		r.Databases = append(r.Databases, tok.text)
	}
	return nil
}

func (r *Rule) parseUsers(field []ruleToken) error {
	for _, tok := range field {
		if !tok.quoted {
			switch {
			case tok.text == "all":
				r.AllUsers = true
				continue
			case strings.HasPrefix(tok.text, "+"):
				role, err := ParseRole(tok.text[1:])
				if err != nil {
					return ruleErrorf("invalid role %q: use +user, +service, +dba or +system", tok.text)
				}
				if !slices.Contains(r.Roles, role) {
					r.Roles = append(r.Roles, role)
				}
				continue
			case strings.HasPrefix(tok.text, "@"):
				return ruleErrorf("invalid user %q: file inclusion with @ is not supported", tok.text)
			}
		}
		if tok.text == "" {
			return ruleErrorf("invalid user: empty name")
		}
		r.Users = append(r.Users, tok.text)
	}
	return nil
}

func parseAddressField(field []ruleToken) (AddressMatch, error) {
	if len(field) != 1 || field[0].quoted {
		return AddressMatch{}, ruleErrorf("invalid address %s: use one CIDR prefix such as 10.0.0.0/8, all or loopback", quoteField(field))
	}
	text := field[0].text
	switch text {
	case "all":
		return AddressMatch{Kind: AddressAll}, nil
	case "loopback":
		return AddressMatch{Kind: AddressLoopback}, nil
	case "samehost", "samenet":
		return AddressMatch{}, ruleErrorf("invalid address %q: the keyword %s is not supported; use a CIDR prefix, all or loopback", text, text)
	}
	prefix, err := netip.ParsePrefix(text)
	if err != nil {
		return AddressMatch{}, ruleErrorf("invalid address %q: use a CIDR prefix such as 10.0.0.0/8 or ::1/128, all or loopback", text)
	}
	return AddressMatch{Kind: AddressPrefix, Prefix: prefix.Masked()}, nil
}

// splitRuleFields splits a rule into whitespace-separated fields, each a list
// of comma-separated tokens. A comma at the end of a word continues the list
// in the next word, so "a, b" is one field, as in pg_hba.conf.
func splitRuleFields(line string) ([][]ruleToken, error) {
	var fields [][]ruleToken
	var field []ruleToken
	var text strings.Builder
	inToken := false    // a token has started, possibly with an empty "" part
	quoted := false     // the current token contains a quoted part
	afterComma := false // the last token ended with a comma

	endToken := func() {
		field = append(field, ruleToken{text: text.String(), quoted: quoted})
		text.Reset()
		inToken, quoted = false, false
	}

scan:
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch c {
		case '#':
			break scan
		case ' ', '\t', '\r', '\n':
			if inToken {
				endToken()
				fields = append(fields, field)
				field = nil
			}
		case ',':
			if !inToken {
				return nil, ruleErrorf("empty item in a comma-separated list")
			}
			endToken()
			afterComma = true
		case '"':
			end := strings.IndexByte(line[i+1:], '"')
			if end < 0 {
				return nil, ruleErrorf("unterminated double quote")
			}
			text.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inToken, quoted, afterComma = true, true, false
		default:
			text.WriteByte(c)
			inToken, afterComma = true, false
		}
	}

	if afterComma && !inToken {
		return nil, ruleErrorf("comma at the end of a list")
	}
	if inToken {
		endToken()
	}
	if len(field) > 0 {
		fields = append(fields, field)
	}
	return fields, nil
}

// quoteField renders a parsed field for an error message.
func quoteField(field []ruleToken) string {
	parts := make([]string, len(field))
	for i, tok := range field {
		parts[i] = tok.text
	}
	return strconv.Quote(strings.Join(parts, ","))
}

// validate checks a Rule built in code. ParseRules only returns valid rules.
func (r *Rule) validate() error {
	if r.Type < ConnLocal || r.Type > ConnHostNoSSL {
		return pgerror.Newf(pgcode.InvalidParameterValue, "rule %d: invalid connection type %d", r.Number, int(r.Type))
	}
	if !slices.Contains(ruleMethods, r.Method) {
		return pgerror.Newf(pgcode.InvalidParameterValue, "rule %d: invalid method %q: use %s",
			r.Number, r.Method, ruleMethodsHint)
	}
	if r.Type == ConnLocal {
		if r.Address.Kind != AddressNone {
			return pgerror.Newf(pgcode.InvalidParameterValue, "rule %d: a local rule has no address", r.Number)
		}
	} else if r.Address.Kind == AddressNone || (r.Address.Kind == AddressPrefix && !r.Address.Prefix.IsValid()) {
		return pgerror.Newf(pgcode.InvalidParameterValue, "rule %d: missing address", r.Number)
	}
	for _, role := range r.Roles {
		if !role.valid() {
			return pgerror.Newf(pgcode.InvalidParameterValue, "rule %d: invalid role %s", r.Number, role)
		}
	}
	return nil
}

// matches reports whether the rule applies to the connection. role is the
// stored role of the user, and zero for an unknown user.
func (r *Rule) matches(ci ConnInfo, clientIP netip.Addr, role Role) bool {
	switch r.Type {
	case ConnLocal:
		if ci.Source != SourceLocal {
			return false
		}
	case ConnHost, ConnHostSSL, ConnHostNoSSL:
		if ci.Source == SourceLocal {
			return false
		}
		if r.Type == ConnHostSSL && !ci.TLS || r.Type == ConnHostNoSSL && ci.TLS {
			return false
		}
		if !r.matchesAddress(ci.Source, clientIP) {
			return false
		}
	default:
		return false
	}

	if !r.AllDatabases && !slices.Contains(r.Databases, ci.Database) {
		return false
	}
	if r.AllUsers || slices.Contains(r.Users, ci.User) {
		return true
	}
	return role != 0 && slices.Contains(r.Roles, role)
}

func (r *Rule) matchesAddress(source Source, clientIP netip.Addr) bool {
	switch r.Address.Kind {
	case AddressAll:
		return true
	case AddressLoopback:
		// The Source, not the address, decides, because the server alone sets
		// it and it is what the default rules and the throttle exemption use.
		return source == SourceLoopback
	case AddressPrefix:
		return clientIP.IsValid() && r.Address.Prefix.Contains(clientIP)
	}
	return false
}

// clientIP returns the IP address of a TCP connection from ConnInfo.RemoteAddr
// ("ip:port" or a bare IP), with IPv4-mapped IPv6 addresses unmapped. It
// returns the zero Addr for a unix socket or an address it cannot parse.
func clientIP(ci ConnInfo) netip.Addr {
	if ci.Source == SourceLocal {
		return netip.Addr{}
	}
	if ap, err := netip.ParseAddrPort(ci.RemoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if ip, err := netip.ParseAddr(ci.RemoteAddr); err == nil {
		return ip.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// clientHost returns the client host as the no-match error shows it:
// "[local]" for a unix socket, else the IP address without the port.
func clientHost(ci ConnInfo, ip netip.Addr) string {
	if ci.Source == SourceLocal {
		return "[local]"
	}
	if ip.IsValid() {
		return ip.String()
	}
	return ci.RemoteAddr
}

// defaultRules are the rules used when Config.Rules is empty: every
// connection gets method. Authenticate trusts internal users on local and
// loopback connections before it consults them.
func defaultRules(method string) []Rule {
	return []Rule{
		{Number: 1, Type: ConnLocal, AllDatabases: true, AllUsers: true, Method: method},
		{Number: 2, Type: ConnHost, AllDatabases: true, AllUsers: true, Address: AddressMatch{Kind: AddressAll}, Method: method},
	}
}

// requestsJWT reports whether the startup parameter options contains the
// setting pgkeep.auth=jwt, given as "-c pgkeep.auth=jwt", "-cpgkeep.auth=jwt"
// or "--pgkeep.auth=jwt" among other settings. The words are split on
// whitespace as the executor splits them when it applies the other settings.
// Values other than jwt leave the default method.
func requestsJWT(params map[string]string) bool {
	words := strings.Fields(params["options"])
	for i := 0; i < len(words); i++ {
		var setting string
		switch word := words[i]; {
		case word == "-c" && i+1 < len(words):
			i++
			setting = words[i]
		case strings.HasPrefix(word, "--"):
			setting = word[2:]
		case strings.HasPrefix(word, "-c"):
			setting = word[2:]
		default:
			continue
		}
		name, value, _ := strings.Cut(setting, "=")
		if strings.EqualFold(name, "pgkeep.auth") && strings.EqualFold(value, MethodJWT) {
			return true
		}
	}
	return false
}
