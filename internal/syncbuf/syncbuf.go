// Package syncbuf is a bytes.Buffer that one goroutine may write while
// another reads it: the log of an app, a child process or a served command
// that a test reads while they run. A bare bytes.Buffer there is a data
// race the race detector finds (and did, in CI).
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is safe for concurrent Write and String.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
