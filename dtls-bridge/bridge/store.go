package bridge

import (
	"encoding/hex"
	"sync"
	"time"

	"github.com/pion/dtls/v2"
)

// SessionStore is an in-memory pion dtls.SessionStore (RFC 5246 §7.4.1.2 session-ID
// resumption) that also remembers when each session ID was first stored. pion does not say
// whether a handshake was abbreviated; a session ID that was stored before the handshake
// began can only have been reused, so that is how the bridge reports "resumed".
type SessionStore struct {
	mu        sync.Mutex
	sessions  map[string]dtls.Session
	firstSeen map[string]time.Time
}

// NewSessionStore returns an empty store.
func NewSessionStore() *SessionStore {
	return &SessionStore{sessions: map[string]dtls.Session{}, firstSeen: map[string]time.Time{}}
}

// Set implements dtls.SessionStore.
func (s *SessionStore) Set(key []byte, session dtls.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[string(key)] = session
	id := hex.EncodeToString(session.ID)
	if _, known := s.firstSeen[id]; !known {
		s.firstSeen[id] = time.Now()
	}
	return nil
}

// Get implements dtls.SessionStore; a miss is an empty Session, as pion expects.
func (s *SessionStore) Get(key []byte) (dtls.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[string(key)], nil
}

// Del implements dtls.SessionStore.
func (s *SessionStore) Del(key []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, string(key))
	return nil
}

// StoredBefore reports whether session id was first stored before t.
func (s *SessionStore) StoredBefore(id []byte, t time.Time) bool {
	if s == nil || len(id) == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen, known := s.firstSeen[hex.EncodeToString(id)]
	return known && seen.Before(t)
}

// Len is the number of stored sessions (for stats).
func (s *SessionStore) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}
