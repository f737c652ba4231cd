package storage

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// Analysis is everything one analyzer run decided.
type Analysis struct {
	Run      Run
	Findings []Finding
	Pairings []Pairing
	Verdicts []Verdict
	Hosts    []HostPolicy
}

// SaveAnalysis replaces the previous run's findings, pairings, verdicts and
// host policies with a's, in one transaction, and sets a.Run.ID. It writes
// on a connection of its own driven through SQLite's API (rawConn), as the
// Writer does: a million exchanges' pairings and finding ids bind faster.
func (s *Store) SaveAnalysis(ctx context.Context, a *Analysis) error {
	if err := s.saveAnalysis(ctx, a); err != nil {
		return fmt.Errorf("save analysis: %w", err)
	}
	return nil
}

func (s *Store) saveAnalysis(ctx context.Context, a *Analysis) error {
	c, err := openRawWriteConn(s.file, s.busyMS)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.exec(`BEGIN IMMEDIATE`); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = c.exec(`ROLLBACK`)
		}
	}()
	if a.Run.Started.IsZero() {
		a.Run.Started = time.Now().UTC()
	}
	if a.Run.Finished.IsZero() {
		a.Run.Finished = time.Now().UTC()
	}
	if err := c.exec(`DELETE FROM findings; DELETE FROM runs; DELETE FROM verdict_blocks;
		DELETE FROM host_policies; DELETE FROM pairings`); err != nil {
		return err
	}
	stats, _ := json.Marshal(a.Run.Stats)
	var runID int64
	err = c.execOnce(`INSERT INTO runs (started, finished, version, stats) VALUES (?,?,?,?)`,
		a.Run.Started.UnixNano(), a.Run.Finished.UnixNano(), a.Run.Version, string(stats))
	if err != nil {
		return err
	}
	runID = c.lastInsertID()
	if err := ctx.Err(); err != nil {
		return err
	}
	insF, err := c.prepare(`INSERT INTO findings (run_id, fingerprint, rule, severity, severity_rank, title,
		host, endpoint, path_template, method, origin, origin_class, evidence, cwe, remediation, detail, suppressed,
		exchange_ids) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer insF.close()
	ids := make([]int64, len(a.Findings))
	var idList []byte
	for i := range a.Findings {
		f := &a.Findings[i]
		idList = appendIDList(idList[:0], f.Exchanges)
		if err := insF.exec(runID, f.Fingerprint, f.Rule, f.Severity, SeverityRank(f.Severity), f.Title,
			f.Host, f.Endpoint, f.PathTemplate, f.Method, f.Origin, f.OriginClass, string(mustJSON(nonNil(f.Evidence))),
			f.CWE, f.Remediation, f.Detail, f.Suppressed, unsafeString(idList)); err != nil {
			return fmt.Errorf("finding %s: %w", f.Rule, err)
		}
		ids[i] = c.lastInsertID()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	pairings := slices.Clone(a.Pairings)
	slices.SortFunc(pairings, func(x, y Pairing) int {
		return cmp.Or(cmp.Compare(x.PreflightID, y.PreflightID), cmp.Compare(x.ActualID, y.ActualID))
	})
	ins := newMultiInsert(c, `INSERT OR REPLACE INTO pairings (preflight_id, actual_id, kind) VALUES `, 3)
	defer ins.close()
	for _, p := range pairings {
		if err := ins.add(p.PreflightID, p.ActualID, p.Kind); err != nil {
			return fmt.Errorf("pairing: %w", err)
		}
	}
	if err := ins.flush(); err != nil {
		return fmt.Errorf("pairing: %w", err)
	}
	insV, err := c.prepare(`INSERT INTO verdict_blocks (first_id, data) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer insV.close()
	if err := saveVerdicts(a.Verdicts, func(first int64, data []byte) error { return insV.exec(first, data) }); err != nil {
		return fmt.Errorf("verdicts: %w", err)
	}
	insH, err := c.prepare(`INSERT OR REPLACE INTO host_policies (host, policy) VALUES (?,?)`)
	if err != nil {
		return err
	}
	defer insH.close()
	for _, h := range a.Hosts {
		if err := insH.exec(h.Host, string(mustJSON(h))); err != nil {
			return fmt.Errorf("host policy: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.exec(`COMMIT`); err != nil {
		return err
	}
	committed = true
	a.Run.ID = runID
	for i := range a.Findings {
		a.Findings[i].RunID, a.Findings[i].ID = runID, ids[i]
	}
	return nil
}

// unsafeString views b as a string for the duration of a call that only
// reads it (binding copies it).
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

// LastRun returns the latest analysis run, or nil when none ran yet.
func (s *Store) LastRun(ctx context.Context) (*Run, error) {
	var r Run
	var started, finished sql.NullInt64
	var stats string
	err := s.db.QueryRowContext(ctx, `SELECT id, started, finished, version, stats FROM runs ORDER BY id DESC LIMIT 1`).
		Scan(&r.ID, &started, &finished, &r.Version, &stats)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.Started, r.Finished = fromNanos(started), fromNanos(finished)
	_ = json.Unmarshal([]byte(stats), &r.Stats)
	return &r, nil
}

// Findings returns the last run's findings, most severe first, each with its
// exchange ids.
func (s *Store) Findings(ctx context.Context) ([]Finding, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, run_id, fingerprint, rule, severity, title, host, endpoint,
		path_template, method, origin, origin_class, evidence, cwe, remediation, detail, suppressed, exchange_ids
		FROM findings ORDER BY severity_rank DESC, rule, host, endpoint, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Finding
	for rows.Next() {
		var f Finding
		var evidence, ids string
		if err := rows.Scan(&f.ID, &f.RunID, &f.Fingerprint, &f.Rule, &f.Severity, &f.Title, &f.Host, &f.Endpoint,
			&f.PathTemplate, &f.Method, &f.Origin, &f.OriginClass, &evidence, &f.CWE, &f.Remediation, &f.Detail,
			&f.Suppressed, &ids); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(evidence), &f.Evidence)
		if f.Exchanges, err = parseIDList(ids); err != nil {
			return nil, fmt.Errorf("finding %d: exchange ids: %w", f.ID, err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// HostPolicies returns the last run's inferred per-host policies.
func (s *Store) HostPolicies(ctx context.Context) ([]HostPolicy, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT policy FROM host_policies ORDER BY host`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HostPolicy
	for rows.Next() {
		var js string
		if err := rows.Scan(&js); err != nil {
			return nil, err
		}
		var h HostPolicy
		if err := json.Unmarshal([]byte(js), &h); err != nil {
			return nil, fmt.Errorf("host policy: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// multiInsert batches rows into INSERT statements of up to multiRows rows:
// one statement execution per hundred rows instead of per row.
type multiInsert struct {
	c       *rawConn
	head    string
	columns int
	args    []any
	stmts   map[int]*rawStmt
}

const multiRows = 100

func newMultiInsert(c *rawConn, head string, columns int) *multiInsert {
	return &multiInsert{c: c, head: head, columns: columns, stmts: map[int]*rawStmt{}}
}

func (m *multiInsert) add(row ...any) error {
	m.args = append(m.args, row...)
	if len(m.args) == multiRows*m.columns {
		return m.flush()
	}
	return nil
}

func (m *multiInsert) flush() error {
	rows := len(m.args) / m.columns
	if rows == 0 {
		return nil
	}
	st, ok := m.stmts[rows]
	if !ok {
		tuple := "(" + strings.Repeat("?,", m.columns-1) + "?)"
		var err error
		if st, err = m.c.prepare(m.head + tuple + strings.Repeat(","+tuple, rows-1)); err != nil {
			return err
		}
		m.stmts[rows] = st
	}
	err := st.exec(m.args...)
	m.args = m.args[:0]
	return err
}

func (m *multiInsert) close() {
	for _, st := range m.stmts {
		st.close()
	}
}
