package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// FindInput returns the completely ingested input with this content hash,
// or nil. Re-ingesting such a file is a no-op.
func (s *Store) FindInput(ctx context.Context, sha256 string) (*Input, error) {
	ins, err := s.queryInputs(ctx, `WHERE sha256 = ? AND complete = 1 ORDER BY id LIMIT 1`, sha256)
	if err != nil || len(ins) == 0 {
		return nil, err
	}
	return &ins[0], nil
}

// BeginInput records an input whose ingest starts now and sets in.ID.
// Rows of an earlier, unfinished ingest of the same content (a crash
// mid-ingest) are removed first, so the database never holds half an input
// next to a whole one.
func (s *Store) BeginInput(ctx context.Context, in *Input) error {
	if in.Started.IsZero() {
		in.Started = time.Now().UTC()
	}
	if in.SHA256 != "" {
		if err := s.removeIncomplete(ctx, `sha256 = ?`, in.SHA256); err != nil {
			return err
		}
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO inputs (path, format, sha256, size, started) VALUES (?,?,?,?,?)`,
		in.Path, in.Format, in.SHA256, in.Size, in.Started.UnixNano())
	if err != nil {
		return fmt.Errorf("record input %s: %w", in.Path, err)
	}
	in.ID, err = res.LastInsertId()
	return err
}

// FinishInput stores the input's final counters and marks it complete: only
// from here on does it count as ingested.
func (s *Store) FinishInput(ctx context.Context, in *Input) error {
	in.Completed = time.Now().UTC()
	in.Complete = true
	stats, _ := json.Marshal(in.Stats)
	warnings, _ := json.Marshal(nonNil(in.Warnings))
	_, err := s.db.ExecContext(ctx, `UPDATE inputs SET sha256 = ?, size = ?, exchanges = ?, connections = ?, packets = ?,
		warnings = ?, stats = ?, completed = ?, complete = 1 WHERE id = ?`,
		in.SHA256, in.Size, in.Exchanges, in.Connections, in.Packets, string(warnings), string(stats),
		in.Completed.UnixNano(), in.ID)
	if err != nil {
		return fmt.Errorf("finish input %s: %w", in.Path, err)
	}
	return nil
}

// DeleteInput removes an input and everything recorded from it.
func (s *Store) DeleteInput(ctx context.Context, id int64) error {
	return s.removeIncomplete(ctx, `id = ?`, id)
}

func (s *Store) removeIncomplete(ctx context.Context, where string, arg any) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	cond := `input_id IN (SELECT id FROM inputs WHERE ` + where + ` AND (complete = 0 OR ? = 1))`
	force := 0
	if where == `id = ?` {
		force = 1
	}
	for _, q := range []string{
		`DELETE FROM bodies WHERE exchange_id IN (SELECT id FROM exchanges WHERE ` + cond + `)`,
		`DELETE FROM pairings WHERE actual_id IN (SELECT id FROM exchanges WHERE ` + cond + `)`,
		`DELETE FROM exchanges WHERE ` + cond,
		`DELETE FROM connections WHERE ` + cond,
	} {
		if _, err := tx.ExecContext(ctx, q, arg, force); err != nil {
			return fmt.Errorf("remove input rows: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM inputs WHERE `+where+` AND (complete = 0 OR ? = 1)`, arg, force); err != nil {
		return err
	}
	return tx.Commit()
}

// Inputs lists every input, oldest first.
func (s *Store) Inputs(ctx context.Context) ([]Input, error) {
	return s.queryInputs(ctx, `ORDER BY id`)
}

func (s *Store) queryInputs(ctx context.Context, tail string, args ...any) ([]Input, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, path, format, sha256, size, exchanges, connections, packets,
		warnings, stats, started, completed, complete FROM inputs `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Input
	for rows.Next() {
		var in Input
		var warnings, stats string
		var started, completed sql.NullInt64
		if err := rows.Scan(&in.ID, &in.Path, &in.Format, &in.SHA256, &in.Size, &in.Exchanges, &in.Connections,
			&in.Packets, &warnings, &stats, &started, &completed, &in.Complete); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(warnings), &in.Warnings)
		_ = json.Unmarshal([]byte(stats), &in.Stats)
		in.Started, in.Completed = fromNanos(started), fromNanos(completed)
		out = append(out, in)
	}
	return out, rows.Err()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")
