package security

// Exchange is the client side of an authentication conversation, implemented
// by the server over the wire. Authenticate calls its methods in protocol
// order and never concurrently.
//
// Authenticate returns an error from Exchange unchanged when it is a
// *pgerror.Error. It wraps any other error, such as io.EOF from a closed
// connection, with SQLSTATE 08P01 and keeps it reachable through errors.Is.
type Exchange interface {
	// RequestPassword sends AuthenticationCleartextPassword and returns the
	// PasswordMessage text.
	RequestPassword() (string, error)
	// StartSASL sends AuthenticationSASL with mechanisms and returns the
	// chosen mechanism and the client-first message. clientFirst is nil when
	// the SASLInitialResponse carried no initial response (data length -1).
	// Authenticate then sends an empty AuthenticationSASLContinue and reads
	// the client-first message from the next SASLResponse, as PostgreSQL does.
	StartSASL(mechanisms []string) (mechanism string, clientFirst []byte, err error)
	// ContinueSASL sends AuthenticationSASLContinue with data and returns the
	// client's next SASLResponse data.
	ContinueSASL(data []byte) ([]byte, error)
	// FinishSASL sends AuthenticationSASLFinal with data.
	FinishSASL(data []byte) error
}
