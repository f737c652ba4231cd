package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Writer is the one batched writer of a Store: ingestors hand it records
// and go on parsing while a goroutine inserts them, one transaction per
// batch, with prepared statements, on a connection driven through SQLite's
// API directly (rawConn): binding 46 columns a row through database/sql
// and the driver cost more than SQLite's own work on the row. It assigns
// exchange IDs itself at Exchange time so that ingestors can link records
// (a preflight to its actual request) before they reach the database.
//
// A Store has at most one Writer at a time; a second NewWriter waits.
// Two processes writing one database at once are not supported.
type Writer struct {
	s       *Store
	inputID int64
	nextID  int64
	ch      chan writeItem
	done    chan struct{}
	err     error // set by the goroutine; read after done or via flush
	opts    WriterOptions
	count   int64
	bulk    bool     // indexes dropped: Close rebuilds them
	conn    *rawConn // the writer's own connection (its pragmas are its own)

	// Queued body bytes are bounded so that a fast parser cannot pile up
	// gigabytes of bodies in front of a slower disk.
	mu          sync.Mutex
	drained     *sync.Cond
	queuedBytes int64
}

// maxQueuedBytes bounds the body bytes waiting in the writer's queue.
const maxQueuedBytes = 32 << 20

// WriterOptions tunes batching. Zero values take the defaults.
type WriterOptions struct {
	BatchSize     int           // records per transaction; default 4096
	FlushInterval time.Duration // commit a partial batch after this idle time; default 250ms
	NoBodies      bool          // do not store bodies (sizes are still kept)
	// Bulk loads faster into an empty database: secondary indexes are
	// dropped and rebuilt by Close. Readers meanwhile scan without them, so
	// live capture does not use it.
	Bulk bool
}

type writeKind uint8

const (
	kindExchange writeKind = iota
	kindConnection
	kindLink
	kindFlush
)

type writeItem struct {
	kind  writeKind
	args  []any
	req   []byte
	resp  []byte
	id    int64
	reply chan error
}

const exchangeInsert = `INSERT INTO exchanges (id, input_id, entry_index, first_packet, last_packet, offset, conn_no, stream_id,
	started, resp_started, ended, client, server, tls, proto, method, scheme, host, port, path, query, status, status_text,
	request_headers, response_headers, request_body_bytes, response_body_bytes, warnings, resource_type, source_request_id,
	initiator_request_id, from_cache, upgrade, preflight_id,
	origin, acao, acac, acam, acah, aceh, acma, acrm, acrh, vary, sec_fetch_site, sec_fetch_mode)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// Exchange rows are inserted rowsPerInsert at a time: one statement
// execution per several rows halves the per-row cost in database/sql and
// the SQLite VM.
const (
	rowsPerInsert       = 16
	exchangeColumnCount = 46
)

var exchangeInsertMulti = exchangeInsert + strings.Repeat(",(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rowsPerInsert-1)

const connectionInsert = `INSERT OR REPLACE INTO connections (input_id, no, client, server, tls, sni, alpn, tls_version, cipher,
	decrypted, first_seen, last_seen, packets, bytes, warnings) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

// NewWriter starts the writer for records of input inputID.
func (s *Store) NewWriter(inputID int64, opts WriterOptions) (*Writer, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 4096
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 250 * time.Millisecond
	}
	s.writing.Lock()
	var maxID sql.NullInt64
	if err := s.db.QueryRow(`SELECT max(id) FROM exchanges`).Scan(&maxID); err != nil {
		s.writing.Unlock()
		return nil, fmt.Errorf("start writer: %w", err)
	}
	conn, err := openRawWriteConn(s.file, s.busyMS)
	if err != nil {
		s.writing.Unlock()
		return nil, fmt.Errorf("start writer: %w", err)
	}
	w := &Writer{s: s, inputID: inputID, nextID: maxID.Int64 + 1, ch: make(chan writeItem, 8192),
		done: make(chan struct{}), opts: opts, conn: conn}
	if opts.Bulk && !maxID.Valid {
		// Loading an empty database: no fsync per checkpoint (a quarter of
		// the wall time of a 100k-exchange ingest here). A process crash
		// still loses nothing committed; a power cut mid-load can damage a
		// file that held nothing else, and Close syncs once at the end.
		err := s.dropIndexes()
		if err == nil {
			err = conn.exec(`PRAGMA synchronous = OFF`)
		}
		if err != nil {
			conn.close()
			s.writing.Unlock()
			return nil, fmt.Errorf("start writer: %w", err)
		}
		w.bulk = true
	}
	w.drained = sync.NewCond(&w.mu)
	go w.run()
	return w, nil
}

// nullable returns nil (SQL NULL) for a header that is absent.
func nullable(h Headers, name string) any {
	v, ok := h.Get(name)
	if !ok {
		return nil
	}
	return v
}

// Exchange queues ex for insertion and returns its new ID (also set in
// ex.ID). ex may be reused by the caller once Exchange returns.
func (w *Writer) Exchange(ex *Exchange) int64 {
	ex.ID = w.nextID
	ex.InputID = w.inputID
	// A stored body is never larger than the size recorded for it (readers
	// skip body lookups for rows whose size is 0).
	if n := int64(len(ex.RequestBody)); n > ex.RequestBodySize {
		ex.RequestBodySize = n
	}
	if n := int64(len(ex.ResponseBody)); n > ex.ResponseBodySize {
		ex.ResponseBodySize = n
	}
	w.nextID++
	w.count++
	var preflight any
	if ex.PreflightID != 0 {
		preflight = ex.PreflightID
	}
	rq, rs := ex.RequestHeaders, ex.ResponseHeaders
	args := []any{ex.ID, w.inputID, ex.EntryIndex, ex.FirstPacket, ex.LastPacket, ex.Offset, ex.ConnNo, int64(ex.StreamID),
		nanos(ex.Started), nanos(ex.RespStarted), nanos(ex.Ended), ex.Client, ex.Server, boolInt(ex.TLS), ex.Proto,
		ex.Method, ex.Scheme, ex.Host, ex.Port, ex.Path, ex.Query, ex.Status, ex.StatusText,
		EncodeHeaders(rq), EncodeHeaders(rs), ex.RequestBodySize, ex.ResponseBodySize, encodeStrings(ex.Warnings),
		ex.ResourceType, ex.SourceRequestID, ex.InitiatorRequestID, boolInt(ex.FromCache), ex.Upgrade, preflight,
		nullable(rq, "Origin"), nullable(rs, "Access-Control-Allow-Origin"), nullable(rs, "Access-Control-Allow-Credentials"),
		nullable(rs, "Access-Control-Allow-Methods"), nullable(rs, "Access-Control-Allow-Headers"),
		nullable(rs, "Access-Control-Expose-Headers"), nullable(rs, "Access-Control-Max-Age"),
		nullable(rq, "Access-Control-Request-Method"), nullable(rq, "Access-Control-Request-Headers"),
		nullable(rs, "Vary"), nullable(rq, "Sec-Fetch-Site"), nullable(rq, "Sec-Fetch-Mode")}
	it := writeItem{kind: kindExchange, args: args, id: ex.ID}
	if !w.opts.NoBodies {
		it.req, it.resp = ex.RequestBody, ex.ResponseBody
		if n := int64(len(it.req) + len(it.resp)); n > 0 {
			w.mu.Lock()
			for w.queuedBytes > 0 && w.queuedBytes+n > maxQueuedBytes && w.err == nil {
				w.drained.Wait()
			}
			w.queuedBytes += n
			w.mu.Unlock()
		}
	}
	w.ch <- it
	if ex.PreflightID != 0 {
		w.ch <- writeItem{kind: kindLink, args: []any{ex.PreflightID, ex.ID, "hint"}}
	}
	return ex.ID
}

// Connection queues c (insert or replace by its number).
func (w *Writer) Connection(c *Connection) {
	w.ch <- writeItem{kind: kindConnection, args: []any{w.inputID, c.No, c.Client, c.Server, boolInt(c.TLS), c.SNI, c.ALPN,
		c.TLSVersion, c.Cipher, boolInt(c.Decrypted), nanos(c.FirstSeen), nanos(c.LastSeen), c.Packets, c.Bytes,
		encodeStrings(c.Warnings)}}
}

// Link queues a preflight → actual link found at ingest.
func (w *Writer) Link(p Pairing) {
	kind := p.Kind
	if kind == "" {
		kind = "hint"
	}
	w.ch <- writeItem{kind: kindLink, args: []any{p.PreflightID, p.ActualID, kind}}
}

// Count returns how many exchanges were queued.
func (w *Writer) Count() int64 { return w.count }

// Flush waits until everything queued so far is committed.
func (w *Writer) Flush() error {
	reply := make(chan error, 1)
	select {
	case w.ch <- writeItem{kind: kindFlush, reply: reply}:
	case <-w.done:
		return w.err
	}
	select {
	case err := <-reply:
		return err
	case <-w.done:
		return w.err
	}
}

// Close commits what is queued and releases the Store for another writer.
func (w *Writer) Close() error {
	close(w.ch)
	<-w.done
	if w.bulk {
		err := w.conn.exec(`PRAGMA synchronous = NORMAL`)
		if err == nil {
			err = ensureIndexes(w.conn.exec) // on this connection: no second page cache
		}
		if err == nil {
			// Everything loaded reaches the disk now, once.
			err = w.conn.exec(`PRAGMA wal_checkpoint(FULL)`)
		}
		if err != nil && w.err == nil {
			w.err = fmt.Errorf("write database: %w", err)
		}
	}
	w.conn.close()
	w.s.writing.Unlock()
	return w.err
}

const (
	busyRetry   = 250 * time.Millisecond
	maxBusyWait = 10 * time.Minute
)

// isBusy reports SQLITE_BUSY or SQLITE_LOCKED (another connection holds the
// write lock).
func isBusy(err error) bool {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return false
}

// Err reports the writer's first error, if any, without waiting.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) release(n int64) {
	w.mu.Lock()
	w.queuedBytes -= n
	w.mu.Unlock()
	w.drained.Broadcast()
}

func (w *Writer) run() {
	defer close(w.done)
	var (
		inTx                      bool
		exStmt, exMultiStmt       *rawStmt
		bodyStmt                  *rawStmt
		connStmt, linkStmt, updPf *rawStmt
		pending                   int
		timer                     = time.NewTimer(time.Hour)
		rows                      []any // args of up to rowsPerInsert queued exchange rows
		nrows                     int
	)
	timer.Stop()
	fail := func(err error) {
		w.mu.Lock()
		if w.err == nil {
			w.err = fmt.Errorf("write database: %w", err)
		}
		w.mu.Unlock()
		w.drained.Broadcast()
	}
	var stmts []*rawStmt
	defer func() {
		for _, st := range stmts {
			st.close()
		}
	}()
	for _, p := range []struct {
		dst **rawStmt
		q   string
	}{
		{&exStmt, exchangeInsert},
		{&exMultiStmt, exchangeInsertMulti},
		{&bodyStmt, `INSERT INTO bodies (exchange_id, dir, data) VALUES (?,?,?)`},
		{&connStmt, connectionInsert},
		{&linkStmt, `INSERT OR REPLACE INTO pairings (preflight_id, actual_id, kind) VALUES (?,?,?)`},
		{&updPf, `UPDATE exchanges SET preflight_id = ? WHERE id = ?`},
	} {
		st, err := w.conn.prepare(p.q)
		if err != nil {
			fail(err)
			break
		}
		*p.dst = st
		stmts = append(stmts, st)
	}
	begin := func() bool {
		if inTx {
			return true
		}
		var err error
		// A long reader-side write (an analysis save over a big database)
		// can hold the lock past busy_timeout: wait it out rather than
		// drop what the ingestor hands us.
		for wait := time.Duration(0); ; wait += busyRetry {
			err = w.conn.exec(`BEGIN IMMEDIATE`)
			if err == nil || !isBusy(err) || wait >= maxBusyWait {
				break
			}
			time.Sleep(busyRetry)
		}
		if err != nil {
			fail(err)
			return false
		}
		inTx = true
		timer.Reset(w.opts.FlushInterval)
		return true
	}
	// flushRows inserts the exchange rows held back for a multi-row
	// INSERT; leftovers go one by one.
	flushRows := func() error {
		defer func() { rows, nrows = rows[:0], 0 }()
		if nrows == rowsPerInsert {
			return exMultiStmt.exec(rows...)
		}
		for i := 0; i < nrows; i++ {
			if err := exStmt.exec(rows[i*exchangeColumnCount : (i+1)*exchangeColumnCount]...); err != nil {
				return err
			}
		}
		return nil
	}
	commit := func() {
		if !inTx {
			return
		}
		timer.Stop()
		if err := flushRows(); err != nil {
			fail(err)
		}
		if err := w.conn.exec(`COMMIT`); err != nil {
			fail(err)
			_ = w.conn.exec(`ROLLBACK`) // a failed COMMIT can leave the transaction open
		}
		inTx, pending = false, 0
	}
	handle := func(it writeItem) {
		if w.err != nil {
			if n := int64(len(it.req) + len(it.resp)); n > 0 {
				w.release(n)
			}
			return // keep draining so producers never block
		}
		if !begin() {
			if n := int64(len(it.req) + len(it.resp)); n > 0 {
				w.release(n)
			}
			return
		}
		var err error
		if it.kind != kindExchange && nrows > 0 {
			// Links update exchange rows: those must exist first.
			err = flushRows()
		}
		switch {
		case err != nil:
		case it.kind == kindExchange:
			rows = append(rows, it.args...)
			if nrows++; nrows == rowsPerInsert {
				err = flushRows()
			}
			if err == nil && len(it.req) > 0 {
				err = bodyStmt.exec(it.id, 0, it.req)
			}
			if err == nil && len(it.resp) > 0 {
				err = bodyStmt.exec(it.id, 1, it.resp)
			}
			if n := int64(len(it.req) + len(it.resp)); n > 0 {
				w.release(n)
			}
		case it.kind == kindConnection:
			err = connStmt.exec(it.args...)
		case it.kind == kindLink:
			if err = linkStmt.exec(it.args...); err == nil {
				err = updPf.exec(it.args[0], it.args[1])
			}
		}
		if err != nil {
			fail(err)
		}
		pending++
		if pending >= w.opts.BatchSize {
			commit()
		}
	}
	for {
		select {
		case it, ok := <-w.ch:
			if !ok {
				commit()
				return
			}
			if it.kind == kindFlush {
				commit()
				it.reply <- w.err
				continue
			}
			handle(it)
		case <-timer.C:
			commit()
		}
	}
}
