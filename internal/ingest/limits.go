package ingest

import (
	"strconv"
	"strings"
	"time"

	"github.com/corscope/corscope/capture"
	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/har"
	"github.com/corscope/corscope/internal/redact"
	"github.com/corscope/corscope/storage"
)

// Limits bound what one ingest may hold or produce on hostile input. Zero
// fields take the readers' defaults (capture/http1, capture/tcpasm, har).
type Limits struct {
	MaxDecoded         int64         // decompressed body bytes (http1.Options.MaxDecoded)
	MaxHeaderBytes     int           // HTTP/1 start line plus header section
	MaxHeaders         int           // header fields kept per HTTP/1 message
	MaxConnections     int           // TCP connections tracked at once
	MaxBufferedPerConn int           // out-of-order TCP bytes held per connection
	MaxBufferedTotal   int           // out-of-order TCP bytes held in all
	IdleTimeout        time.Duration // capture time before a silent connection is closed
	MaxH2Streams       int           // HTTP/2 streams tracked at once per connection
	MaxHPACKTable      int           // HPACK dynamic table bytes a peer may allow
	MaxHAREntry        int64         // JSON bytes of one HAR entry
}

// Counters in storage.Input.Stats for limits hit, besides the capture
// pipeline's own: "tcp.evicted" and capture.CounterExchangesEvicted for
// MaxConnections, "tcp.holes_forced_by_buffer_cap",
// "tcp.buffer_cap_bytes_skipped" and capture.CounterExchangesBufferCap for
// the buffer caps, "tcp.idle_closed" and capture.CounterExchangesIdleClosed
// for IdleTimeout, "h2.streams_untracked" for MaxH2Streams and
// "h2.header_blocks_over_cap" for MaxHPACKTable (and HPACK strings over
// MaxHeaderBytes).
const (
	CounterBodyStoredPrefix   = "limits.body_stored_prefix"    // --max-body: exchanges with a body stored in part
	CounterDecompressionCap   = "limits.decompression_capped"  // --max-decoded
	CounterHeaderSectionCap   = "limits.header_section_capped" // --max-header-bytes
	CounterHeaderFieldsCap    = "limits.header_fields_capped"  // --max-headers
	CounterHAREntriesSkipped  = "limits.har_entries_skipped"   // --max-har-entry (and non-object entries)
	CounterRedactedExchanges  = "redact.exchanges_changed"     // --redact: exchanges holding a secret
	CounterRedactedValues     = "redact.values_replaced"       // --redact: values replaced
	WarnBodyStoredPrefix      = "body over the stored cap (--max-body): only its first bytes are kept"
	warnHeaderFieldsCapPrefix = "header fields over the cap of "
	warnHPACKFieldCapPrefix   = "header field over the " // h2.WarnFieldCapFmt
)

// CaptureOptions are the capture pipeline's options for these limits and
// stored-body cap (live capture uses them too).
func (l Limits) CaptureOptions(maxBody int64) capture.Options {
	var o capture.Options
	o.HTTP = http1.Options{MaxBody: maxBody, MaxDecoded: l.MaxDecoded, MaxHeaderBytes: l.MaxHeaderBytes, MaxHeaders: l.MaxHeaders}
	o.Reassembly.MaxConnections = l.MaxConnections
	o.Reassembly.MaxBufferedPerConn = l.MaxBufferedPerConn
	o.Reassembly.MaxBufferedTotal = l.MaxBufferedTotal
	o.Reassembly.IdleTimeout = l.IdleTimeout
	o.HTTP2.MaxStreams = l.MaxH2Streams
	o.HTTP2.MaxTableSize = l.MaxHPACKTable
	return o
}

// HAROptions are the HAR reader's options for these limits.
func (l Limits) HAROptions(path string, maxBody int64) har.Options {
	return har.Options{Path: path, MaxBody: maxBody, MaxEntryBytes: l.MaxHAREntry}
}

// limitTally counts the exchanges that hit a per-message limit, from the
// warnings the readers put on them, and flags stored-body truncation
// (which the readers record only as size > stored bytes).
type limitTally struct {
	maxBody  int64
	noBodies bool
	counts   map[string]int64
}

func newLimitTally(maxBody int64, noBodies bool) *limitTally {
	return &limitTally{maxBody: maxBody, noBodies: noBodies, counts: map[string]int64{}}
}

func (t *limitTally) observe(ex *storage.Exchange) {
	if !t.noBodies && t.maxBody > 0 &&
		(bodyCut(ex.RequestBody, ex.RequestBodySize, t.maxBody) || bodyCut(ex.ResponseBody, ex.ResponseBodySize, t.maxBody)) {
		ex.AddWarning(WarnBodyStoredPrefix)
	}
	for _, w := range ex.Warnings {
		switch {
		case w == WarnBodyStoredPrefix:
			t.counts[CounterBodyStoredPrefix]++
		case w == http1.WarnDecompressionCap:
			t.counts[CounterDecompressionCap]++
		case w == http1.WarnHeaderBytesCap, strings.HasPrefix(w, warnHPACKFieldCapPrefix):
			t.counts[CounterHeaderSectionCap]++
		case strings.HasPrefix(w, warnHeaderFieldsCapPrefix):
			t.counts[CounterHeaderFieldsCap]++
		}
	}
}

// bodyCut reports a body stored up to exactly the cap while its size says
// more was there (a body cut by a capture gap is shorter than the cap).
func bodyCut(stored []byte, size, max int64) bool {
	return int64(len(stored)) == max && size > max
}

// addTo merges the tallies into an input's stats.
func (t *limitTally) addTo(in *storage.Input) {
	for k, v := range t.counts {
		if v == 0 {
			continue
		}
		if in.Stats == nil {
			in.Stats = map[string]int64{}
		}
		in.Stats[k] += v
	}
}

// summary is the input-level warning naming the hostile-input limits hit
// (a body over --max-body is ordinary and only counted).
func (t *limitTally) summary() string {
	var parts []string
	for _, k := range []string{CounterDecompressionCap, CounterHeaderSectionCap, CounterHeaderFieldsCap} {
		if n := t.counts[k]; n > 0 {
			parts = append(parts, k+"="+strconv.FormatInt(n, 10))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "limits hit (exchanges flagged): " + strings.Join(parts, ", ")
}

// Preparer readies each exchange for the store: it counts and flags the
// limits hit and, with a Redactor, replaces secrets. File uses one per
// input; live capture can use one per session. Not safe for concurrent use.
type Preparer struct {
	tally    *limitTally
	redactor *redact.Redactor
	redacted int64 // exchanges changed
	values   int64 // values replaced
}

// NewPreparer returns a Preparer for opts (MaxBody, NoBodies, Redactor).
func NewPreparer(opts Options) *Preparer {
	maxBody := opts.MaxBody
	if maxBody == 0 {
		maxBody = 1 << 20
	}
	return &Preparer{tally: newLimitTally(maxBody, opts.NoBodies), redactor: opts.Redactor}
}

// Exchange flags, counts and redacts ex in place; call it before storing.
func (p *Preparer) Exchange(ex *storage.Exchange) {
	p.tally.observe(ex)
	if p.redactor != nil {
		if n := p.redactor.Exchange(ex); n > 0 {
			p.redacted++
			p.values += int64(n)
		}
	}
}

// Finish adds the counters and the limits warning to the input.
func (p *Preparer) Finish(in *storage.Input) {
	p.tally.addTo(in)
	if w := p.tally.summary(); w != "" {
		in.Warnings = append(in.Warnings, w)
	}
	if p.redactor != nil {
		if in.Stats == nil {
			in.Stats = map[string]int64{}
		}
		in.Stats[CounterRedactedExchanges] += p.redacted
		in.Stats[CounterRedactedValues] += p.values
	}
}
