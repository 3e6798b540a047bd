package bridge

import (
	"encoding/json"
	"fmt"
)

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
}

// HandleCommand runs one control line and reports the outcome as events. It returns true
// when the command asks the bridge to shut down ({"cmd":"shutdown"}).
func HandleCommand(role Role, line []byte, events *Emitter) bool {
	var cmd Command
	if err := json.Unmarshal(line, &cmd); err != nil {
		events.Emit("error", Event{"scope": "control", "error": fmt.Sprintf("dtls-bridge: control line %q is not JSON: %v; send e.g. {\"cmd\":\"stats\"}", line, err)})
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
	case "shutdown":
		return true
	default:
		events.Emit("error", Event{"scope": "control", "error": fmt.Sprintf("dtls-bridge: unknown control command %q; use stats, close, reconnect or shutdown", cmd.Cmd)})
	}
	return false
}
