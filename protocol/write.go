package protocol

import (
	"encoding/binary"
	"log/slog"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgkeep/pgkeep/pgerror"
)

const (
	// initialWriteBufferSize is the starting capacity of the output buffer.
	initialWriteBufferSize = 8 << 10
	// flushThreshold is the buffered size at which the connection writes
	// before the next Sync or Flush, so a large result streams to the client
	// instead of piling up in memory.
	flushThreshold = 64 << 10
	// maxRetainedWriteBuffer is the largest output buffer kept between
	// flushes. A bigger one, grown by an unusually large message, is
	// released.
	maxRetainedWriteBuffer = 1 << 20
)

// NB: Conn writes through its own buffer instead of pgproto3.Backend.Send
// and Flush. Backend.Flush shrinks its buffer to 1 KiB after every flush, so
// each result set would grow it again, and Backend.Send defers encoding
// errors to the next Flush.

// send appends msg to the output buffer and writes the buffer once it
// passes flushThreshold.
func (c *Conn) send(msg pgproto3.BackendMessage) error {
	if c.writeErr != nil {
		return c.writeErr
	}
	buf, err := msg.Encode(c.wbuf)
	if err != nil {
		return pgerror.Internal("encoding %T: %v", msg, err)
	}
	c.wbuf = buf
	return c.maybeFlush()
}

func (c *Conn) maybeFlush() error {
	if len(c.wbuf) < flushThreshold {
		return nil
	}
	return c.flush()
}

// flush writes the buffered messages to the client.
func (c *Conn) flush() error {
	if c.writeErr != nil {
		return c.writeErr
	}
	if len(c.wbuf) == 0 {
		return nil
	}

	_, err := c.netConn.Write(c.wbuf)
	c.flushes++
	if cap(c.wbuf) > maxRetainedWriteBuffer {
		c.wbuf = make([]byte, 0, initialWriteBufferSize)
	} else {
		c.wbuf = c.wbuf[:0]
	}
	if err != nil {
		c.writeErr = err
	}
	return err
}

// sendError sends err as an ErrorResponse. It returns an error only when
// the connection must end: the write failed or err has severity FATAL.
func (c *Conn) sendError(err error) error {
	resp, coded := errorResponse(err)
	if !coded {
		c.logger.Error("error without SQLSTATE sent to the client as XX000",
			slog.String("error", err.Error()))
	}
	if sendErr := c.send(resp); sendErr != nil {
		return sendErr
	}
	if resp.Severity == pgerror.SeverityFatal {
		_ = c.flush()
		return err
	}
	return nil
}

// appendReadyForQuery appends ReadyForQuery with the session's transaction
// status. The caller flushes.
func (c *Conn) appendReadyForQuery() {
	c.wbuf = append(c.wbuf, 'Z', 0, 0, 0, 5, c.sess.TxnStatus())
}

// beginMessage appends a message header with a placeholder length and
// returns the offset of the message.
func beginMessage(buf []byte, typ byte) ([]byte, int) {
	start := len(buf)
	return append(buf, typ, 0, 0, 0, 0), start
}

// finishMessage fills in the length of the message that starts at start.
func finishMessage(buf []byte, start int) []byte {
	binary.BigEndian.PutUint32(buf[start+1:], uint32(len(buf)-start-1))
	return buf
}
