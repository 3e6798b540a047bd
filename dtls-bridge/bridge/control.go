package bridge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// MaxControlLineBytes bounds one control line (without its newline). Commands are a few dozen
// bytes; the bound keeps a runaway writer from growing the bridge's memory. The TypeScript
// driver (emulators/dtls/dtls-bridge-process.ts) refuses to send a longer line.
const MaxControlLineBytes = 64 * 1024

// ReadControl runs control lines from in until end of input or {"cmd":"shutdown"}, and returns
// true for the latter. A line over MaxControlLineBytes is discarded up to its newline and
// reported as an error event naming the limit; a line that is not a command gets its own error
// event. Either way the next line is read as usual: one bad line never ends the control channel
// (a bufio.Scanner stops for good at its first over-long token, silently).
func ReadControl(role Role, in io.Reader, events *Emitter) bool {
	reader := bufio.NewReader(in)
	for {
		line, length, err := readBoundedLine(reader, MaxControlLineBytes)
		if length > MaxControlLineBytes {
			events.Emit("error", Event{"scope": "control", "limit": MaxControlLineBytes, "error": fmt.Sprintf(
				"dtls-bridge: control line of %d bytes is over the %d-byte (64 KiB) limit and was discarded; send one short JSON command per line, e.g. {\"cmd\":\"stats\"}",
				length, MaxControlLineBytes)})
		} else if line = bytes.TrimSpace(line); len(line) > 0 && HandleCommand(role, line, events) {
			return true
		}
		if err != nil { // io.EOF, or stdin closed under us
			return false
		}
	}
}

// readBoundedLine reads up to and including the next newline (or to end of input) and returns
// the line without it, and its length. Past max bytes it stops keeping the line but reads on to
// its end, so memory stays bounded and the next call starts at the next line.
func readBoundedLine(reader *bufio.Reader, max int) ([]byte, int, error) {
	var line []byte
	length := 0
	for {
		chunk, err := reader.ReadSlice('\n')
		if err == nil {
			chunk = chunk[:len(chunk)-1]
		}
		length += len(chunk)
		if length <= max {
			line = append(line, chunk...)
		}
		if err != bufio.ErrBufferFull {
			return line, length, err
		}
	}
}

// Role is what both modes offer the control channel.
type Role interface {
	Start() error
	Stats() Event
	ClosePeer(id uint32) error
	Close()
}

// Command is one control line on stdin, e.g. {"cmd":"stats"}, {"cmd":"reconnect"},
// {"cmd":"close","peerId":3}.
type Command struct {
	Cmd    string `json:"cmd"`
	PeerID uint32 `json:"peerId"`
	// Fleet mode's "open" (fleet.go): the session's PSK identity, or its certificate and key files.
	Identity string `json:"identity,omitempty"`
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
}

// SessionOpener is a role that opens DTLS sessions on command (fleet mode).
type SessionOpener interface {
	Open(cmd Command) error
}

// HandleCommand runs one control line and reports the outcome as events. It returns true
// when the command asks the bridge to shut down ({"cmd":"shutdown"}).
func HandleCommand(role Role, line []byte, events *Emitter) bool {
	var cmd Command
	if err := json.Unmarshal(line, &cmd); err != nil {
		events.Emit("error", Event{"scope": "control", "error": fmt.Sprintf("dtls-bridge: control line %q is not JSON: %v; send e.g. {\"cmd\":\"stats\"}", excerpt(line), err)})
		return false
	}
	switch cmd.Cmd {
	case "stats":
		events.Emit("stats", role.Stats())
	case "close":
		if err := role.ClosePeer(cmd.PeerID); err != nil {
			events.Emit("error", Event{"scope": "control", "error": err.Error()})
		}
	case "reconnect":
		client, ok := role.(*Client)
		if !ok {
			events.Emit("error", Event{"scope": "control", "error": "dtls-bridge: reconnect is a client-mode command"})
			return false
		}
		client.Reconnect()
	case "open":
		opener, ok := role.(SessionOpener)
		if !ok {
			events.Emit("error", Event{"scope": "control", "error": "dtls-bridge: open is a fleet-mode command (dtls-bridge fleet)"})
			return false
		}
		if err := opener.Open(cmd); err != nil {
			events.Emit("error", Event{"scope": "control", "peerId": cmd.PeerID, "error": err.Error()})
		}
	case "shutdown":
		return true
	default:
		events.Emit("error", Event{"scope": "control", "error": fmt.Sprintf("dtls-bridge: unknown control command %q; use stats, open, close, reconnect or shutdown", cmd.Cmd)})
	}
	return false
}

// excerpt keeps error events short: a malformed line can be up to MaxControlLineBytes long.
func excerpt(line []byte) string {
	const keep = 120
	if len(line) <= keep {
		return string(line)
	}
	return fmt.Sprintf("%s… (%d bytes)", line[:keep], len(line))
}
