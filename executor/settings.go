package executor

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// setting describes one session parameter.
type setting struct {
	// name is the canonical spelling, as SHOW ALL and ParameterStatus use it.
	name string
	def  string
	// report marks parameters sent to the client in ParameterStatus when
	// they change (GUC_REPORT in PostgreSQL).
	report bool
	// readOnly parameters cannot be changed by SET.
	readOnly bool
	// normalize validates a new value and returns its canonical form.
	normalize func(string) (string, error)
}

var settingDefs = []setting{
	{name: "application_name", report: true},
	{name: "client_encoding", def: "UTF8", report: true, normalize: normalizeEncoding},
	{name: "DateStyle", def: "ISO, MDY", report: true, normalize: normalizeDateStyle},
	{name: "default_transaction_isolation", def: "read committed", normalize: normalizeIsolation},
	{name: "default_transaction_read_only", def: "off", report: true, normalize: normalizeBool},
	{name: "extra_float_digits", def: "1", normalize: normalizeExtraFloatDigits},
	{name: "in_hot_standby", def: "off", report: true, readOnly: true},
	{name: "integer_datetimes", def: "on", report: true, readOnly: true},
	{name: "IntervalStyle", def: "postgres", report: true, normalize: normalizeIntervalStyle},
	{name: "is_superuser", def: "off", report: true, readOnly: true},
	{name: "search_path", def: `"$user", public`},
	{name: "server_encoding", def: "UTF8", report: true, readOnly: true},
	{name: "server_version", def: ServerVersion, report: true, readOnly: true},
	{name: "server_version_num", def: "160004", readOnly: true},
	{name: "session_authorization", report: true, readOnly: true},
	{name: "standard_conforming_strings", def: "on", report: true, normalize: normalizeStandardStrings},
	{name: "statement_timeout", def: "0", normalize: normalizeDuration},
	{name: "idle_in_transaction_session_timeout", def: "0", normalize: normalizeDuration},
	{name: "lock_timeout", def: "0", normalize: normalizeDuration},
	{name: "TimeZone", def: "UTC", report: true, normalize: normalizeTimeZone},
	{name: "transaction_isolation", def: "read committed", normalize: normalizeIsolation},
	{name: "transaction_read_only", def: "off", normalize: normalizeBool},
	{name: "max_identifier_length", def: "63", readOnly: true},
	// pgjdbc reads max_index_keys to bound the key positions of
	// getImportedKeys and getExportedKeys.
	{name: "max_index_keys", def: "32", readOnly: true},
	{name: "default_text_search_config", def: "pg_catalog.english"},
	{name: "bytea_output", def: "hex", normalize: normalizeByteaOutput},
	{name: "row_security", def: "on", normalize: normalizeBool},
	{name: "synchronous_commit", def: "on"},
	{name: "lc_messages", def: "C"},
	{name: "lc_monetary", def: "C"},
	{name: "lc_numeric", def: "C"},
	{name: "lc_time", def: "C"},
	{name: "client_min_messages", def: "notice"},
	// psql's \password reads it to choose how to hash the new password.
	{name: "password_encryption", def: "scram-sha-256", normalize: normalizePasswordEncryption},

	// Planner, memory and behaviour settings that applications and tools
	// set, which pgkeep accepts with PostgreSQL 15's defaults and ignores.
	{name: "array_nulls", def: "on", normalize: normalizeBool},
	{name: "backslash_quote", def: "safe_encoding"},
	{name: "check_function_bodies", def: "on", normalize: normalizeBool},
	{name: "constraint_exclusion", def: "partition"},
	{name: "cursor_tuple_fraction", def: "0.1"},
	{name: "deadlock_timeout", def: "1s"},
	{name: "default_tablespace", def: ""},
	{name: "effective_cache_size", def: "4GB"},
	{name: "effective_io_concurrency", def: "1"},
	{name: "enable_bitmapscan", def: "on", normalize: normalizeBool},
	{name: "enable_hashjoin", def: "on", normalize: normalizeBool},
	{name: "enable_indexscan", def: "on", normalize: normalizeBool},
	{name: "enable_mergejoin", def: "on", normalize: normalizeBool},
	{name: "enable_nestloop", def: "on", normalize: normalizeBool},
	{name: "enable_partition_pruning", def: "on", normalize: normalizeBool},
	{name: "enable_seqscan", def: "on", normalize: normalizeBool},
	{name: "enable_sort", def: "on", normalize: normalizeBool},
	{name: "escape_string_warning", def: "on", normalize: normalizeBool},
	{name: "from_collapse_limit", def: "8"},
	{name: "geqo", def: "on", normalize: normalizeBool},
	{name: "gin_pending_list_limit", def: "4MB"},
	{name: "idle_session_timeout", def: "0"},
	{name: "jit", def: "on", normalize: normalizeBool},
	{name: "join_collapse_limit", def: "8"},
	{name: "maintenance_work_mem", def: "64MB"},
	{name: "max_parallel_workers_per_gather", def: "2"},
	{name: "max_stack_depth", def: "2MB"},
	{name: "parallel_setup_cost", def: "1000"},
	{name: "plan_cache_mode", def: "auto"},
	{name: "quote_all_identifiers", def: "off", normalize: normalizeBool},
	{name: "random_page_cost", def: "4"},
	{name: "seq_page_cost", def: "1"},
	{name: "session_replication_role", def: "origin"},
	{name: "temp_buffers", def: "8MB"},
	{name: "temp_tablespaces", def: ""},
	{name: "trace_sort", def: "off", normalize: normalizeBool},
	{name: "vacuum_cost_delay", def: "0"},
	{name: "work_mem", def: "4MB"},
	{name: "xmloption", def: "content"},
}

var settingsByName = func() map[string]*setting {
	m := make(map[string]*setting, len(settingDefs))
	for i := range settingDefs {
		m[strings.ToLower(settingDefs[i].name)] = &settingDefs[i]
	}
	return m
}()

// settings holds a session's parameter values by canonical name.
type settings struct {
	values map[string]string
}

func newSettings(timeZone string) *settings {
	s := &settings{values: make(map[string]string, len(settingDefs))}
	for _, d := range settingDefs {
		s.values[d.name] = d.def
	}
	s.values["TimeZone"] = timeZone
	return s
}

func lookupSetting(name string) (*setting, error) {
	d, ok := settingsByName[strings.ToLower(name)]
	if !ok {
		return nil, pgerror.Newf(pgcode.UndefinedObject, "unrecognized configuration parameter %q", name)
	}
	return d, nil
}

// set validates and stores a value. It returns the canonical name.
func (s *settings) set(name, value string) error {
	d, err := lookupSetting(name)
	if err != nil {
		return err
	}
	if d.readOnly {
		return pgerror.Newf(pgcode.CantChangeRuntimeParam, "parameter %q cannot be changed", d.name)
	}
	if d.normalize != nil {
		if value, err = d.normalize(value); err != nil {
			return err
		}
	}
	s.values[d.name] = value
	return nil
}

func (s *settings) get(name string) (string, *setting, error) {
	d, err := lookupSetting(name)
	if err != nil {
		return "", nil, err
	}
	return s.values[d.name], d, nil
}

func (s *settings) reset(name string) error {
	d, err := lookupSetting(name)
	if err != nil {
		return err
	}
	if d.readOnly {
		return pgerror.Newf(pgcode.CantChangeRuntimeParam, "parameter %q cannot be changed", d.name)
	}
	s.values[d.name] = d.def
	return nil
}

// reported returns the ParameterStatus values sent at startup, by name.
func (s *settings) reported() []ParameterStatus {
	var out []ParameterStatus
	for _, d := range settingDefs {
		if d.report {
			out = append(out, ParameterStatus{Name: d.name, Value: s.values[d.name]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func invalidValue(name, value string) *pgerror.Error {
	return pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for parameter %q: %q", name, value)
}

func normalizeEncoding(v string) (string, error) {
	switch strings.ToUpper(strings.ReplaceAll(v, "-", "")) {
	case "UTF8", "UNICODE":
		return "UTF8", nil
	case "SQL_ASCII":
		return "SQL_ASCII", nil
	}
	return "", pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for parameter \"client_encoding\": %q", v).
		WithDetail("pgkeep supports only the UTF8 client encoding.")
}

// normalizeDateStyle accepts the output styles and orders PostgreSQL
// knows; only ISO output is implemented.
func normalizeDateStyle(v string) (string, error) {
	style, order := "ISO", "MDY"
	for _, part := range strings.Split(v, ",") {
		switch strings.ToUpper(strings.TrimSpace(part)) {
		case "ISO":
			style = "ISO"
		case "MDY", "US", "NONEURO", "NONEUROPEAN":
			order = "MDY"
		case "DMY", "EURO", "EUROPEAN":
			order = "DMY"
		case "YMD":
			order = "YMD"
		case "SQL", "POSTGRES", "GERMAN":
			return "", pgerror.Newf(pgcode.FeatureNotSupported, "DateStyle %q is not supported", strings.TrimSpace(part)).
				WithHint("Use DateStyle ISO.")
		case "":
		default:
			return "", invalidValue("DateStyle", v)
		}
	}
	return style + ", " + order, nil
}

func normalizeIsolation(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "read committed", "read uncommitted":
		return "read committed", nil
	case "repeatable read":
		return "repeatable read", nil
	case "serializable":
		return "serializable", nil
	}
	return "", invalidValue("transaction_isolation", v)
}

func normalizeBool(v string) (string, error) {
	b, err := parseBool(v)
	if err != nil {
		return "", pgerror.Newf(pgcode.InvalidParameterValue, "parameter requires a Boolean value")
	}
	return boolSetting(b.(bool)), nil
}

func normalizeExtraFloatDigits(v string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < -15 || n > 3 {
		return "", invalidValue("extra_float_digits", v)
	}
	return strconv.Itoa(n), nil
}

func normalizeIntervalStyle(v string) (string, error) {
	if strings.EqualFold(strings.TrimSpace(v), "postgres") {
		return "postgres", nil
	}
	return "", pgerror.Newf(pgcode.FeatureNotSupported, "IntervalStyle %q is not supported", v)
}

func normalizeStandardStrings(v string) (string, error) {
	b, err := normalizeBool(v)
	if err != nil {
		return "", err
	}
	if b != "on" {
		return "", pgerror.Newf(pgcode.FeatureNotSupported, "standard_conforming_strings = off is not supported")
	}
	return b, nil
}

// normalizeDuration accepts a number of milliseconds or a number with a
// unit (ms, s, min, h, d) and stores milliseconds.
func normalizeDuration(v string) (string, error) {
	ms, err := parseDurationMillis(v)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(ms, 10), nil
}

func parseDurationMillis(v string) (int64, error) {
	t := strings.TrimSpace(v)
	units := []struct {
		suffix string
		ms     float64
	}{{"ms", 1}, {"min", 60000}, {"s", 1000}, {"h", 3600000}, {"d", 86400000}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			mult = u.ms
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for a duration: %q", v)
	}
	return int64(f * mult), nil
}

func normalizeTimeZone(v string) (string, error) {
	_, canonical, ok := resolveZoneName(strings.TrimSpace(v))
	if !ok {
		return "", pgerror.Newf(pgcode.InvalidParameterValue, "invalid value for parameter \"TimeZone\": %q", v)
	}
	return canonical, nil
}

// normalizePasswordEncryption accepts only scram-sha-256: pgkeep stores no
// MD5 hashes.
func normalizePasswordEncryption(v string) (string, error) {
	if strings.EqualFold(strings.TrimSpace(v), "scram-sha-256") {
		return "scram-sha-256", nil
	}
	return "", pgerror.Newf(pgcode.FeatureNotSupported, "password_encryption %q is not supported", v).
		WithHint("pgkeep stores passwords as SCRAM-SHA-256 verifiers only.")
}

func normalizeByteaOutput(v string) (string, error) {
	if strings.EqualFold(strings.TrimSpace(v), "hex") {
		return "hex", nil
	}
	return "", pgerror.Newf(pgcode.FeatureNotSupported, "bytea_output %q is not supported", v)
}
