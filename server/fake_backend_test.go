package server

import (
	"bytes"
	"context"
	"strings"
	"sync"

	"github.com/xdg-go/scram"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
	"github.com/pgkeep/pgkeep/security"
)

// Users of fakeBackend. Any other user is trusted.
const (
	passwordUser   = "pwuser"    // cleartext password testPassword
	scramUser      = "scramuser" // SCRAM-SHA-256 with testPassword
	noDatabaseUser = "nodbuser"  // trusted, but NewSession fails with 3D000
	panicUser      = "panicuser" // Authenticate panics
	testPassword   = "s3cret-pw"
)

// fakeBackend authenticates the users above and creates fakeSessions. It
// records every ConnInfo and SessionInfo it receives.
type fakeBackend struct {
	scramCreds scram.StoredCredentials

	mu struct {
		sync.Mutex
		connInfos    []security.ConnInfo
		sessionInfos []SessionInfo
		sessions     []*fakeSession
	}
}

func newFakeBackend() *fakeBackend {
	client, err := scram.SHA256.NewClient(scramUser, testPassword, "")
	if err != nil {
		panic(err)
	}
	return &fakeBackend{
		scramCreds: client.GetStoredCredentials(scram.KeyFactors{Salt: "fixed-test-salt", Iters: 4096}),
	}
}

func (b *fakeBackend) Authenticate(ctx context.Context, ci security.ConnInfo, ex security.Exchange) (security.Result, error) {
	b.mu.Lock()
	b.mu.connInfos = append(b.mu.connInfos, ci)
	b.mu.Unlock()

	switch ci.User {
	case passwordUser:
		pw, err := ex.RequestPassword()
		if err != nil {
			return security.Result{Method: security.MethodPassword, Reason: err.Error()}, err
		}
		if pw != testPassword {
			return security.Result{Method: security.MethodPassword, Reason: security.ReasonWrongPassword},
				authFailed(ci.User)
		}
		return security.Result{Method: security.MethodPassword}, nil
	case scramUser:
		return b.runSCRAM(ci, ex)
	case panicUser:
		panic("fake authentication panic")
	default:
		return security.Result{Method: security.MethodTrust}, nil
	}
}

func authFailed(user string) error {
	return pgerror.Newf(pgcode.InvalidPassword, "password authentication failed for user \"%s\"", user).
		WithSeverity(pgerror.SeverityFatal)
}

func (b *fakeBackend) runSCRAM(ci security.ConnInfo, ex security.Exchange) (security.Result, error) {
	result := security.Result{Method: security.MethodSCRAMSHA256}
	server, err := scram.SHA256.NewServer(func(string) (scram.StoredCredentials, error) {
		return b.scramCreds, nil
	})
	if err != nil {
		return result, err
	}
	conv := server.NewConversation()

	mechanism, clientFirst, err := ex.StartSASL([]string{"SCRAM-SHA-256"})
	if err != nil {
		return result, err
	}
	if mechanism != "SCRAM-SHA-256" {
		return result, pgerror.New(pgcode.ProtocolViolation, "unsupported SASL mechanism")
	}
	serverFirst, err := conv.Step(string(clientFirst))
	if err != nil {
		return result, authFailed(ci.User)
	}
	clientFinal, err := ex.ContinueSASL([]byte(serverFirst))
	if err != nil {
		return result, err
	}
	serverFinal, err := conv.Step(string(clientFinal))
	if err != nil || !conv.Valid() {
		return result, authFailed(ci.User)
	}
	return result, ex.FinishSASL([]byte(serverFinal))
}

func (b *fakeBackend) NewSession(ctx context.Context, info SessionInfo) (protocol.Session, []ParameterStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mu.sessionInfos = append(b.mu.sessionInfos, info)

	if info.User == noDatabaseUser {
		return nil, nil, pgerror.Newf(pgcode.UndefinedDatabase, "database \"%s\" does not exist", info.Database).
			WithSeverity(pgerror.SeverityFatal)
	}
	sess := &fakeSession{}
	b.mu.sessions = append(b.mu.sessions, sess)
	return sess, []ParameterStatus{
		{Name: "server_version", Value: "15.0"},
		{Name: "server_encoding", Value: "UTF8"},
		{Name: "client_encoding", Value: "UTF8"},
		{Name: "DateStyle", Value: "ISO, MDY"},
		{Name: "integer_datetimes", Value: "on"},
		{Name: "standard_conforming_strings", Value: "on"},
		{Name: "session_authorization", Value: info.User},
	}, nil
}

func (b *fakeBackend) connInfos() []security.ConnInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]security.ConnInfo(nil), b.mu.connInfos...)
}

func (b *fakeBackend) lastSessionInfo() (SessionInfo, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.mu.sessionInfos) == 0 {
		return SessionInfo{}, false
	}
	return b.mu.sessionInfos[len(b.mu.sessionInfos)-1], true
}

// fakeSession runs simple queries: "sleep" waits until canceled, "begin"
// opens a transaction block, "fail" is an error, anything else completes
// with the tag "OK". Prepared statements have no parameters and no rows.
type fakeSession struct {
	mu struct {
		sync.Mutex
		status byte
		closed bool
	}
}

var _ protocol.Session = (*fakeSession)(nil)

func (s *fakeSession) ExecSimple(ctx context.Context, query string, sink protocol.ResultSink) error {
	return s.run(ctx, strings.TrimSpace(query), sink)
}

func (s *fakeSession) run(ctx context.Context, query string, sink protocol.ResultSink) error {
	switch query {
	case "sleep":
		<-ctx.Done()
		return pgerror.New(pgcode.QueryCanceled, "canceling statement due to user request")
	case "begin":
		s.mu.Lock()
		s.mu.status = 'T'
		s.mu.Unlock()
		return sink.Complete("BEGIN")
	case "fail":
		return pgerror.New(pgcode.DivisionByZero, "division by zero")
	default:
		return sink.Complete("OK")
	}
}

func (s *fakeSession) Prepare(ctx context.Context, query string, paramOIDs []uint32) (protocol.PreparedStatement, error) {
	return fakeStatement{query: strings.TrimSpace(query)}, nil
}

func (s *fakeSession) Bind(ctx context.Context, stmt protocol.PreparedStatement, params []any) (protocol.Portal, error) {
	return &fakePortal{sess: s, query: stmt.(fakeStatement).query}, nil
}

func (s *fakeSession) Sync(ctx context.Context) error { return nil }

func (s *fakeSession) TxnStatus() byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.status == 0 {
		return 'I'
	}
	return s.mu.status
}

func (s *fakeSession) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.closed = true
}

func (s *fakeSession) closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.closed
}

type fakeStatement struct{ query string }

func (fakeStatement) ParamOIDs() []uint32        { return nil }
func (fakeStatement) Columns() []protocol.Column { return nil }

type fakePortal struct {
	sess  *fakeSession
	query string
}

func (p *fakePortal) Columns() []protocol.Column { return nil }
func (p *fakePortal) Close()                     {}

func (p *fakePortal) Execute(ctx context.Context, sink protocol.ResultSink, maxRows int) (bool, error) {
	return false, p.sess.run(ctx, p.query, sink)
}

// syncBuffer is a log destination safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
