package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// corscopeBin is the real binary, built once for the end-to-end tests.
var corscopeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "corscope-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	corscopeBin = filepath.Join(dir, "corscope")
	build := exec.Command("go", "build", "-o", corscopeBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building corscope for the end-to-end tests:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binResult is one run of the binary.
type binResult struct {
	stdout, stderr string
	code           int
	wall, cpu      time.Duration // cpu: user + system, steadier than wall on a loaded machine
	maxRSS         int64         // bytes
}

// runBin runs the binary with stdin (may be nil) and checks what must hold
// for every run: no panic, no Go stack trace, no multi-line error.
func runBin(t *testing.T, stdin io.Reader, args ...string) binResult {
	t.Helper()
	cmd := exec.Command(corscopeBin, args...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := binResult{stdout: out.String(), stderr: errb.String(), wall: time.Since(start)}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("run %v: %v", args, err)
		}
	}
	r.code = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = int64(ru.Maxrss) * 1024 // Linux reports KiB
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for _, bad := range []string{"goroutine ", "panic:", "runtime error", "internal error"} {
		if strings.Contains(r.stderr, bad) {
			t.Fatalf("%v: stderr holds %q:\n%s", args, bad, r.stderr)
		}
	}
	return r
}

// cutMidRecord cuts a classic pcap in the middle of the record that spans
// frac of the file, and returns the bytes and the cut record's offset.
func cutMidRecord(t *testing.T, data []byte, frac float64) ([]byte, int) {
	t.Helper()
	var bo binary.ByteOrder = binary.LittleEndian
	if magic := binary.BigEndian.Uint32(data); magic == 0xa1b2c3d4 || magic == 0xa1b23c4d {
		bo = binary.BigEndian
	}
	target := int(float64(len(data)) * frac)
	for off := 24; off+16 <= len(data); {
		incl := int(bo.Uint32(data[off+8:]))
		next := off + 16 + incl
		if next > target && incl > 2 {
			return data[:off+16+incl/2], off
		}
		off = next
	}
	t.Fatal("no record to cut")
	return nil, 0
}

func countExchanges(t *testing.T, db string) int {
	t.Helper()
	r := runBin(t, nil, "exchanges", "--db", db, "--format", "ndjson")
	if r.code != 0 {
		t.Fatalf("exchanges: exit %d %s", r.code, r.stderr)
	}
	return strings.Count(r.stdout, "\n")
}

func TestBinaryExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pcap, err := os.ReadFile("../../testdata/pcap/curl-http.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cutPcap, recordAt := cutMidRecord(t, pcap, 0.6)
	harData, err := os.ReadFile("../../testdata/har/chromium-cdp-https.har")
	if err != nil {
		t.Fatal(err)
	}
	// Cut the HAR inside its third entry.
	third := bytes.Index(harData, []byte(`"entries"`))
	for i := 0; i < 3 && third >= 0; i++ {
		next := bytes.Index(harData[third+1:], []byte(`"startedDateTime"`))
		if next < 0 {
			t.Fatal("fixture HAR has fewer than three entries")
		}
		third += 1 + next
	}
	cutHAR := harData[:third+40]

	unreadable, unreadableMsg := write("unreadable.pcap", pcap), "permission denied"
	os.Chmod(unreadable, 0)
	if f, err := os.Open(unreadable); err == nil {
		// root reads anything: /proc/self/mem opens but every read at
		// offset 0 fails, which is what an unreadable input looks like.
		f.Close()
		unreadable, unreadableMsg = "/proc/self/mem", "read: input/output error"
	}

	for _, tc := range []struct {
		name     string
		path     string
		code     int
		msg      string // stderr holds path + ": " + msg
		minKept  int
		exactMsg bool
	}{
		{"garbage", write("garbage.bin", []byte("GIF89a\x00\x01 not a capture at all")), exitUsage, "not a pcap, pcapng or HAR file", 0, true},
		{"empty file", write("empty.pcap", nil), exitUsage, "empty input", 0, true},
		{"directory", dir, exitUsage, "is a directory", 0, true},
		{"missing file", filepath.Join(dir, "missing.har"), exitUsage, "no such file or directory", 0, true},
		{"unreadable file", unreadable, exitUsage, unreadableMsg, 0, true},
		{"truncated pcap", write("cut.pcap", cutPcap), exitPartial, fmt.Sprintf("truncated packet record at byte %d", recordAt), 1, true},
		{"HAR cut mid-entry", write("cut.har", cutHAR), exitPartial, "entry 2 at byte ", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "x.db")
			r := runBin(t, nil, "ingest", "--no-progress", "--db", db, tc.path)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tc.code, r.stderr)
			}
			var errLine string
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				if strings.HasPrefix(l, "corscope: ") {
					if errLine != "" {
						t.Fatalf("more than one error line: %q", r.stderr)
					}
					errLine = l
				}
			}
			want := "corscope: " + tc.path + ": " + tc.msg
			if !strings.HasPrefix(errLine, want) || (tc.exactMsg && errLine != want) {
				t.Fatalf("error line %q, want %q", errLine, want)
			}
			if tc.minKept > 0 {
				if n := countExchanges(t, db); n < tc.minKept {
					t.Fatalf("kept %d exchanges before the fault, want >= %d", n, tc.minKept)
				}
			}
		})
	}
	// The whole truncated file, read as one: exit 3 still reports everything
	// readable, and audit reports it too.
	r := runBin(t, nil, "audit", "--no-progress", "--format", "json", filepath.Join(dir, "cut.pcap"))
	if r.code != exitPartial || !strings.Contains(r.stdout, `"findings"`) {
		t.Fatalf("audit of a truncated pcap: exit %d, stdout %.200q", r.code, r.stdout)
	}
	// Bad flag values are usage errors, on one line.
	for _, args := range [][]string{{"--max-decoded", "lots"}, {"--max-headers", "0"}, {"--idle-timeout", "-1s"}, {"--max-body", "-5"}} {
		r := runBin(t, nil, append([]string{"ingest", "--db", ":memory:"}, append(args, "../../testdata/pcap/curl-http.pcap")...)...)
		if r.code != exitUsage || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, args[0]) {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestBinaryReadsStdin(t *testing.T) {
	for _, tc := range []struct {
		file, format string
		exchanges    int
	}{
		{"../../testdata/pcap/curl-http.pcap", "pcap", 20},
		{"../../testdata/har/chromium-cdp-https.har", "har", 54},
	} {
		t.Run(tc.format, func(t *testing.T) {
			f, err := os.Open(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			db := filepath.Join(t.TempDir(), "s.db")
			r := runBin(t, bufio.NewReader(f), "ingest", "--no-progress", "--db", db, "-")
			want := fmt.Sprintf("-: %s, %d exchanges", tc.format, tc.exchanges)
			if r.code != 0 || !strings.Contains(r.stderr, want) {
				t.Fatalf("exit %d, stderr %q, want %q", r.code, r.stderr, want)
			}
			if n := countExchanges(t, db); n != tc.exchanges {
				t.Fatalf("stored %d", n)
			}
		})
	}
}
