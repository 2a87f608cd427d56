package apptest

import (
	"bytes"
	"sync"
)

// Log collects the app's log lines. Its writes come from the app's
// goroutines while the test reads it, so both sides take the lock; a bare
// bytes.Buffer here is a data race the race detector finds (and did, in CI).
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String is everything logged so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
