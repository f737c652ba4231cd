package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/h2"
	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/har"
	"github.com/corscope/corscope/internal/ingest"
)

// parseGlobal parses args as the root command's persistent flags.
func parseGlobal(t *testing.T, args ...string) *globalFlags {
	t.Helper()
	g := &globalFlags{}
	root := newRootCmdWith(g)
	if err := root.PersistentFlags().Parse(args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return g
}

func TestLimitFlagsReachTheIngestOptions(t *testing.T) {
	g := parseGlobal(t, "--db", ":memory:", "--max-body", "2048", "--max-decoded", "3MiB", "--max-header-bytes", "8KiB",
		"--max-headers", "12", "--max-connections", "77", "--max-buffered-per-conn", "100KB",
		"--max-buffered-total", "1M", "--idle-timeout", "42s", "--max-har-entry", "5MiB", "--max-h2-streams", "9",
		"--max-hpack-table", "8KiB", "--redact")
	opts, err := g.ingestOptions()
	if err != nil {
		t.Fatal(err)
	}
	want := ingest.Limits{MaxDecoded: 3 << 20, MaxHeaderBytes: 8 << 10, MaxHeaders: 12, MaxConnections: 77,
		MaxBufferedPerConn: 100000, MaxBufferedTotal: 1 << 20, IdleTimeout: 42 * time.Second, MaxH2Streams: 9,
		MaxHPACKTable: 8 << 10, MaxHAREntry: 5 << 20}
	if opts.Limits != want || opts.MaxBody != 2048 || opts.Redactor == nil {
		t.Fatalf("options %+v\nwant limits %+v", opts, want)
	}
	// Defaults are the readers' own.
	def, err := parseGlobal(t).ingestOptions()
	if err != nil {
		t.Fatal(err)
	}
	wantDef := ingest.Limits{MaxDecoded: http1.DefaultMaxDecoded, MaxHeaderBytes: http1.DefaultMaxHeaderBytes,
		MaxHeaders: http1.DefaultMaxHeaders, MaxConnections: defaultMaxConnections, MaxBufferedPerConn: defaultMaxBufferedPerConn,
		MaxBufferedTotal: defaultMaxBufferedTotal, IdleTimeout: defaultIdleTimeout, MaxH2Streams: h2.DefaultMaxStreams,
		MaxHPACKTable: h2.DefaultMaxTableSize, MaxHAREntry: har.DefaultMaxEntryBytes}
	if !reflect.DeepEqual(def.Limits, wantDef) || def.Redactor != nil {
		t.Fatalf("defaults %+v, want %+v", def.Limits, wantDef)
	}
}

func TestByteSizeFlag(t *testing.T) {
	for in, want := range map[string]int64{"512": 512, "64KiB": 64 << 10, "16MiB": 16 << 20, "2MB": 2e6, "1g": 1 << 30, "3 K": 3 << 10} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("%q -> %d, %v; want %d", in, b, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "lots", "1.5MB", "2TiB", "9999999999G"} {
		var b byteSize
		if err := b.Set(bad); err == nil {
			t.Errorf("%q accepted as %d", bad, b)
		}
	}
	if s := byteSize(16 << 20); s.String() != "16MiB" {
		t.Errorf("String %q", s.String())
	}
}
