package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// appendIDList appends ids as a JSON array of integers, the form SQLite's
// json_each reads.
func appendIDList(b []byte, ids []int64) []byte {
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return append(b, ']')
}

var errIDList = errors.New("malformed id list")

// parseIDList reads what appendIDList (or SQLite's json_group_array)
// wrote, in ascending order.
func parseIDList(s string) ([]int64, error) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, errIDList
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return nil, nil
	}
	out := make([]int64, 0, len(body)/8+1)
	sorted := true
	for len(body) > 0 {
		i := 0
		for i < len(body) && body[i] != ',' {
			i++
		}
		id, err := strconv.ParseInt(body[:i], 10, 64)
		if err != nil {
			return nil, errIDList
		}
		if n := len(out); n > 0 && out[n-1] > id {
			sorted = false
		}
		out = append(out, id)
		if i == len(body) {
			break
		}
		body = body[i+1:]
		if body == "" {
			return nil, errIDList // trailing comma
		}
	}
	if !sorted {
		slices.Sort(out)
	}
	return out, nil
}

// FindingRef is a finding as seen from one exchange it supports.
type FindingRef struct {
	ID       int64
	Rule     string
	Severity string
	Rank     int // SeverityRank(Severity)
}

// FindingIndex answers "which findings does this exchange support" for
// the last analysis run, from memory: the ids are stored per finding, and
// per-exchange questions come from the UI once per row.
type FindingIndex struct {
	run  Run // which run it indexes (ids repeat once runs are replaced)
	refs []FindingRef
	keys []uint64 // exchange id << refBits | index into refs, ascending
}

const refBits = 24

// Of returns the findings exchange id supports, most severe first.
func (x *FindingIndex) Of(id int64) []FindingRef {
	if x == nil || id < 0 {
		return nil
	}
	lo, _ := slices.BinarySearch(x.keys, uint64(id)<<refBits)
	var out []FindingRef
	for i := lo; i < len(x.keys) && int64(x.keys[i]>>refBits) == id; i++ {
		out = append(out, x.refs[x.keys[i]&(1<<refBits-1)])
	}
	slices.SortStableFunc(out, func(a, b FindingRef) int { return b.Rank - a.Rank })
	return out
}

// MaxRank returns the highest severity rank among the findings id
// supports, and false when it supports none.
func (x *FindingIndex) MaxRank(id int64) (int, bool) {
	if x == nil || id < 0 {
		return 0, false
	}
	lo, _ := slices.BinarySearch(x.keys, uint64(id)<<refBits)
	best, found := 0, false
	for i := lo; i < len(x.keys) && int64(x.keys[i]>>refBits) == id; i++ {
		if r := x.refs[x.keys[i]&(1<<refBits-1)].Rank; !found || r > best {
			best, found = r, true
		}
	}
	return best, found
}

// Each calls fn for every exchange that supports a finding, in id order,
// with its findings (the slice is reused between calls).
func (x *FindingIndex) Each(fn func(id int64, refs []FindingRef)) {
	if x == nil {
		return
	}
	var cur []FindingRef
	for i := 0; i < len(x.keys); {
		id := int64(x.keys[i] >> refBits)
		cur = cur[:0]
		for ; i < len(x.keys) && int64(x.keys[i]>>refBits) == id; i++ {
			cur = append(cur, x.refs[x.keys[i]&(1<<refBits-1)])
		}
		fn(id, cur)
	}
}

// findingIndexCache keeps the last index built, rebuilt when a new run
// replaces the findings.
type findingIndexCache struct {
	mu  sync.Mutex
	idx *FindingIndex
}

// FindingIndex returns the index of the last run's findings (nil when no
// analysis ran), built once per run and shared by callers.
func (s *Store) FindingIndex(ctx context.Context) (*FindingIndex, error) {
	run, err := s.LastRun(ctx)
	if err != nil || run == nil {
		return nil, err
	}
	s.findings.mu.Lock()
	defer s.findings.mu.Unlock()
	if c := s.findings.idx; c != nil && c.run.ID == run.ID && c.run.Started.Equal(run.Started) &&
		c.run.Finished.Equal(run.Finished) {
		return s.findings.idx, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, rule, severity, exchange_ids FROM findings WHERE run_id = ?`, run.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	x := &FindingIndex{run: *run}
	for rows.Next() {
		var r FindingRef
		var ids string
		if err := rows.Scan(&r.ID, &r.Rule, &r.Severity, &ids); err != nil {
			return nil, err
		}
		if len(x.refs) == 1<<refBits {
			return nil, fmt.Errorf("finding index: more than %d findings", 1<<refBits)
		}
		r.Rank = SeverityRank(r.Severity)
		list, err := parseIDList(ids)
		if err != nil {
			return nil, fmt.Errorf("finding %d: exchange ids: %w", r.ID, err)
		}
		for _, id := range list {
			if id < 0 || id >= 1<<(64-refBits) {
				return nil, fmt.Errorf("finding %d: exchange id %d out of range", r.ID, id)
			}
			x.keys = append(x.keys, uint64(id)<<refBits|uint64(len(x.refs)))
		}
		x.refs = append(x.refs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(x.keys)
	x.keys = slices.Compact(x.keys)
	s.findings.idx = x
	return x, nil
}

// FindingsOf returns the ids of the findings an exchange supports.
func (s *Store) FindingsOf(ctx context.Context, exchangeID int64) ([]int64, error) {
	x, err := s.FindingIndex(ctx)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, r := range x.Of(exchangeID) {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids, nil
}
