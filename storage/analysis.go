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
		`DELETE FROM finding_exchanges`, `DELETE FROM findings`, `DELETE FROM runs`, `DELETE FROM verdict_blocks`,
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
		host, endpoint, path_template, method, origin, origin_class, evidence, cwe, remediation, detail, suppressed)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	nlinks := 0
	for _, f := range a.Findings {
		nlinks += len(f.Exchanges)
	}
	links := make([]exchangeFinding, 0, nlinks)
	for i := range a.Findings {
		f := &a.Findings[i]
		f.RunID = a.Run.ID
		r, err := insF.ExecContext(ctx, f.RunID, f.Fingerprint, f.Rule, f.Severity, SeverityRank(f.Severity), f.Title,
			f.Host, f.Endpoint, f.PathTemplate, f.Method, f.Origin, f.OriginClass, string(mustJSON(nonNil(f.Evidence))),
			f.CWE, f.Remediation, f.Detail, f.Suppressed)
		if err != nil {
			return fmt.Errorf("save finding %s: %w", f.Rule, err)
		}
		if f.ID, err = r.LastInsertId(); err != nil {
			return err
		}
		for _, id := range f.Exchanges {
			links = append(links, exchangeFinding{id, f.ID})
		}
	}
	// In key order every row lands at the end of the B-tree: a million
	// links cost a sort and a sequential write, not a million seeks.
	sortLinks(links)
	ins := newMultiInsert(tx, `INSERT OR IGNORE INTO finding_exchanges (exchange_id, finding_id) VALUES `, 2)
	for _, l := range links {
		if err := ins.add(ctx, l.exchange, l.finding); err != nil {
			return fmt.Errorf("save finding exchanges: %w", err)
		}
	}
	if err := ins.flush(ctx); err != nil {
		return fmt.Errorf("save finding exchanges: %w", err)
	}
	pairings := slices.Clone(a.Pairings)
	slices.SortFunc(pairings, func(x, y Pairing) int {
		return cmp.Or(cmp.Compare(x.PreflightID, y.PreflightID), cmp.Compare(x.ActualID, y.ActualID))
	})
	ins = newMultiInsert(tx, `INSERT OR REPLACE INTO pairings (preflight_id, actual_id, kind) VALUES `, 3)
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
		path_template, method, origin, origin_class, evidence, cwe, remediation, detail, suppressed
		FROM findings ORDER BY severity_rank DESC, rule, host, endpoint, id`)
	if err != nil {
		return nil, err
	}
	var out []Finding
	index := map[int64]int{}
	for rows.Next() {
		var f Finding
		var evidence string
		if err := rows.Scan(&f.ID, &f.RunID, &f.Fingerprint, &f.Rule, &f.Severity, &f.Title, &f.Host, &f.Endpoint,
			&f.PathTemplate, &f.Method, &f.Origin, &f.OriginClass, &evidence, &f.CWE, &f.Remediation, &f.Detail,
			&f.Suppressed); err != nil {
			rows.Close()
			return nil, err
		}
		_ = json.Unmarshal([]byte(evidence), &f.Evidence)
		index[f.ID] = len(out)
		out = append(out, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// In key order (by exchange) each finding's ids come out ascending.
	fe, err := s.db.QueryContext(ctx, `SELECT finding_id, exchange_id FROM finding_exchanges`)
	if err != nil {
		return nil, err
	}
	defer fe.Close()
	for fe.Next() {
		var fid, eid int64
		if err := fe.Scan(&fid, &eid); err != nil {
			return nil, err
		}
		if i, ok := index[fid]; ok {
			out[i].Exchanges = append(out[i].Exchanges, eid)
		}
	}
	return out, fe.Err()
}

// FindingsOf returns the ids of the findings an exchange supports.
func (s *Store) FindingsOf(ctx context.Context, exchangeID int64) ([]int64, error) {
	return s.queryIDs(ctx, `SELECT finding_id FROM finding_exchanges WHERE exchange_id = ?`, exchangeID)
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
type exchangeFinding struct{ exchange, finding int64 }

// sortLinks orders links by exchange, then finding. Packed into one
// integer (when the ids fit, as they do below 2^39 exchanges and 2^24
// findings) the sort takes a third of the time.
func sortLinks(links []exchangeFinding) {
	const findingBits = 24
	packed := make([]uint64, len(links))
	for i, l := range links {
		if l.finding < 0 || l.finding >= 1<<findingBits || l.exchange < 0 || l.exchange >= 1<<(63-findingBits) {
			slices.SortFunc(links, func(x, y exchangeFinding) int {
				return cmp.Or(cmp.Compare(x.exchange, y.exchange), cmp.Compare(x.finding, y.finding))
			})
			return
		}
		packed[i] = uint64(l.exchange)<<findingBits | uint64(l.finding)
	}
	slices.Sort(packed)
	for i, p := range packed {
		links[i] = exchangeFinding{int64(p >> findingBits), int64(p & (1<<findingBits - 1))}
	}
}

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
