package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

// pageCacheKiB is each connection's page cache, as PRAGMA cache_size
// takes it (negative: KiB).
const pageCacheKiB = -8000

// MemoryPath asks Open for a database that keeps nothing: it lives in a
// temporary file removed by Close (an in-memory SQLite database would be
// private to one pooled connection, and the writer and readers need several).
const MemoryPath = ":memory:"

// DefaultPath is the embedded default database.
const DefaultPath = "corscope.db"

// Store is an open corscope database.
type Store struct {
	db       *sql.DB
	path     string
	tmpDir   string // set for MemoryPath; removed on Close
	writing  sync.Mutex
	findings findingIndexCache

	file    string // the database file, for rawConns
	busyMS  int
	rawMu   sync.Mutex
	rawIdle []*rawConn // read connections for streaming, reused
	closed  bool
}

// Open opens or creates the database at path (mode 0600: it holds cookies
// and tokens) and brings its schema up to date.
func Open(path string) (*Store, error) { return open(path, 10000) }

func open(path string, busyTimeoutMS int) (*Store, error) {
	s := &Store{path: path, busyMS: busyTimeoutMS}
	if path == MemoryPath || path == "" {
		dir, err := os.MkdirTemp("", "corscope-db-")
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		s.tmpDir = dir
		path = filepath.Join(dir, "corscope.db")
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	f.Close()
	s.file = path
	// 16 KiB pages for new databases (existing ones keep theirs): a
	// quarter of the page reads and B-tree cells of 4 KiB pages; analysis
	// of a million exchanges ran ~10% faster. The driver sorts _pragma
	// values by name, so journal_mode goes in its own key, which it applies
	// after them: WAL would otherwise fix the page size first. An 8 MB page
	// cache per connection: with 16 KiB pages a 32 MB one grew a 1.2M
	// exchange ingest to 321 MB peak RSS (197 MB now) and made it slower
	// (25.3 s against 19.0 s); analysis and UI sorts ran the same.
	dsn := "file:" + path + "?_pragma=page_size(16384)&_journal_mode=WAL&_pragma=busy_timeout(" + strconv.Itoa(busyTimeoutMS) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)" +
		"&_pragma=cache_size(" + strconv.Itoa(pageCacheKiB) + ")&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		s.cleanup()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s.db = db
	err = s.migrate()
	if err == nil {
		err = ensureIndexes(func(q string) error { _, err := db.Exec(q); return err })
	}
	if err != nil {
		db.Close()
		s.cleanup()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) cleanup() {
	if s.tmpDir != "" {
		os.RemoveAll(s.tmpDir)
	}
}

// Path returns the path given to Open.
func (s *Store) Path() string { return s.path }

// DB exposes the handle for read-only ad-hoc queries (filters, the UI).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database (and removes it when it was MemoryPath).
func (s *Store) Close() error {
	s.rawMu.Lock()
	for _, c := range s.rawIdle {
		c.close()
	}
	s.rawIdle, s.closed = nil, true
	s.rawMu.Unlock()
	err := s.db.Close()
	s.cleanup()
	return err
}

// maxIdleRaw is how many streaming connections Store keeps open between
// queries: the UI pages and the analyzer stream at the same time at most.
const maxIdleRaw = 2

// rawConn hands out an idle streaming connection or opens one.
func (s *Store) rawConn() (*rawConn, error) {
	s.rawMu.Lock()
	if s.closed {
		s.rawMu.Unlock()
		return nil, errors.New("database is closed")
	}
	if n := len(s.rawIdle); n > 0 {
		c := s.rawIdle[n-1]
		s.rawIdle = s.rawIdle[:n-1]
		s.rawMu.Unlock()
		return c, nil
	}
	s.rawMu.Unlock()
	return openRawConn(s.file, s.busyMS)
}

// putRawConn returns c to the pool, or closes it.
func (s *Store) putRawConn(c *rawConn) {
	s.rawMu.Lock()
	defer s.rawMu.Unlock()
	if s.closed || len(s.rawIdle) >= maxIdleRaw {
		c.close()
		return
	}
	s.rawIdle = append(s.rawIdle, c)
}

// SchemaVersion is the number of migrations this build knows.
func SchemaVersion() int { return len(migrations) }

func (s *Store) migrate() error {
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.db.ExecContext(ctx, `INSERT INTO schema_version VALUES (0)`); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this corscope (%d): upgrade corscope", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, i+1); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(0, v.Int64).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ensureIndexes creates the secondary indexes of exchanges that are
// missing, through exec (the Store's handle or the Writer's connection).
func ensureIndexes(exec func(query string) error) error {
	for _, ix := range exchangeIndexes {
		if err := exec(`CREATE INDEX IF NOT EXISTS ` + ix.name + ` ON ` + ix.def); err != nil {
			return fmt.Errorf("index %s: %w", ix.name, err)
		}
	}
	return nil
}

func (s *Store) dropIndexes() error {
	for _, ix := range exchangeIndexes {
		if _, err := s.db.Exec(`DROP INDEX IF EXISTS ` + ix.name); err != nil {
			return err
		}
	}
	return nil
}
