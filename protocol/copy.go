package protocol

import (
	"io"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// CopyIn sends CopyInResponse, flushes it so that a client waiting for it
// starts sending, and returns the reader of the client's data.
func (s *resultSink) CopyIn(format int16, columnFormats []int16) (io.Reader, error) {
	c := s.conn
	if err := c.send(&pgproto3.CopyInResponse{
		OverallFormat:     byte(format),
		ColumnFormatCodes: formatCodes(columnFormats),
	}); err != nil {
		return nil, err
	}
	if err := c.flush(); err != nil {
		return nil, err
	}
	return &copyInReader{conn: c}, nil
}

// CopyOut sends CopyOutResponse and returns the writer of CopyData
// messages.
func (s *resultSink) CopyOut(format int16, columnFormats []int16) (io.WriteCloser, error) {
	c := s.conn
	if err := c.send(&pgproto3.CopyOutResponse{
		OverallFormat:     byte(format),
		ColumnFormatCodes: formatCodes(columnFormats),
	}); err != nil {
		return nil, err
	}
	return &copyOutWriter{conn: c}, nil
}

func formatCodes(formats []int16) []uint16 {
	out := make([]uint16, len(formats))
	for i, f := range formats {
		out[i] = uint16(f)
	}
	return out
}

// copyInReader reads the CopyData messages of one COPY FROM STDIN straight
// from the connection, one message at a time, so a client may send its
// data before it has read CopyInResponse and the server never holds more
// than one message of it.
type copyInReader struct {
	conn *Conn
	// pending is the unread part of the current CopyData message. It
	// points into the receive buffer, which the next Receive reuses.
	pending []byte
	// err is returned once pending is empty: io.EOF after CopyDone, or the
	// error that ended the COPY.
	err error
}

func (r *copyInReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.receive()
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// receive reads the next message of the COPY and sets pending or err.
func (r *copyInReader) receive() {
	c := r.conn
	msg, err := c.backend.Receive()
	if err != nil {
		// The connection ends after the statement; see handleMessage.
		c.copyReceiveErr = err
		r.err = pgerror.Wrapf(err, pgcode.ConnectionFailure, "could not receive COPY data from the client")
		return
	}
	switch msg := msg.(type) {
	case *pgproto3.CopyData:
		r.pending = msg.Data
	case *pgproto3.CopyDone:
		r.err = io.EOF
	case *pgproto3.CopyFail:
		r.err = pgerror.Newf(pgcode.QueryCanceled, "COPY from stdin failed: %s", msg.Message)
	case *pgproto3.Flush, *pgproto3.Sync:
		// PostgreSQL skips both during COPY FROM STDIN, because a client
		// library may send them without knowing that its statement was a
		// COPY.
	default:
		r.err = pgerror.Newf(pgcode.ProtocolViolation, "unexpected message type 0x%02X during COPY from stdin", messageType(msg))
	}
}

// messageType returns the type byte of a frontend message.
func messageType(msg pgproto3.FrontendMessage) byte {
	buf, err := msg.Encode(nil)
	if err != nil || len(buf) == 0 {
		return 0
	}
	return buf[0]
}

// copyOutWriter sends the data of one COPY TO STDOUT.
type copyOutWriter struct {
	conn *Conn
}

// Write sends p as one CopyData message.
func (w *copyOutWriter) Write(p []byte) (int, error) {
	c := w.conn
	if c.writeErr != nil {
		return 0, c.writeErr
	}
	buf, start := beginMessage(c.wbuf, 'd')
	buf = append(buf, p...)
	c.wbuf = finishMessage(buf, start)
	if err := c.maybeFlush(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close sends CopyDone.
func (w *copyOutWriter) Close() error {
	return w.conn.send(&pgproto3.CopyDone{})
}
