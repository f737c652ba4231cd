// Package keylog holds TLS session secrets from NSS key log files (SSLKEYLOGFILE)
// and pcapng Decryption Secrets Blocks, keyed by the ClientHello random.
package keylog

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// DefaultMaxEntries bounds a Log made with New(0): about 400 bytes each.
const DefaultMaxEntries = 200_000

// maxLine bounds one key log line; real lines are under 250 bytes.
const maxLine = 1024

// Secret is one logged secret (32 or 48 bytes; Len 0 means absent).
type Secret struct {
	Len uint8
	Buf [48]byte
}

// Bytes returns the secret, or nil when it was not logged.
func (s *Secret) Bytes() []byte {
	if s.Len == 0 {
		return nil
	}
	return s.Buf[:s.Len]
}

// Entry is everything logged for one client random.
type Entry struct {
	Master          Secret // CLIENT_RANDOM (TLS 1.2 and earlier master secret, 48 bytes)
	ClientHandshake Secret // CLIENT_HANDSHAKE_TRAFFIC_SECRET
	ServerHandshake Secret // SERVER_HANDSHAKE_TRAFFIC_SECRET
	ClientTraffic   Secret // CLIENT_TRAFFIC_SECRET_0
	ServerTraffic   Secret // SERVER_TRAFFIC_SECRET_0
	ClientEarly     Secret // CLIENT_EARLY_TRAFFIC_SECRET
}

// Stats counts what the log has parsed.
type Stats struct {
	Entries   int   // client randoms held
	Lines     int64 // lines parsed (comments and blank lines excluded)
	Ignored   int64 // well-formed lines with labels corscope does not use
	Malformed int64 // lines that could not be parsed
	Evicted   int64 // entries dropped because the cap was reached (oldest first)
}

type watched struct {
	path   string
	offset int64 // bytes consumed (through the last complete line)
}

// Log is a bounded, concurrency-safe set of TLS secrets. Lookups may run while
// another goroutine reloads a growing file.
type Log struct {
	mu      sync.RWMutex
	entries map[[32]byte]*Entry
	order   [][32]byte // insertion order, for eviction
	head    int        // first live element of order
	max     int
	stats   Stats
	files   []watched
	gen     atomic.Uint64

	// TLS 1.2 master secrets by session id or ticket digest, learnt from
	// decrypted connections: clients such as Go log no CLIENT_RANDOM line
	// for a resumed session.
	sessions     map[string][48]byte
	sessionOrder []string
}

// New returns an empty log holding at most maxEntries client randoms
// (DefaultMaxEntries when maxEntries <= 0); beyond that the oldest go first.
func New(maxEntries int) *Log {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &Log{entries: make(map[[32]byte]*Entry), max: maxEntries}
}

// Generation changes whenever secrets are added, so a decoder waiting for keys
// knows when a new lookup is worth it.
func (l *Log) Generation() uint64 { return l.gen.Load() }

// Growing reports whether a watched file may still add secrets (live capture):
// decoders then hold records back for a while instead of giving up.
func (l *Log) Growing() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.files) > 0
}

// Lookup returns the secrets logged for a client random.
func (l *Log) Lookup(clientRandom [32]byte) (Entry, bool) {
	if l == nil {
		return Entry{}, false
	}
	l.mu.RLock()
	e, ok := l.entries[clientRandom]
	var out Entry
	if ok {
		out = *e
	}
	l.mu.RUnlock()
	return out, ok
}

// maxSessions bounds the resumption cache.
const maxSessions = 50_000

// RememberSession records the master secret of a session under a key (a
// session id, or a digest of a session ticket) for later resumptions.
func (l *Log) RememberSession(key string, master []byte) {
	if l == nil || len(master) != 48 || key == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sessions == nil {
		l.sessions = make(map[string][48]byte)
	}
	if _, ok := l.sessions[key]; !ok {
		if len(l.sessionOrder) >= maxSessions {
			delete(l.sessions, l.sessionOrder[0])
			l.sessionOrder = l.sessionOrder[1:]
		}
		l.sessionOrder = append(l.sessionOrder, key)
	}
	var m [48]byte
	copy(m[:], master)
	l.sessions[key] = m
}

// Session returns the master secret remembered under key.
func (l *Log) Session(key string) ([]byte, bool) {
	if l == nil {
		return nil, false
	}
	l.mu.RLock()
	m, ok := l.sessions[key]
	l.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return m[:], true
}

// Stats returns the parse counters.
func (l *Log) Stats() Stats {
	l.mu.RLock()
	defer l.mu.RUnlock()
	s := l.stats
	s.Entries = len(l.entries)
	return s
}

// Add parses key log text (a whole file or a pcapng DSB payload); a last line
// without newline counts. It returns how many lines yielded a secret.
func (l *Log) Add(data []byte) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if l.parseLine(line) {
			n++
		}
	}
	if n > 0 {
		l.gen.Add(1)
	}
	return n
}

// LoadFile reads a complete key log file once.
func (l *Log) LoadFile(path string) error {
	b, err := readCapped(path, 0)
	if err != nil {
		return err
	}
	l.Add(b)
	return nil
}

// WatchFile reads the complete lines of a key log that is still being written
// and remembers the file so that Reload picks up lines appended later.
func (l *Log) WatchFile(path string) error {
	l.mu.Lock()
	l.files = append(l.files, watched{path: path})
	l.mu.Unlock()
	_, err := l.Reload()
	return err
}

// maxRead bounds one read of a key log file (a million connections' worth).
const maxRead = 256 << 20

func readCapped(path string, offset int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key log: %w", err)
	}
	defer f.Close()
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return nil, fmt.Errorf("key log %s at offset %d: %w", path, offset, err)
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxRead))
	if err != nil {
		return nil, fmt.Errorf("key log %s at offset %d: %w", path, offset, err)
	}
	return b, nil
}

// Reload parses the complete lines appended to watched files since the last
// call. A file that shrank (truncated or replaced) is read again from its
// start. It returns the number of lines that yielded a secret.
func (l *Log) Reload() (int, error) {
	l.mu.RLock()
	files := append([]watched(nil), l.files...)
	l.mu.RUnlock()
	added := 0
	var firstErr error
	for i := range files {
		w := &files[i]
		if st, err := os.Stat(w.path); err == nil && st.Size() < w.offset {
			w.offset = 0
		}
		b, err := readCapped(w.path, w.offset)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		end := bytes.LastIndexByte(b, '\n')
		if end < 0 {
			if len(b) > maxLine {
				// No newline in a long stretch: not a key log line; skip it.
				w.offset += int64(len(b))
				l.mu.Lock()
				l.stats.Malformed++
				l.mu.Unlock()
			}
			continue
		}
		added += l.Add(b[:end+1])
		w.offset += int64(end + 1)
	}
	l.mu.Lock()
	for _, w := range files {
		for j := range l.files {
			if l.files[j].path == w.path {
				l.files[j].offset = w.offset
			}
		}
	}
	l.mu.Unlock()
	return added, firstErr
}

// parseLine handles one line; the caller holds the write lock.
func (l *Log) parseLine(line []byte) bool {
	line = bytes.TrimRight(line, "\r \t")
	line = bytes.TrimLeft(line, " \t")
	if len(line) == 0 || line[0] == '#' {
		return false
	}
	l.stats.Lines++
	if len(line) > maxLine {
		l.stats.Malformed++
		return false
	}
	f1 := bytes.IndexByte(line, ' ')
	if f1 <= 0 {
		l.stats.Malformed++
		return false
	}
	label, rest := line[:f1], bytes.TrimLeft(line[f1+1:], " ")
	f2 := bytes.IndexByte(rest, ' ')
	if f2 <= 0 {
		l.stats.Malformed++
		return false
	}
	crHex, secHex := rest[:f2], bytes.Trim(rest[f2+1:], " ")
	var cr [32]byte
	if len(crHex) != 64 || !decodeHex(cr[:], crHex) {
		l.stats.Malformed++
		return false
	}
	var sec Secret
	if len(secHex)%2 != 0 || len(secHex) == 0 || len(secHex) > 2*len(sec.Buf) || !decodeHex(sec.Buf[:len(secHex)/2], secHex) {
		l.stats.Malformed++
		return false
	}
	sec.Len = uint8(len(secHex) / 2)
	var slot func(e *Entry) *Secret
	switch string(label) {
	case "CLIENT_RANDOM":
		if sec.Len != 48 {
			l.stats.Malformed++
			return false
		}
		slot = func(e *Entry) *Secret { return &e.Master }
	case "CLIENT_HANDSHAKE_TRAFFIC_SECRET":
		slot = func(e *Entry) *Secret { return &e.ClientHandshake }
	case "SERVER_HANDSHAKE_TRAFFIC_SECRET":
		slot = func(e *Entry) *Secret { return &e.ServerHandshake }
	case "CLIENT_TRAFFIC_SECRET_0":
		slot = func(e *Entry) *Secret { return &e.ClientTraffic }
	case "SERVER_TRAFFIC_SECRET_0":
		slot = func(e *Entry) *Secret { return &e.ServerTraffic }
	case "CLIENT_EARLY_TRAFFIC_SECRET":
		slot = func(e *Entry) *Secret { return &e.ClientEarly }
	default:
		// EXPORTER_SECRET, EARLY_EXPORTER_SECRET, RSA and others: not needed.
		l.stats.Ignored++
		return false
	}
	if sec.Len != 48 && sec.Len != 32 { // SHA-256 or SHA-384 secrets
		l.stats.Malformed++
		return false
	}
	e := l.entries[cr]
	if e == nil {
		l.evictIfFull()
		e = new(Entry)
		l.entries[cr] = e
		l.order = append(l.order, cr)
	}
	*slot(e) = sec
	return true
}

func (l *Log) evictIfFull() {
	for len(l.entries) >= l.max && l.head < len(l.order) {
		delete(l.entries, l.order[l.head])
		l.order[l.head] = [32]byte{}
		l.head++
		l.stats.Evicted++
	}
	// Compact the order slice once half of it is dead.
	if l.head > 1024 && l.head*2 > len(l.order) {
		l.order = append(l.order[:0], l.order[l.head:]...)
		l.head = 0
	}
}

func decodeHex(dst, src []byte) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	_, err := hex.Decode(dst, src)
	return err == nil
}
