package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawConn is a connection driven through modernc's transpiled SQLite API
// directly: read-only for streaming exchanges, read-write for the Writer.
// Streaming a million exchanges through database/sql and the driver costs
// ~3.0 s, through rawConn ~2.2 s: the driver probes every column's type,
// boxes every value in an interface and opens its connections FULLMUTEX,
// so each column call takes a mutex. rawConn is opened NOMUTEX and is only
// ever used by one goroutine at a time (Store keeps idle read connections
// in a small pool; the Writer has its own).
type rawConn struct {
	tls *libc.TLS
	db  uintptr
}

func openRawConn(path string, busyTimeoutMS int) (*rawConn, error) {
	return openRaw(path, busyTimeoutMS, sqlite3.SQLITE_OPEN_READONLY)
}

// openRawWriteConn opens the connection of the Writer, with the pragmas
// the Store's own connections get from their DSN.
func openRawWriteConn(path string, busyTimeoutMS int) (*rawConn, error) {
	c, err := openRaw(path, busyTimeoutMS, sqlite3.SQLITE_OPEN_READWRITE)
	if err != nil {
		return nil, err
	}
	if err := c.exec(`PRAGMA foreign_keys = 1; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;
		PRAGMA cache_size = ` + strconv.Itoa(pageCacheKiB) + `; PRAGMA journal_mode = WAL`); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func openRaw(path string, busyTimeoutMS int, mode int32) (_ *rawConn, err error) {
	c := &rawConn{tls: libc.NewTLS()}
	defer func() { // after the frees below: they use c.tls
		if err != nil {
			c.close()
		}
	}()
	c.db, err = c.callOut(path, func(name, pdb uintptr) int32 {
		return sqlite3.Xsqlite3_open_v2(c.tls, name, pdb, mode|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	})
	if err != nil {
		return nil, err
	}
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, int32(busyTimeoutMS))
	return c, nil
}

// callOut calls f with s as a C string and a pointer-sized out parameter,
// and returns what f stored there; a result code other than SQLITE_OK is
// an error (the out value is still returned: open sets it on failure too).
func (c *rawConn) callOut(s string, f func(z, out uintptr) int32) (uintptr, error) {
	z, err := libc.CString(s)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(c.tls, z)
	out, err := c.malloc(int(unsafe.Sizeof(uintptr(0))))
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(c.tls, out)
	*(*uintptr)(cMem(out)) = 0
	rc := f(z, out)
	v := *(*uintptr)(cMem(out))
	if rc != sqlite3.SQLITE_OK {
		return v, c.errorf(rc)
	}
	return v, nil
}

func (c *rawConn) malloc(n int) (uintptr, error) {
	p := libc.Xmalloc(c.tls, libc.Tsize_t(n))
	if p == 0 {
		return 0, errors.New("sqlite: out of memory")
	}
	return p, nil
}

func (c *rawConn) close() {
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	c.tls.Close()
}

// rawError is an SQLite result code with its message; Code gives the
// code as the driver's errors do (isBusy reads it).
type rawError struct {
	code int
	msg  string
}

func (e *rawError) Error() string { return fmt.Sprintf("sqlite: %s (%d)", e.msg, e.code) }
func (e *rawError) Code() int     { return e.code }

// errorf describes result code rc with the connection's last message.
func (c *rawConn) errorf(rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		if m := libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db)); m != "" && m != msg {
			msg += ": " + m
		}
	}
	return &rawError{code: int(rc), msg: msg}
}

// exec runs one or more statements that return no rows, without arguments.
func (c *rawConn) exec(sql string) error {
	z, err := libc.CString(sql)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, z)
	if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, z, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return c.errorf(rc)
	}
	return nil
}

// execOnce prepares query, runs it once with args and finalizes it.
func (c *rawConn) execOnce(query string, args ...any) error {
	st, err := c.prepare(query)
	if err != nil {
		return err
	}
	defer st.close()
	return st.exec(args...)
}

// lastInsertID is the rowid of the connection's latest INSERT.
func (c *rawConn) lastInsertID() int64 { return sqlite3.Xsqlite3_last_insert_rowid(c.tls, c.db) }

// rawStmt is a prepared statement of a rawConn, executed many times (the
// Writer's inserts). Text and blob arguments are copied into one C buffer
// of the statement's own, grown as needed: no allocation per argument.
type rawStmt struct {
	c        *rawConn
	stmt     uintptr
	params   int // every exec binds all: none may keep a pointer into a freed arena
	arena    uintptr
	arenaCap int
}

func (c *rawConn) prepare(sql string) (*rawStmt, error) {
	stmt, err := c.callOut(sql, func(z, pstmt uintptr) int32 {
		return sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, z, -1, pstmt, 0)
	})
	if err != nil {
		return nil, err
	}
	st := &rawStmt{c: c, stmt: stmt}
	if st.stmt == 0 {
		return nil, errors.New("sqlite: empty query")
	}
	st.params = int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, st.stmt))
	return st, nil
}

func (s *rawStmt) close() {
	sqlite3.Xsqlite3_finalize(s.c.tls, s.stmt)
	if s.arena != 0 {
		libc.Xfree(s.c.tls, s.arena)
	}
}

// basicValue returns a as one of the types rawStmt binds directly, using
// database/sql's converter for others (int32, uint16, named types, …).
func basicValue(a any) (any, error) {
	switch a.(type) {
	case nil, int64, int, string, []byte, float64, bool:
		return a, nil
	}
	v, err := driver.DefaultParameterConverter.ConvertValue(a)
	if err != nil {
		return nil, err
	}
	switch v.(type) {
	case nil, int64, string, []byte, float64, bool:
		return v, nil
	}
	return nil, fmt.Errorf("unsupported type %T", a)
}

// exec binds args, runs the statement to its end and resets it.
func (s *rawStmt) exec(args ...any) error {
	if err := s.bind(args); err != nil {
		return err
	}
	tls, stmt := s.c.tls, s.stmt
	rc := sqlite3.Xsqlite3_step(tls, stmt)
	for rc == sqlite3.SQLITE_ROW {
		rc = sqlite3.Xsqlite3_step(tls, stmt)
	}
	// reset returns the step's error code again; the message is the step's.
	sqlite3.Xsqlite3_reset(tls, stmt)
	if rc != sqlite3.SQLITE_DONE {
		return s.c.errorf(rc)
	}
	return nil
}

// bind binds args (as database/sql would convert them) to every parameter
// of the statement, copying text and blobs into the statement's buffer.
func (s *rawStmt) bind(args []any) error {
	tls, stmt := s.c.tls, s.stmt
	if len(args) != s.params {
		return fmt.Errorf("sqlite: %d arguments for %d parameters", len(args), s.params)
	}
	need := 1 // the arena is never empty: a zero-length text needs a non-NULL pointer
	for i, a := range args {
		v, err := basicValue(a)
		if err != nil {
			return fmt.Errorf("argument %d: %w", i+1, err)
		}
		switch x := v.(type) {
		case string:
			need += len(x)
		case []byte:
			need += len(x)
		}
	}
	if need > s.arenaCap {
		if s.arena != 0 {
			libc.Xfree(tls, s.arena)
			s.arena, s.arenaCap = 0, 0
		}
		n := max(need, 2*s.arenaCap, 4<<10)
		p, err := s.c.malloc(n)
		if err != nil {
			return err
		}
		s.arena, s.arenaCap = p, n
	}
	arena := unsafe.Slice((*byte)(cMem(s.arena)), s.arenaCap)
	off := 0
	bindBytes := func(idx int32, b []byte, text bool) int32 {
		if len(b) > math.MaxInt32 || off+len(b) > len(arena) {
			return sqlite3.SQLITE_TOOBIG
		}
		copy(arena[off:], b)
		p := s.arena + uintptr(off)
		off += len(b)
		if text {
			return sqlite3.Xsqlite3_bind_text(tls, stmt, idx, p, int32(len(b)), 0)
		}
		return sqlite3.Xsqlite3_bind_blob(tls, stmt, idx, p, int32(len(b)), 0)
	}
	for i, a := range args {
		idx := int32(i + 1)
		v, _ := basicValue(a) // checked above
		var rc int32
		switch x := v.(type) {
		case nil:
			rc = sqlite3.Xsqlite3_bind_null(tls, stmt, idx)
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(tls, stmt, idx, x)
		case int:
			rc = sqlite3.Xsqlite3_bind_int64(tls, stmt, idx, int64(x))
		case string:
			rc = bindBytes(idx, unsafe.Slice(unsafe.StringData(x), len(x)), true)
		case []byte:
			if x == nil {
				rc = sqlite3.Xsqlite3_bind_null(tls, stmt, idx)
			} else {
				rc = bindBytes(idx, x, false)
			}
		case float64:
			rc = sqlite3.Xsqlite3_bind_double(tls, stmt, idx, x)
		case bool:
			rc = sqlite3.Xsqlite3_bind_int64(tls, stmt, idx, int64(boolInt(x)))
		}
		if rc != sqlite3.SQLITE_OK {
			sqlite3.Xsqlite3_reset(tls, stmt)
			return fmt.Errorf("argument %d: %w", i+1, s.c.errorf(rc))
		}
	}
	return nil
}

// cMem turns an address in SQLite's C memory (modernc's libc heap, which
// the Go collector neither scans nor moves) into a pointer. Going through
// the variable's address is what tells vet this is not a Go pointer
// smuggled through a uintptr.
func cMem(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

// rawRow reads the columns of the current row of a rawConn query. Its
// methods convert as SQLite does (text of an integer column, 0 for NULL).
type rawRow struct {
	tls  *libc.TLS
	stmt uintptr
}

func (r rawRow) isNull(i int) bool {
	return sqlite3.Xsqlite3_column_type(r.tls, r.stmt, int32(i)) == sqlite3.SQLITE_NULL
}

func (r rawRow) int64(i int) int64 { return sqlite3.Xsqlite3_column_int64(r.tls, r.stmt, int32(i)) }

// bytes returns a view of the column's bytes in SQLite's memory, valid
// until the next step: callers copy.
func (r rawRow) bytes(i int, asText bool) []byte {
	var p uintptr
	if asText {
		p = sqlite3.Xsqlite3_column_text(r.tls, r.stmt, int32(i))
	} else {
		p = sqlite3.Xsqlite3_column_blob(r.tls, r.stmt, int32(i))
	}
	n := sqlite3.Xsqlite3_column_bytes(r.tls, r.stmt, int32(i))
	if p == 0 || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(cMem(p)), n)
}

func (r rawRow) text(i int) string {
	b := r.bytes(i, true)
	if len(b) == 0 {
		return ""
	}
	return string(b)
}

func (r rawRow) blob(i int) []byte {
	b := r.bytes(i, false)
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// query runs query with args and calls fn for each row. It checks ctx
// between rows and interrupts a step that runs when ctx ends (a filter
// can scan many rows before the first match).
func (c *rawConn) query(ctx context.Context, query string, args []any, fn func(rawRow) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	st, err := c.prepare(query)
	if err != nil {
		return err
	}
	defer st.close()
	if err := st.bind(args); err != nil {
		return err
	}
	stmt := st.stmt

	// The interrupt runs on the goroutine that watches ctx, with a TLS of
	// its own (a TLS is not safe for concurrent use); the lock keeps it
	// from reaching a connection that went back to the pool.
	var mu sync.Mutex
	running := true
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if running {
			tls := libc.NewTLS()
			sqlite3.Xsqlite3_interrupt(tls, c.db)
			tls.Close()
		}
	})
	defer func() {
		stop()
		mu.Lock()
		running = false
		mu.Unlock()
	}()

	row := rawRow{tls: c.tls, stmt: stmt}
	for n := 0; ; n++ {
		rc := sqlite3.Xsqlite3_step(c.tls, stmt)
		switch rc {
		case sqlite3.SQLITE_ROW:
		case sqlite3.SQLITE_DONE:
			return nil
		default:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return c.errorf(rc)
		}
		if n&255 == 255 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(row); err != nil {
			return err
		}
	}
}
