package storage

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Verdicts are stored in blocks of up to verdictBlockSize, keyed by the
// first exchange id of each: a million verdicts are a few hundred rows to
// write, and one is found with one indexed lookup and a short decode.
const verdictBlockSize = 4096

// A block is: uvarint count of reasons, each reason as uvarint length and
// bytes; then per verdict uvarint(id - previous id) and
// uvarint(reason index << 1 | shared).

func encodeVerdictBlock(vs []Verdict) []byte {
	var reasons []string
	index := map[string]uint64{}
	for _, v := range vs {
		if _, ok := index[v.Reason]; !ok {
			index[v.Reason] = uint64(len(reasons))
			reasons = append(reasons, v.Reason)
		}
	}
	b := binary.AppendUvarint(nil, uint64(len(reasons)))
	for _, r := range reasons {
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	prev := vs[0].ExchangeID
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(v.ExchangeID-prev))
		prev = v.ExchangeID
		code := index[v.Reason] << 1
		if v.Shared {
			code |= 1
		}
		b = binary.AppendUvarint(b, code)
	}
	return b
}

var errVerdictBlock = errors.New("malformed verdict block")

// decodeVerdictBlock calls fn for each verdict of a block whose first id
// is first, until fn returns false.
func decodeVerdictBlock(first int64, b []byte, fn func(Verdict) bool) error {
	next := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errVerdictBlock
		}
		b = b[n:]
		return v, nil
	}
	nr, err := next()
	if err != nil || nr > uint64(len(b)) {
		return errVerdictBlock
	}
	reasons := make([]string, nr)
	for i := range reasons {
		l, err := next()
		if err != nil || l > uint64(len(b)) {
			return errVerdictBlock
		}
		reasons[i], b = string(b[:l]), b[l:]
	}
	id := first
	for len(b) > 0 {
		delta, err := next()
		if err != nil {
			return err
		}
		code, err := next()
		if err != nil || code>>1 >= uint64(len(reasons)) {
			return errVerdictBlock
		}
		id += int64(delta)
		if !fn(Verdict{ExchangeID: id, Shared: code&1 == 1, Reason: reasons[code>>1]}) {
			return nil
		}
	}
	return nil
}

// saveVerdicts writes vs (replacing nothing: the caller emptied the table).
// A later verdict for the same exchange wins, as an upsert would.
func saveVerdicts(vs []Verdict, insert func(firstID int64, data []byte) error) error {
	sorted := slices.Clone(vs)
	slices.SortStableFunc(sorted, func(x, y Verdict) int { return cmp.Compare(x.ExchangeID, y.ExchangeID) })
	dedup := sorted[:0]
	for _, v := range sorted {
		if n := len(dedup); n > 0 && dedup[n-1].ExchangeID == v.ExchangeID {
			dedup[n-1] = v
			continue
		}
		dedup = append(dedup, v)
	}
	for start := 0; start < len(dedup); start += verdictBlockSize {
		block := dedup[start:min(start+verdictBlockSize, len(dedup))]
		if err := insert(block[0].ExchangeID, encodeVerdictBlock(block)); err != nil {
			return err
		}
	}
	return nil
}

// Verdict returns the browser verdict stored for an exchange, if any.
func (s *Store) Verdict(ctx context.Context, exchangeID int64) (*Verdict, error) {
	var first int64
	var data []byte
	err := s.db.QueryRowContext(ctx, `SELECT first_id, data FROM verdict_blocks WHERE first_id <= ?
		ORDER BY first_id DESC LIMIT 1`, exchangeID).Scan(&first, &data)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var found *Verdict
	err = decodeVerdictBlock(first, data, func(v Verdict) bool {
		if v.ExchangeID == exchangeID {
			found = &v
		}
		return v.ExchangeID < exchangeID
	})
	if err != nil {
		return nil, fmt.Errorf("verdict of exchange %d: %w", exchangeID, err)
	}
	return found, nil
}
