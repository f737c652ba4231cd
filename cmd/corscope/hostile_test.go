package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGzipBombIsAuditedQuicklyInBoundedMemory: a 1 MB capture whose
// response inflates to 1 GiB (testdata/hostile, made by scripts/genbomb).
func TestGzipBombIsAuditedQuicklyInBoundedMemory(t *testing.T) {
	const bomb = "../../testdata/hostile/gzip-bomb.pcap"
	if st, err := os.Stat(bomb); err != nil || st.Size() > 2<<20 {
		t.Fatalf("fixture %s: %v (regenerate with go run ./scripts/genbomb)", bomb, err)
	}
	db := filepath.Join(t.TempDir(), "bomb.db")
	r := runBin(t, nil, "audit", "--no-progress", "--db", db, "--format", "json", bomb)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r.cpu > 5*time.Second || r.maxRSS > 300<<20 {
		t.Fatalf("audit took %s CPU, peak RSS %d MB (want < 5 s, < 300 MB)", r.cpu, r.maxRSS>>20)
	}
	t.Logf("gzip bomb audit: %s wall, %s CPU, peak RSS %d MB", r.wall.Round(time.Millisecond), r.cpu.Round(time.Millisecond), r.maxRSS>>20)
	var rep struct {
		Inputs []struct{ Warnings []string } `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Inputs) != 1 ||
		!strings.Contains(strings.Join(rep.Inputs[0].Warnings, "|"), "limits.decompression_capped=1") {
		t.Fatalf("report inputs %+v (%v)", rep.Inputs, err)
	}
	ex := runBin(t, nil, "exchanges", "--db", db, "--format", "ndjson")
	var rec struct {
		Warnings      []string `json:"warnings"`
		ResponseBytes int64    `json:"response_body_bytes"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(ex.stdout)), &rec); err != nil {
		t.Fatalf("exchanges: %v %q", err, ex.stdout)
	}
	if !strings.Contains(strings.Join(rec.Warnings, "|"), "decompression stopped at cap") || rec.ResponseBytes > 16<<20 {
		t.Fatalf("exchange %+v", rec)
	}
	// A lower --max-decoded stops earlier.
	db2 := filepath.Join(t.TempDir(), "bomb2.db")
	r = runBin(t, nil, "ingest", "--no-progress", "--db", db2, "--max-decoded", "2MiB", bomb)
	if r.code != 0 || r.maxRSS > 300<<20 {
		t.Fatalf("--max-decoded 2MiB: exit %d, RSS %d MB, %s", r.code, r.maxRSS>>20, r.stderr)
	}
	ex = runBin(t, nil, "exchanges", "--db", db2, "--format", "ndjson")
	if err := json.Unmarshal([]byte(strings.TrimSpace(ex.stdout)), &rec); err != nil || rec.ResponseBytes != 2<<20 {
		t.Fatalf("--max-decoded 2MiB: decoded %d bytes (%v)", rec.ResponseBytes, err)
	}
}

const harHead = `{"log":{"version":"1.2","creator":{"name":"hostile","version":"1"},"entries":[`

func harEntry(url, headers, text string) string {
	return `{"startedDateTime":"2026-01-02T03:04:05.000Z","time":1,"request":{"method":"GET","url":"` + url +
		`","httpVersion":"HTTP/1.1","headers":[` + headers + `],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},` +
		`"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":` +
		fmt.Sprint(len(text)) + `,"mimeType":"text/plain","text":"` + text + `"},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}`
}

func TestHostileHARs(t *testing.T) {
	dir := t.TempDir()
	ok1 := harEntry("https://a.example/first", "", "x")
	ok2 := harEntry("https://a.example/last", "", "y")

	// 1. A 100 MB string value, streamed to disk: the entry exceeds the
	// entry cap, is skipped and counted; its neighbours are kept.
	huge := filepath.Join(dir, "huge-string.har")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	big := harEntry("https://a.example/huge", "", "@@")
	at := strings.Index(big, "@@")
	w.WriteString(harHead + ok1 + "," + big[:at])
	chunk := strings.Repeat("A", 1<<20)
	for i := 0; i < 100; i++ {
		w.WriteString(chunk)
	}
	w.WriteString(big[at+2:] + "," + ok2 + "]}}")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// 2. Deep nesting inside an entry, and as the whole document.
	deepEntry := filepath.Join(dir, "deep-entry.har")
	nest := strings.Repeat("[", 500000) + strings.Repeat("]", 500000)
	os.WriteFile(deepEntry, []byte(harHead+ok1+`,{"_deep":`+nest+`},`+ok2+"]}}"), 0o600)
	deepDoc := filepath.Join(dir, "deep-doc.har")
	os.WriteFile(deepDoc, []byte(`{"log":`+strings.Repeat(`{"a":`, 300000)), 0o600)

	// 3. 200,000 request headers in one entry.
	var hb strings.Builder
	for i := 0; i < 200000; i++ {
		if i > 0 {
			hb.WriteByte(',')
		}
		fmt.Fprintf(&hb, `{"name":"X-H%d","value":"v"}`, i)
	}
	manyHeaders := filepath.Join(dir, "many-headers.har")
	os.WriteFile(manyHeaders, []byte(harHead+ok1+","+harEntry("https://a.example/many", hb.String(), "z")+","+ok2+"]}}"), 0o600)

	for _, tc := range []struct {
		name, path string
		code       int
		exchanges  int
		stderr     string
	}{
		{"100 MB string value", huge, 0, 2, ""},
		// The reader gives up on an entry nested deeper than its limit
		// (10,000): what came before is kept, the message names the entry.
		{"deep nesting inside an entry", deepEntry, exitPartial, 1, deepEntry + ": entry 1 at byte "},
		{"deep nesting as the document", deepDoc, exitUsage, 0, deepDoc + ": "},
		{"200k headers in an entry", manyHeaders, 0, 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "h.db")
			r := runBin(t, nil, "ingest", "--no-progress", "--db", db, tc.path)
			t.Logf("%s: exit %d in %s (%s CPU), peak RSS %d MB; %s", tc.name, r.code, r.wall.Round(time.Millisecond), r.cpu.Round(time.Millisecond), r.maxRSS>>20, strings.TrimSpace(r.stderr))
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("exit %d (want %d), stderr %q", r.code, tc.code, r.stderr)
			}
			if r.maxRSS > 256<<20 || r.cpu > 10*time.Second {
				t.Fatalf("peak RSS %d MB, %s CPU", r.maxRSS>>20, r.cpu)
			}
			if tc.code != exitUsage {
				if n := countExchanges(t, db); n != tc.exchanges {
					t.Fatalf("stored %d exchanges, want %d", n, tc.exchanges)
				}
			}
		})
	}
}
