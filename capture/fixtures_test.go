package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/corscope/corscope/capture/lossy"
	"github.com/corscope/corscope/capture/pcapio"
	"github.com/corscope/corscope/internal/shared"
	"github.com/corscope/corscope/storage"
)

// served is one line of a fixture's access log (testdata/pcap/*.served.ndjson).
type served struct {
	Proto  string `json:"proto"`
	TLS    bool   `json:"tls"`
	Method string `json:"method"`
	Host   string `json:"host"`
	Path   string `json:"path"`
	Origin string `json:"origin"`
	Status int    `json:"status"`
	Cookie bool   `json:"cookie"`
}

// key leaves out what re-recording changes (client ports, times).
func (s served) key() string {
	return fmt.Sprintf("%s %s %s origin=%q %d", s.Method, s.Host, s.Path, s.Origin, s.Status)
}

func exchangeServedKey(e *storage.Exchange) string {
	return fmt.Sprintf("%s %s %s origin=%q %d", e.Method, e.Host, e.Path, e.Origin(), e.Status)
}

func fixtureDir(t *testing.T) string {
	dir := filepath.Join(shared.RepoRoot(t), "testdata", "pcap")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("testdata/pcap fixtures absent")
	}
	return dir
}

func readServed(t *testing.T, path string) []served {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []served
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s served
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, s)
	}
	return out
}

// TestRecordedCleartextFixtures: every HTTP/1.x request the fixture server
// answered is rebuilt from the capture, with its method, host, path, Origin
// and status, whatever the file format or link type.
func TestRecordedCleartextFixtures(t *testing.T) {
	dir := fixtureDir(t)
	cases := map[string]string{
		"chromium-http.pcap":   "chromium-http.served.ndjson",
		"chromium-http.pcapng": "chromium-http.served.ndjson",
		"curl-http.pcap":       "curl-http.served.ndjson",
		"curl-http.pcapng":     "curl-http.served.ndjson",
		"curl-http-any.pcap":   "curl-http.served.ndjson", // LINUX_SLL2
	}
	for capFile, log := range cases {
		var want []string
		for _, s := range readServed(t, filepath.Join(dir, log)) {
			if !s.TLS && strings.HasPrefix(s.Proto, "HTTP/1") {
				want = append(want, s.key())
			}
		}
		s, st := ingest(t, filepath.Join(dir, capFile))
		got := map[string]int{}
		for _, e := range s.ex {
			got[exchangeServedKey(e)]++
		}
		for _, w := range want {
			if got[w] == 0 {
				t.Errorf("%s: served request not rebuilt: %s", capFile, w)
				continue
			}
			got[w]--
		}
		if len(s.ex) != len(want) || s.statusZero() != 0 {
			t.Errorf("%s: %d exchanges (%d without response), %d served; warnings %v", capFile, len(s.ex), s.statusZero(), len(want), st.Warnings)
		}
	}
}

// TestRecordedTLSFixturesWithoutKeys: without a key log the TLS connections
// are recorded (SNI, ALPN, version) with "TLS without keys" and yield no
// exchange; the cleartext page of the Chromium session still does. TLS 1.3
// sends the chosen ALPN encrypted, so only TLS 1.2 connections show it.
func TestRecordedTLSFixturesWithoutKeys(t *testing.T) {
	dir := fixtureDir(t)
	for _, f := range []string{"curl-https.pcap", "chromium-https.pcap"} {
		s, st := ingest(t, filepath.Join(dir, f))
		tlsConns := 0
		for _, c := range s.conns {
			if !c.TLS {
				continue
			}
			tlsConns++
			if c.Decrypted || c.SNI == "" || c.TLSVersion == "" || (c.ALPN == "") != (c.TLSVersion == "TLS 1.3") || !slices.Contains(c.Warnings, WarnTLSWithoutKeys) {
				t.Errorf("%s: connection %d: %+v", f, c.No, *c)
			}
		}
		if tlsConns == 0 || st.Counters["tls_undecrypted"] != int64(tlsConns) || st.Counters["tls_decrypted"] != 0 {
			t.Errorf("%s: %d TLS connections, counters %v", f, tlsConns, st.Counters)
		}
		for _, e := range s.ex {
			if e.TLS || e.Method == "" || e.Status == 0 {
				t.Errorf("%s: exchange from encrypted bytes: %+v", f, e)
			}
		}
		if len(st.Secrets) != 0 {
			t.Errorf("%s: %d decryption secrets blocks", f, len(st.Secrets))
		}
	}
	for _, f := range []string{"curl-https-dsb.pcapng", "chromium-https-dsb.pcapng"} {
		_, st := ingest(t, filepath.Join(dir, f))
		if len(st.Secrets) == 0 || st.Secrets[0].Type != pcapio.SecretsTLSKeyLog || !bytes.Contains(st.Secrets[0].Data, []byte("CLIENT_")) {
			t.Errorf("%s: secrets %v", f, len(st.Secrets))
		}
	}
}

// TestRecordedFixturesWithLossReorderAndDuplication degrades the real
// Chromium and curl captures (3% loss, 10% reordering, 1% duplication,
// three seeds each): every exchange whose packets all survived must come
// out as in the clean capture.
func TestRecordedFixturesWithLossReorderAndDuplication(t *testing.T) {
	dir := fixtureDir(t)
	for _, f := range []string{"chromium-http.pcap", "curl-http.pcap"} {
		clean, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := readBytes(t, clean)
		if err != nil {
			t.Fatal(err)
		}
		for seed := int64(1); seed <= 3; seed++ {
			var degraded bytes.Buffer
			rep, err := lossy.Mangle(bytes.NewReader(clean), &degraded, lossy.Options{Drop: 0.03, Reorder: 0.10, Duplicate: 0.01, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			hit := damaged(t, clean, rep.Dropped, want.ex)
			// Known limit of the HTTP/1 parser (reported): a response whose
			// request was lost is framed as a GET's, so when that request
			// was a HEAD its Content-Length swallows the next response on
			// the connection. The ACK numbers could tell; until the parser
			// uses them for this, the next exchange counts as damaged too.
			for i, e := range want.ex {
				if !hit[i] || e.Method != "HEAD" || e.ResponseHeaders.Value("Content-Length") == "" {
					continue
				}
				for j := i + 1; j < len(want.ex); j++ {
					if want.ex[j].ConnNo == e.ConnNo {
						hit[j] = true
						break
					}
				}
			}
			got, _, err := readBytes(t, degraded.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]int{}
			for _, e := range got.ex {
				have[e.Client+" "+exchangeServedKey(e)+e.Started.String()]++
			}
			intact := 0
			for i, w := range want.ex {
				if hit[i] {
					continue
				}
				intact++
				if have[w.Client+" "+exchangeServedKey(w)+w.Started.String()] == 0 {
					t.Errorf("%s seed %d: intact exchange lost: %s", f, seed, exchangeServedKey(w))
				}
			}
			t.Logf("%s seed %d: %d packets dropped, %d reordered, %d duplicated: %d of %d exchanges intact, all rebuilt unless reported; %d stored",
				f, seed, len(rep.Dropped), len(rep.Reordered), len(rep.Duplicated), intact, len(want.ex), len(got.ex))
		}
	}
}
