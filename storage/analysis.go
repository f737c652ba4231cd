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
// host policies with a's, in one transaction, and sets a.Run.ID.
func (s *Store) SaveAnalysis(ctx context.Context, a *Analysis) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if a.Run.Started.IsZero() {
		a.Run.Started = time.Now().UTC()
	}
	if a.Run.Finished.IsZero() {
		a.Run.Finished = time.Now().UTC()
	}
	stats, _ := json.Marshal(a.Run.Stats)
	for _, q := range []string{
		`DELETE FROM findings`, `DELETE FROM runs`, `DELETE FROM verdict_blocks`,
		`DELETE FROM host_policies`, `DELETE FROM pairings`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("save analysis: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO runs (started, finished, version, stats) VALUES (?,?,?,?)`,
		a.Run.Started.UnixNano(), a.Run.Finished.UnixNano(), a.Run.Version, string(stats))
	if err != nil {
		return fmt.Errorf("save analysis: %w", err)
	}
	if a.Run.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	insF, err := tx.PrepareContext(ctx, `INSERT INTO findings (run_id, fingerprint, rule, severity, severity_rank, title,
		host, endpoint, path_template, method, origin, origin_class, evidence, cwe, remediation, detail, suppressed,
		exchange_ids) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	var ids []byte
	for i := range a.Findings {
		f := &a.Findings[i]
		f.RunID = a.Run.ID
		ids = appendIDList(ids[:0], f.Exchanges)
		r, err := insF.ExecContext(ctx, f.RunID, f.Fingerprint, f.Rule, f.Severity, SeverityRank(f.Severity), f.Title,
			f.Host, f.Endpoint, f.PathTemplate, f.Method, f.Origin, f.OriginClass, string(mustJSON(nonNil(f.Evidence))),
			f.CWE, f.Remediation, f.Detail, f.Suppressed, string(ids))
		if err != nil {
			return fmt.Errorf("save finding %s: %w", f.Rule, err)
		}
		if f.ID, err = r.LastInsertId(); err != nil {
			return err
		}
	}
	pairings := slices.Clone(a.Pairings)
	slices.SortFunc(pairings, func(x, y Pairing) int {
		return cmp.Or(cmp.Compare(x.PreflightID, y.PreflightID), cmp.Compare(x.ActualID, y.ActualID))
	})
	ins := newMultiInsert(tx, `INSERT OR REPLACE INTO pairings (preflight_id, actual_id, kind) VALUES `, 3)
	for _, p := range pairings {
		if err := ins.add(ctx, p.PreflightID, p.ActualID, p.Kind); err != nil {
			return fmt.Errorf("save pairing: %w", err)
		}
	}
	if err := ins.flush(ctx); err != nil {
		return fmt.Errorf("save pairing: %w", err)
	}
	if err := saveVerdicts(ctx, tx, a.Verdicts); err != nil {
		return fmt.Errorf("save verdicts: %w", err)
	}
	insH, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO host_policies (host, policy) VALUES (?,?)`)
	if err != nil {
		return err
	}
	for _, h := range a.Hosts {
		if _, err := insH.ExecContext(ctx, h.Host, string(mustJSON(h))); err != nil {
			return fmt.Errorf("save host policy: %w", err)
		}
	}
	return tx.Commit()
}

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
	tx      *sql.Tx
	head    string
	columns int
	args    []any
	stmts   map[int]*sql.Stmt
}

const multiRows = 100

func newMultiInsert(tx *sql.Tx, head string, columns int) *multiInsert {
	return &multiInsert{tx: tx, head: head, columns: columns, stmts: map[int]*sql.Stmt{}}
}

func (m *multiInsert) add(ctx context.Context, row ...any) error {
	m.args = append(m.args, row...)
	if len(m.args) == multiRows*m.columns {
		return m.flush(ctx)
	}
	return nil
}

func (m *multiInsert) flush(ctx context.Context) error {
	rows := len(m.args) / m.columns
	if rows == 0 {
		return nil
	}
	st, ok := m.stmts[rows]
	if !ok {
		tuple := "(" + strings.Repeat("?,", m.columns-1) + "?)"
		q := m.head + tuple + strings.Repeat(","+tuple, rows-1)
		var err error
		if st, err = m.tx.PrepareContext(ctx, q); err != nil {
			return err
		}
		m.stmts[rows] = st
	}
	_, err := st.ExecContext(ctx, m.args...)
	m.args = m.args[:0]
	return err
}
