package bridge

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/logging"
)

// LogLevel orders log verbosity for stderr; pion's own levels map onto it.
type LogLevel int

// Log levels, least to most verbose.
const (
	LogError LogLevel = iota
	LogWarn
	LogInfo
	LogDebug
	LogTrace
)

// ParseLogLevel reads the --log-level flag.
func ParseLogLevel(name string) (LogLevel, error) {
	levels := map[string]LogLevel{"error": LogError, "warn": LogWarn, "info": LogInfo, "debug": LogDebug, "trace": LogTrace}
	level, ok := levels[name]
	if !ok {
		return 0, fmt.Errorf("dtls-bridge: unknown --log-level %q; use error, warn, info, debug or trace", name)
	}
	return level, nil
}

// Logger writes prefixed lines to stderr (never stdout, which carries only events).
type Logger struct {
	mu    sync.Mutex
	out   io.Writer
	level LogLevel
}

// NewLogger returns a Logger writing lines at or below level to out.
func NewLogger(out io.Writer, level LogLevel) *Logger {
	return &Logger{out: out, level: level}
}

// Logf writes one line if level is enabled.
func (l *Logger) Logf(level LogLevel, format string, args ...interface{}) {
	if l == nil || level > l.level {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.out, "dtls-bridge: %s\n", strings.TrimRight(msg, "\n"))
}

// connLogs is the pion LoggerFactory given to one connection. Besides forwarding pion's
// messages to stderr it counts records pion discarded because they failed to decrypt: pion
// drops them silently (RFC 6347 §4.1.2.7) and the handshake then just times out, so that count
// is the only sign that the peers derived different keys, i.e. hold different PSKs.
type connLogs struct {
	log             *Logger
	prefix          string
	decryptFailures int32
}

func newConnLogs(log *Logger, prefix string) *connLogs {
	return &connLogs{log: log, prefix: prefix}
}

// NewLogger implements logging.LoggerFactory.
func (c *connLogs) NewLogger(scope string) logging.LeveledLogger {
	return &pionLogger{conn: c, scope: scope}
}

func (c *connLogs) DecryptFailures() int {
	return int(atomic.LoadInt32(&c.decryptFailures))
}

type pionLogger struct {
	conn  *connLogs
	scope string
}

func (p *pionLogger) logf(level LogLevel, format string, args ...interface{}) {
	// pion logs "%s: decrypt failed: %s"; match the format so disabled levels cost nothing.
	if strings.Contains(format, "decrypt failed") {
		atomic.AddInt32(&p.conn.decryptFailures, 1)
	}
	if p.conn.log == nil || level > p.conn.log.level {
		return
	}
	p.conn.log.Logf(level, "%s pion/%s: %s", p.conn.prefix, p.scope, fmt.Sprintf(format, args...))
}

func (p *pionLogger) Trace(msg string)                          { p.logf(LogTrace, "%s", msg) }
func (p *pionLogger) Tracef(format string, args ...interface{}) { p.logf(LogTrace, format, args...) }
func (p *pionLogger) Debug(msg string)                          { p.logf(LogDebug, "%s", msg) }
func (p *pionLogger) Debugf(format string, args ...interface{}) { p.logf(LogDebug, format, args...) }
func (p *pionLogger) Info(msg string)                           { p.logf(LogInfo, "%s", msg) }
func (p *pionLogger) Infof(format string, args ...interface{})  { p.logf(LogInfo, format, args...) }
func (p *pionLogger) Warn(msg string)                           { p.logf(LogWarn, "%s", msg) }
func (p *pionLogger) Warnf(format string, args ...interface{})  { p.logf(LogWarn, format, args...) }
func (p *pionLogger) Error(msg string)                          { p.logf(LogError, "%s", msg) }
func (p *pionLogger) Errorf(format string, args ...interface{}) { p.logf(LogError, format, args...) }
