package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/corscope/corscope/capture/h2"
	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/har"
	"github.com/corscope/corscope/internal/ingest"
	"github.com/corscope/corscope/internal/redact"
	"github.com/corscope/corscope/storage"
)

// limitFlags are the resource limits every ingest applies (issue 8): each
// one bounds memory or time on hostile input, and hitting one is counted in
// the input's stats and flagged on the exchange, never silent.
type limitFlags struct {
	maxDecoded         byteSize
	maxHeaderBytes     byteSize
	maxHeaders         int
	maxConnections     int
	maxBufferedPerConn byteSize
	maxBufferedTotal   byteSize
	idleTimeout        time.Duration
	maxH2Streams       int
	maxHPACKTable      byteSize
	maxHAREntry        byteSize
	redact             bool
}

// Defaults of the reassembly limits, as in capture/tcpasm.
const (
	defaultMaxConnections     = 1 << 16
	defaultMaxBufferedPerConn = 4 << 20
	defaultMaxBufferedTotal   = 128 << 20
	defaultIdleTimeout        = 5 * time.Minute
)

func (l *limitFlags) add(fs *pflag.FlagSet) {
	l.maxDecoded = http1.DefaultMaxDecoded
	l.maxHeaderBytes = http1.DefaultMaxHeaderBytes
	l.maxBufferedPerConn = defaultMaxBufferedPerConn
	l.maxBufferedTotal = defaultMaxBufferedTotal
	l.maxHAREntry = har.DefaultMaxEntryBytes
	l.maxHPACKTable = h2.DefaultMaxTableSize
	fs.Var(&l.maxDecoded, "max-decoded", "stop decompressing a body at this size (gzip/deflate/br/zstd bombs); e.g. 16MiB")
	fs.Var(&l.maxHeaderBytes, "max-header-bytes", "largest HTTP/1 start line plus header section kept")
	fs.IntVar(&l.maxHeaders, "max-headers", http1.DefaultMaxHeaders, "header fields kept per HTTP/1 message")
	fs.IntVar(&l.maxConnections, "max-connections", defaultMaxConnections, "TCP connections tracked at once (least recently seen closed beyond)")
	fs.Var(&l.maxBufferedPerConn, "max-buffered-per-conn", "out-of-order TCP bytes held per connection")
	fs.Var(&l.maxBufferedTotal, "max-buffered-total", "out-of-order TCP bytes held in all")
	fs.DurationVar(&l.idleTimeout, "idle-timeout", defaultIdleTimeout, "capture time without packets before a connection is closed")
	fs.IntVar(&l.maxH2Streams, "max-h2-streams", h2.DefaultMaxStreams, "HTTP/2 streams tracked at once per connection (streams beyond come out with status 0, flagged)")
	fs.Var(&l.maxHPACKTable, "max-hpack-table", "largest HPACK dynamic table a peer may set up (header blocks beyond are not decoded, flagged)")
	fs.Var(&l.maxHAREntry, "max-har-entry", "largest HAR entry read (JSON bytes); larger entries are skipped and counted")
	fs.BoolVar(&l.redact, "redact", false, "replace cookie values, credentials and token-like query parameters with keyed hashes before storing")
}

func (l *limitFlags) check(maxBody int64) error {
	if maxBody < 0 {
		return withCode(exitUsage, fmt.Errorf("--max-body must not be negative (use --no-bodies to store none)"))
	}
	for name, v := range map[string]int64{"--max-headers": int64(l.maxHeaders), "--max-connections": int64(l.maxConnections),
		"--idle-timeout": int64(l.idleTimeout), "--max-h2-streams": int64(l.maxH2Streams),
		"--max-hpack-table": int64(l.maxHPACKTable)} {
		if v <= 0 {
			return withCode(exitUsage, fmt.Errorf("%s must be positive", name))
		}
	}
	return nil
}

// ingestOptions builds the ingest options from the global flags; with
// --redact it loads (or creates) the database's redaction key.
func (g *globalFlags) ingestOptions() (ingest.Options, error) {
	if err := g.limits.check(g.maxBody); err != nil {
		return ingest.Options{}, err
	}
	l := &g.limits
	opts := ingest.Options{MaxBody: g.maxBody, NoBodies: g.noBodies, Keylogs: g.keylogs,
		Limits: ingest.Limits{
			MaxDecoded:         int64(l.maxDecoded),
			MaxHeaderBytes:     int(l.maxHeaderBytes),
			MaxHeaders:         l.maxHeaders,
			MaxConnections:     l.maxConnections,
			MaxBufferedPerConn: int(l.maxBufferedPerConn),
			MaxBufferedTotal:   int(l.maxBufferedTotal),
			IdleTimeout:        l.idleTimeout,
			MaxH2Streams:       l.maxH2Streams,
			MaxHPACKTable:      int(l.maxHPACKTable),
			MaxHAREntry:        int64(l.maxHAREntry),
		}}
	if l.redact {
		keyPath := ""
		if g.db != storage.MemoryPath && g.db != "" {
			keyPath = g.db + ".redact-key"
			if abs, err := filepath.Abs(keyPath); err == nil {
				keyPath = abs
			}
		}
		r, err := redact.Open(keyPath)
		if err != nil {
			return opts, withCode(exitUsage, err)
		}
		opts.Redactor = r
	}
	return opts, nil
}

// byteSize is a flag holding a byte count: plain bytes or with a unit
// (KB/MB/GB decimal; K/M/G, KiB/MiB/GiB binary).
type byteSize int64

func (b *byteSize) String() string {
	v := int64(*b)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v >= u.mult && v%u.mult == 0 {
			return strconv.FormatInt(v/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(v, 10)
}

func (b *byteSize) Type() string { return "size" }

func (b *byteSize) Set(s string) error {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
	} {
		if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			mult, t = u.mult, strings.TrimSpace(t[:len(t)-len(u.suffix)])
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return fmt.Errorf("%q is not a size between 1 byte and 1TiB (e.g. 64KiB, 16MiB)", s)
	}
	*b = byteSize(n * mult)
	return nil
}
