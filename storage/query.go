package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Query selects exchanges to stream. The zero value streams every exchange
// in start order, without bodies.
type Query struct {
	InputID    int64  // 0: every input
	Where      string // extra SQL condition over exchanges' columns (from a compiled filter), with Args
	Args       []any
	OrderByID  bool // default: by start time, then id
	Desc       bool
	WithBodies bool
	AfterID    int64 // with OrderByID: keyset paging
	Limit      int   // 0: no limit
	// RequestBodyPrefix loads the first n bytes of each request body in
	// the same query (for rules that look at a body's shape); 0: none.
	RequestBodyPrefix int
	// IngestHints sets PreflightID to the link the ingestor recorded (a
	// HAR's own preflight ids) instead of the last analysis's pairing: the
	// analyzer reads its input this way so that a run never feeds on the
	// previous run's conclusions.
	IngestHints bool
	// Lean reads only the request and response as they happened (ids,
	// times, endpoints, method, URL, status, headers, request body size,
	// producer ids, upgrade, preflight link) and leaves the rest zero:
	// where the exchange lies in its input (entry, packets, offset,
	// connection, stream), TLS, protocol, status text, response body size,
	// warnings, resource type and from-cache. A third fewer columns to
	// decode when streaming millions of rows.
	Lean bool
}

const exchangeColumns = `e.id, e.input_id, e.entry_index, e.first_packet, e.last_packet, e.offset, e.conn_no, e.stream_id,
	e.started, e.resp_started, e.ended, e.client, e.server, e.tls, e.proto, e.method, e.scheme, e.host, e.port, e.path,
	e.query, e.status, e.status_text, e.request_headers, e.response_headers, e.request_body_bytes, e.response_body_bytes,
	e.warnings, e.resource_type, e.source_request_id, e.initiator_request_id, e.from_cache, e.upgrade, `

// pairedPreflight is the preflight that authorised an exchange: the last
// analysis's pairing, else the link recorded at ingest.
const pairedPreflight = `COALESCE((SELECT min(p.preflight_id) FROM pairings p WHERE p.actual_id = e.id), e.preflight_id)`

func (q Query) columns() string {
	cols := exchangeColumns
	if q.Lean {
		cols = leanColumns
	}
	if q.IngestHints {
		return cols + "e.preflight_id"
	}
	return cols + pairedPreflight
}

// leanColumns are what Query.Lean reads: the request and response as the
// analyzer judges them, without where they came from in the input.
const leanColumns = `e.id, e.started, e.resp_started, e.ended, e.client, e.server, e.method, e.scheme, e.host, e.port,
	e.path, e.query, e.status, e.request_headers, e.response_headers, e.request_body_bytes, e.source_request_id,
	e.initiator_request_id, e.upgrade, `

// exchangeScanner turns rows into Exchanges. Its destination list points
// into one scratch record, built once: a million rows cost no per-row
// []any.
type exchangeScanner struct {
	lean                        bool
	withBody                    bool // the request body's prefix
	withBodies                  bool // both bodies whole
	row                         Exchange
	body                        []byte
	reqBody, respBody           []byte
	started, respStarted, ended sql.NullInt64
	warnings                    sql.NullString
	preflight                   sql.NullInt64
	reqH, respH                 string
	streamID                    int64
	dest                        []any
}

func newExchangeScanner(q Query) *exchangeScanner {
	sc := &exchangeScanner{lean: q.Lean, withBody: q.RequestBodyPrefix > 0 && !q.WithBodies, withBodies: q.WithBodies}
	r := &sc.row
	if sc.lean {
		sc.dest = []any{&r.ID, &sc.started, &sc.respStarted, &sc.ended, &r.Client, &r.Server, &r.Method, &r.Scheme,
			&r.Host, &r.Port, &r.Path, &r.Query, &r.Status, &sc.reqH, &sc.respH, &r.RequestBodySize,
			&r.SourceRequestID, &r.InitiatorRequestID, &r.Upgrade, &sc.preflight}
	} else {
		sc.dest = []any{&r.ID, &r.InputID, &r.EntryIndex, &r.FirstPacket, &r.LastPacket, &r.Offset, &r.ConnNo,
			&sc.streamID, &sc.started, &sc.respStarted, &sc.ended, &r.Client, &r.Server, &r.TLS, &r.Proto, &r.Method,
			&r.Scheme, &r.Host, &r.Port, &r.Path, &r.Query, &r.Status, &r.StatusText, &sc.reqH, &sc.respH,
			&r.RequestBodySize, &r.ResponseBodySize, &sc.warnings, &r.ResourceType, &r.SourceRequestID,
			&r.InitiatorRequestID, &r.FromCache, &r.Upgrade, &sc.preflight}
	}
	if sc.withBody {
		sc.dest = append(sc.dest, &sc.body)
	}
	if sc.withBodies {
		sc.dest = append(sc.dest, &sc.reqBody, &sc.respBody)
	}
	return sc
}

// scanRaw fills ex from the current row of a rawConn query, each column
// read as its destination's type wants it.
func (sc *exchangeScanner) scanRaw(r rawRow, ex *Exchange) error {
	sc.body, sc.reqBody, sc.respBody, sc.warnings = nil, nil, nil, sql.NullString{}
	for i, dest := range sc.dest {
		switch d := dest.(type) {
		case *int64:
			*d = r.int64(i)
		case *int:
			*d = int(r.int64(i))
		case *bool:
			*d = r.int64(i) != 0
		case *string:
			*d = r.text(i)
		case *sql.NullInt64:
			*d = sql.NullInt64{}
			if !r.isNull(i) {
				*d = sql.NullInt64{Int64: r.int64(i), Valid: true}
			}
		case *sql.NullString:
			*d = sql.NullString{}
			if !r.isNull(i) {
				*d = sql.NullString{String: r.text(i), Valid: true}
			}
		case *[]byte:
			*d = r.blob(i)
		default:
			return fmt.Errorf("exchange row: column %d: unexpected destination %T", i, d)
		}
	}
	return sc.finish(ex)
}

func (sc *exchangeScanner) finish(ex *Exchange) error {
	*ex = sc.row
	var err error
	// scanRaw copied the bodies out of SQLite's memory: fresh per row.
	if sc.withBody && len(sc.body) > 0 {
		ex.RequestBody = sc.body
	}
	if sc.withBodies {
		ex.RequestBody, ex.ResponseBody = sc.reqBody, sc.respBody
	}
	ex.StreamID = uint32(sc.streamID)
	ex.Started, ex.RespStarted, ex.Ended = fromNanos(sc.started), fromNanos(sc.respStarted), fromNanos(sc.ended)
	ex.PreflightID = sc.preflight.Int64
	if ex.RequestHeaders, err = DecodeHeaders(sc.reqH); err != nil {
		return fmt.Errorf("exchange %d: request headers: %w", ex.ID, err)
	}
	if ex.ResponseHeaders, err = DecodeHeaders(sc.respH); err != nil {
		return fmt.Errorf("exchange %d: response headers: %w", ex.ID, err)
	}
	if sc.warnings.Valid {
		if ex.Warnings, err = decodeStrings(sc.warnings.String); err != nil {
			return fmt.Errorf("exchange %d: warnings: %w", ex.ID, err)
		}
	}
	return nil
}

func (q Query) sql(columns string) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(columns)
	if q.WithBodies {
		// In the same statement: one index probe per body, no query per row.
		b.WriteString(`, (SELECT rb.data FROM bodies rb WHERE rb.exchange_id = e.id AND rb.dir = 0),
			(SELECT sb.data FROM bodies sb WHERE sb.exchange_id = e.id AND sb.dir = 1)`)
	} else if q.RequestBodyPrefix > 0 {
		// A correlated lookup only for rows that have a body: most requests
		// (GET) have none and then cost no index probe.
		fmt.Fprintf(&b, `, CASE WHEN e.request_body_bytes > 0 THEN (SELECT substr(rb.data, 1, %d) FROM bodies rb
			WHERE rb.exchange_id = e.id AND rb.dir = 0) END`, q.RequestBodyPrefix)
	}
	b.WriteString(" FROM exchanges e")
	var conds []string
	var args []any
	if q.InputID != 0 {
		conds = append(conds, "e.input_id = ?")
		args = append(args, q.InputID)
	}
	if q.Where != "" {
		conds = append(conds, "("+q.Where+")")
		args = append(args, q.Args...)
	}
	if q.AfterID != 0 {
		if q.Desc {
			conds = append(conds, "e.id < ?")
		} else {
			conds = append(conds, "e.id > ?")
		}
		args = append(args, q.AfterID)
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(conds, " AND "))
	}
	dir := ""
	if q.Desc {
		dir = " DESC"
	}
	if q.OrderByID {
		b.WriteString(" ORDER BY e.id" + dir)
	} else {
		b.WriteString(" ORDER BY e.started" + dir + ", e.id" + dir)
	}
	if q.Limit > 0 {
		fmt.Fprintf(&b, " LIMIT %d", q.Limit)
	}
	return b.String(), args
}

// Exchanges streams the exchanges q selects to fn. The *Exchange passed to
// fn is fresh each call and owned by fn. Rows come from a streaming
// connection of the Store's own (rawConn), not from database/sql.
func (s *Store) Exchanges(ctx context.Context, q Query, fn func(*Exchange) error) error {
	query, args := q.sql(q.columns())
	sc := newExchangeScanner(q)
	c, err := s.rawConn()
	if err != nil {
		return fmt.Errorf("query exchanges: %w", err)
	}
	defer s.putRawConn(c)
	var fnErr error // fn's own error goes back to the caller as it was
	err = c.query(ctx, query, args, func(r rawRow) error {
		ex := new(Exchange)
		if err := sc.scanRaw(r, ex); err != nil {
			return err
		}
		fnErr = fn(ex)
		return fnErr
	})
	if err != nil && err == fnErr {
		return err
	}
	if err != nil {
		return fmt.Errorf("query exchanges: %w", err)
	}
	return nil
}

// ExchangeIDs returns the ids q selects, in q's order: a cheap index that a
// UI pages through with ExchangesByID.
func (s *Store) ExchangeIDs(ctx context.Context, q Query) ([]int64, error) {
	query, args := q.sql("e.id")
	ids, err := s.IDs(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query exchange ids: %w", err)
	}
	return ids, nil
}

// IDs runs a read-only query whose first column is an id and returns the
// ids in its order, streamed on a connection of the Store's own (a UI
// listing a million exchanges reads them ~2x faster than through DB()).
func (s *Store) IDs(ctx context.Context, query string, args ...any) ([]int64, error) {
	c, err := s.rawConn()
	if err != nil {
		return nil, err
	}
	defer s.putRawConn(c)
	var ids []int64
	err = c.query(ctx, query, args, func(r rawRow) error {
		ids = append(ids, r.int64(0))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// ShallowColumns are what EachShallow reads: enough for a filter on the
// request line and status (URL, method, host, status).
const ShallowColumns = `e.id, e.method, e.scheme, e.host, e.port, e.path, e.query, e.status`

// EachShallow streams ShallowColumns of the exchanges that tail selects
// (the SQL after "FROM exchanges e": WHERE, ORDER BY) into one reused
// Exchange: fn must not keep it.
func (s *Store) EachShallow(ctx context.Context, tail string, args []any, fn func(*Exchange) error) error {
	c, err := s.rawConn()
	if err != nil {
		return err
	}
	defer s.putRawConn(c)
	var ex Exchange
	return c.query(ctx, "SELECT "+ShallowColumns+" FROM exchanges e "+tail, args, func(r rawRow) error {
		ex = Exchange{ID: r.int64(0), Method: r.text(1), Scheme: r.text(2), Host: r.text(3), Port: int(r.int64(4)),
			Path: r.text(5), Query: r.text(6), Status: int(r.int64(7))}
		return fn(&ex)
	})
}

// ExchangesByID loads the given exchanges, in the order of ids; ids that do
// not exist are skipped.
func (s *Store) ExchangesByID(ctx context.Context, ids []int64, withBodies bool) ([]*Exchange, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	byID := make(map[int64]*Exchange, len(ids))
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		end := min(start+chunk, len(ids))
		ph := strings.Repeat("?,", end-start)
		args := make([]any, 0, end-start)
		for _, id := range ids[start:end] {
			args = append(args, id)
		}
		err := s.Exchanges(ctx, Query{Where: "e.id IN (" + ph[:len(ph)-1] + ")", Args: args, OrderByID: true,
			WithBodies: withBodies}, func(ex *Exchange) error {
			byID[ex.ID] = ex
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]*Exchange, 0, len(ids))
	for _, id := range ids {
		if ex, ok := byID[id]; ok {
			out = append(out, ex)
		}
	}
	return out, nil
}

// Exchange loads one exchange with its bodies.
func (s *Store) Exchange(ctx context.Context, id int64) (*Exchange, error) {
	exs, err := s.ExchangesByID(ctx, []int64{id}, true)
	if err != nil {
		return nil, err
	}
	if len(exs) == 0 {
		return nil, fmt.Errorf("exchange %d: %w", id, ErrNotFound)
	}
	return exs[0], nil
}

// Actuals returns the ids of the actual requests linked to a preflight.
func (s *Store) Actuals(ctx context.Context, preflightID int64) ([]int64, error) {
	return s.IDs(ctx, `SELECT actual_id FROM pairings WHERE preflight_id = ? ORDER BY actual_id`, preflightID)
}

// ActualsAll returns every preflight → actual ids link (for listings).
func (s *Store) ActualsAll(ctx context.Context) (map[int64][]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT preflight_id, actual_id FROM pairings ORDER BY preflight_id, actual_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]int64{}
	for rows.Next() {
		var p, a int64
		if err := rows.Scan(&p, &a); err != nil {
			return nil, err
		}
		out[p] = append(out[p], a)
	}
	return out, rows.Err()
}

// Pairings returns every stored preflight link.
func (s *Store) Pairings(ctx context.Context) ([]Pairing, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT preflight_id, actual_id, kind FROM pairings ORDER BY preflight_id, actual_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Pairing
	for rows.Next() {
		var p Pairing
		if err := rows.Scan(&p.PreflightID, &p.ActualID, &p.Kind); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Count returns the number of rows of a table the store owns.
func (s *Store) Count(ctx context.Context, table string) (int64, error) {
	switch table {
	case "exchanges", "connections", "inputs", "findings", "pairings":
	default:
		return 0, errors.New("count: unknown table " + table)
	}
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n)
	return n, err
}

// Stats returns the counters reports show (spec: stats object).
func (s *Store) Stats(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for key, q := range map[string]string{
		"exchanges":         `SELECT count(*) FROM exchanges`,
		"preflights":        `SELECT count(*) FROM exchanges WHERE method = 'OPTIONS' AND origin IS NOT NULL AND acrm IS NOT NULL`,
		"paired_preflights": `SELECT count(DISTINCT preflight_id) FROM pairings`,
		"connections":       `SELECT count(*) FROM connections`,
		"tls_decrypted":     `SELECT count(*) FROM connections WHERE tls = 1 AND decrypted = 1`,
		"tls_undecrypted":   `SELECT count(*) FROM connections WHERE tls = 1 AND decrypted = 0`,
	} {
		var n int64
		if err := s.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return nil, fmt.Errorf("stats %s: %w", key, err)
		}
		out[key] = n
	}
	return out, nil
}
