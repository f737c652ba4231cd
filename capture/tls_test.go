package capture

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/keylog"
	"github.com/corscope/corscope/capture/lossy"
	"github.com/corscope/corscope/capture/pcapio"
	"github.com/corscope/corscope/capture/synth"
	"github.com/corscope/corscope/internal/shared"
	"github.com/corscope/corscope/storage"
)

// ingestKeys reads a capture with the given key log files.
func ingestKeys(t testing.TB, path string, keylogs ...string) (*memSink, Stats) {
	t.Helper()
	s := &memSink{}
	st, err := ReadFile(context.Background(), path, Options{Keylogs: keylogs}, s)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s, st
}

// TestCorpusIllustratedTLS: the TLS 1.2 (AES-CBC with HMAC) and TLS 1.3
// (AES-256-GCM) connections of "The Illustrated TLS Connection" decrypt
// through the whole pipeline. They carry "ping"/"pong", not HTTP: the
// connection record is all that comes out.
func TestCorpusIllustratedTLS(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "tls")
	for _, tc := range []struct{ name, version, cipher string }{
		{"illustrated-tls12", "TLS 1.2", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
		{"illustrated-tls13", "TLS 1.3", "TLS_AES_256_GCM_SHA384"},
	} {
		capFile := filepath.Join(dir, tc.name+".pcap")
		s, st := ingestKeys(t, capFile, filepath.Join(dir, tc.name+".keylog"))
		if len(s.conns) != 1 || len(s.ex) != 0 {
			t.Fatalf("%s: %d connections, %d exchanges", tc.name, len(s.conns), len(s.ex))
		}
		c := s.conns[0]
		if !c.TLS || !c.Decrypted || c.SNI != "example.ulfheim.net" || c.TLSVersion != tc.version || c.Cipher != tc.cipher || len(c.Warnings) != 0 {
			t.Errorf("%s: %+v", tc.name, *c)
		}
		if st.Counters["tls_decrypted"] != 1 || st.Counters["tls_undecrypted"] != 0 || len(st.Warnings) != 0 {
			t.Errorf("%s: counters %v, warnings %q", tc.name, st.Counters, st.Warnings)
		}

		s, st = ingestKeys(t, capFile)
		if c := s.conns[0]; c.Decrypted || c.SNI != "example.ulfheim.net" || c.TLSVersion != tc.version || !slices.Contains(c.Warnings, WarnTLSWithoutKeys) {
			t.Errorf("%s without keys: %+v", tc.name, *c)
		}
		if st.Counters["tls_undecrypted"] != 1 || len(st.Warnings) != 1 {
			t.Errorf("%s without keys: counters %v, warnings %q", tc.name, st.Counters, st.Warnings)
		}
	}
}

var tlsFixtures = []struct{ capture, keylog, served string }{
	{"curl-https.pcap", "curl-https.keylog", "curl-https.served.ndjson"},
	{"curl-https-dsb.pcapng", "", "curl-https.served.ndjson"},
	{"chromium-https.pcap", "chromium-https.keylog", "chromium-https.served.ndjson"},
	{"chromium-https-dsb.pcapng", "", "chromium-https.served.ndjson"},
}

// servedTLSKey adds what the TLS fixtures must also get right: the protocol,
// TLS and whether a Cookie was sent.
func servedTLSKey(s served) string {
	proto := s.Proto
	if proto == "HTTP/2.0" {
		proto = storage.ProtoHTTP2
	}
	return fmt.Sprintf("%s tls=%v cookie=%v %s", proto, s.TLS, s.Cookie, s.key())
}

func exchangeTLSKey(e *storage.Exchange) string {
	return fmt.Sprintf("%s tls=%v cookie=%v %s", e.Proto, e.TLS, e.RequestHeaders.Value("Cookie") != "", exchangeServedKey(e))
}

// TestRecordedTLSFixturesAreDecrypted: every exchange the fixture server
// answered (h2 and HTTP/1.1, TLS 1.2 and 1.3, WebSocket handshakes on their
// own HTTP/1.1 TLS connections) is rebuilt from the pcap with its key log
// and from the pcapng with the secrets embedded and no key log.
func TestRecordedTLSFixturesAreDecrypted(t *testing.T) {
	dir := fixtureDir(t)
	for _, tc := range tlsFixtures {
		t.Run(tc.capture, func(t *testing.T) {
			var keys []string
			if tc.keylog != "" {
				keys = append(keys, filepath.Join(dir, tc.keylog))
			}
			s, st := ingestKeys(t, filepath.Join(dir, tc.capture), keys...)
			got := map[string]int{}
			for _, e := range s.ex {
				got[exchangeTLSKey(e)]++
				if scheme := e.URL()[:strings.Index(e.URL(), ":")]; e.TLS != (scheme == "https" || scheme == "wss") {
					t.Errorf("TLS %v but URL %s", e.TLS, e.URL())
				}
				if len(e.Warnings) != 0 {
					t.Errorf("%s: warnings %q", exchangeTLSKey(e), e.Warnings)
				}
			}
			want := readServed(t, filepath.Join(dir, tc.served))
			ws := 0
			for _, w := range want {
				k := servedTLSKey(w)
				if got[k] == 0 {
					t.Errorf("served request not rebuilt: %s", k)
					continue
				}
				got[k]--
				if w.Status == 101 {
					ws++
				}
			}
			if len(s.ex) != len(want) {
				t.Errorf("%d exchanges, %d served; warnings %q", len(s.ex), len(want), st.Warnings)
			}
			tlsConns := 0
			for _, c := range s.conns {
				if !c.TLS {
					continue
				}
				tlsConns++
				if !c.Decrypted || c.SNI == "" || c.ALPN == "" || c.TLSVersion == "" || c.Cipher == "" || len(c.Warnings) != 0 {
					t.Errorf("connection %+v", *c)
				}
			}
			if st.Counters["tls_decrypted"] != int64(tlsConns) || st.Counters["tls_undecrypted"] != 0 || st.Counters["http.upgraded_websocket"] != int64(ws) {
				t.Errorf("%d TLS connections, %d WebSockets; counters %v", tlsConns, ws, st.Counters)
			}
			if len(st.Warnings) != 0 {
				t.Errorf("warnings %q", st.Warnings)
			}
		})
	}
}

// TestCurlFixtureCoversBothVersionsAndProtocols guards the fixture itself:
// the curl runs are HTTP/1.1 and h2, each over TLS 1.2 and 1.3.
func TestCurlFixtureCoversBothVersionsAndProtocols(t *testing.T) {
	dir := fixtureDir(t)
	s, _ := ingestKeys(t, filepath.Join(dir, "curl-https.pcap"), filepath.Join(dir, "curl-https.keylog"))
	seen := map[string]bool{}
	for _, c := range s.conns {
		seen[c.TLSVersion+" "+c.ALPN] = true
	}
	for _, k := range []string{"TLS 1.2 http/1.1", "TLS 1.3 http/1.1", "TLS 1.2 h2", "TLS 1.3 h2"} {
		if !seen[k] {
			t.Errorf("no %s connection; have %v", k, seen)
		}
	}
}

// TestRecordedTLSFixturesWithLossReorderAndDuplication degrades the
// decrypted captures (3% of packets missing from the capture, 10%
// reordered, 1% duplicated; three seeds each). An exchange is intact when
// no packet of its connection was dropped up to its last packet: HTTP/2
// compresses headers against the connection's history (HPACK), so a lost
// record may spoil every later stream; TLS record sequence numbers, too,
// run over the whole connection. Every intact exchange must be rebuilt as
// in the clean capture, and whatever differs from it must say why.
func TestRecordedTLSFixturesWithLossReorderAndDuplication(t *testing.T) {
	dir := fixtureDir(t)
	for _, f := range []string{"chromium-https", "curl-https"} {
		clean, err := os.ReadFile(filepath.Join(dir, f+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		keys := filepath.Join(dir, f+".keylog")
		read := func(data []byte) *memSink {
			s := &memSink{}
			if _, err := Read(context.Background(), bytes.NewReader(data), f, Options{Keylogs: []string{keys}}, s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		want := read(clean)
		known := map[string]bool{}
		for _, e := range want.ex {
			known[exchangeServedKey(e)] = true
		}
		for seed := int64(1); seed <= 3; seed++ {
			var degraded bytes.Buffer
			rep, err := lossy.Mangle(bytes.NewReader(clean), &degraded, lossy.Options{Drop: 0.03, Reorder: 0.10, Duplicate: 0.01, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			hit := damagedFromConnStart(t, clean, rep.Dropped, want.ex)
			got := read(degraded.Bytes())
			have := map[string]int{}
			for _, e := range got.ex {
				have[e.Client+" "+exchangeServedKey(e)]++
				if len(e.Warnings) == 0 && !known[exchangeServedKey(e)] {
					t.Errorf("%s seed %d: exchange not in the clean capture: %s %s %q", f, seed, e.Proto, exchangeServedKey(e), e.Warnings)
				}
			}
			intact := 0
			for i, w := range want.ex {
				if hit[i] {
					continue
				}
				intact++
				// Not keyed by time: when reordering puts a retransmission
				// (the Chromium capture has some) before the original, the
				// first copy seen, and its time, is the retransmission's.
				k := w.Client + " " + exchangeServedKey(w)
				if have[k] == 0 {
					t.Errorf("%s seed %d: intact exchange lost: %s %s", f, seed, w.Proto, exchangeServedKey(w))
					continue
				}
				have[k]--
			}
			t.Logf("%s seed %d: %d packets dropped, %d reordered, %d duplicated: %d of %d exchanges intact; %d stored",
				f, seed, len(rep.Dropped), len(rep.Reordered), len(rep.Duplicated), intact, len(want.ex), len(got.ex))
		}
	}
}

// damagedFromConnStart marks the exchanges of a connection that lost a
// payload packet at or before the exchange's last packet.
func damagedFromConnStart(t *testing.T, capture []byte, dropped []int64, ex []*storage.Exchange) map[int]bool {
	t.Helper()
	out := map[int]bool{}
	for i, e := range ex {
		first := *e
		first.FirstPacket = 1
		if damaged(t, capture, dropped, []*storage.Exchange{&first})[0] {
			out[i] = true
		}
	}
	return out
}

// BenchmarkPipelineTLS is the whole pipeline over the decrypted Chromium
// capture (TLS 1.3, h2 and HTTP/1.1), against the same session in
// cleartext: the ns/exchange figures compare.
func BenchmarkPipelineTLS(b *testing.B) {
	dir := filepath.Join(shared.RepoRoot(b), "testdata", "pcap")
	for _, tc := range []struct{ name, capture, keylog string }{
		{"https+keys", "chromium-https.pcap", "chromium-https.keylog"},
		{"https-nokeys", "chromium-https.pcap", ""},
		{"http", "chromium-http.pcap", ""},
	} {
		data, err := os.ReadFile(filepath.Join(dir, tc.capture))
		if err != nil {
			b.Skip("testdata/pcap fixtures absent")
		}
		opts := Options{}
		if tc.keylog != "" {
			opts.Keylogs = []string{filepath.Join(dir, tc.keylog)}
		}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				st, err := Read(context.Background(), bytes.NewReader(data), tc.capture, opts, discardSink{})
				if err != nil {
					b.Fatal(err)
				}
				n = st.Exchanges
			}
			if n > 0 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/exchange")
			}
		})
	}
}

// connectionsOf splits an Ethernet IPv4 pcap into one pcap per TCP
// connection, for fuzz seeds small enough to mutate.
func connectionsOf(t testing.TB, data []byte) [][]byte {
	t.Helper()
	r, err := pcapio.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var outs []*bytes.Buffer
	var ws []*pcapio.Writer
	byPort := map[uint16]int{}
	var p pcapio.Packet
	for r.Next(&p) == nil {
		if len(p.Data) < 14+20+4 || p.LinkType != 1 {
			continue
		}
		ip := p.Data[14:]
		tcp := ip[int(ip[0]&0xf)*4:]
		sport, dport := uint16(tcp[0])<<8|uint16(tcp[1]), uint16(tcp[2])<<8|uint16(tcp[3])
		port := max(sport, dport) // the client's ephemeral port: above 18443 in the fixtures
		i, ok := byPort[port]
		if !ok {
			i = len(outs)
			byPort[port] = i
			outs = append(outs, &bytes.Buffer{})
			w, err := pcapio.NewWriter(outs[i], p.LinkType, 65535)
			if err != nil {
				t.Fatal(err)
			}
			ws = append(ws, w)
		}
		if err := ws[i].WritePacket(p.Time, p.Data, p.OrigLen); err != nil {
			t.Fatal(err)
		}
	}
	res := make([][]byte, len(outs))
	for i, b := range outs {
		res[i] = b.Bytes()
	}
	return res
}

// FuzzReadTLS runs the pipeline with keys over mutated TLS connections
// (HTTP/1.1 and h2, TLS 1.2 and 1.3, from the curl fixture): decryption,
// parser choice and the plaintext parsers must never panic, and the stats
// must agree with what the sink received.
func FuzzReadTLS(f *testing.F) {
	dir := filepath.Join(shared.RepoRoot(f), "testdata", "pcap")
	keys := keylog.New(0)
	if err := keys.LoadFile(filepath.Join(dir, "curl-https.keylog")); err != nil {
		f.Skip("testdata/pcap fixtures absent")
	}
	if data, err := os.ReadFile(filepath.Join(dir, "curl-https.pcap")); err == nil {
		for _, c := range connectionsOf(f, data) {
			f.Add(c)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &memSink{}
		st, err := Read(context.Background(), bytes.NewReader(data), "fuzz", Options{Keys: keys}, s)
		if err != nil && !IsPartial(err) && !IsNotCapture(err) {
			t.Fatalf("unclassified error %v", err)
		}
		if int(st.Exchanges) != len(s.ex) || int(st.Connections) != len(s.conns) {
			t.Fatalf("stats %d/%d, sink %d/%d", st.Exchanges, st.Connections, len(s.ex), len(s.conns))
		}
		if st.Counters["tls_decrypted"]+st.Counters["tls_undecrypted"] > st.Connections {
			t.Fatalf("counters %v for %d connections", st.Counters, st.Connections)
		}
	})
}

// A key log that cannot be read stops Read (nothing would decrypt) and is a
// warning of a live Stream, which carries on without it.
func TestUnreadableKeyLog(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.keylog")
	data := synthCapture(t, synth.Options{Exchanges: 2, PerConn: 2, Seed: 1})
	if _, err := Read(context.Background(), bytes.NewReader(data), "x.pcap", Options{Keylogs: []string{missing}}, &memSink{}); err == nil || !strings.Contains(err.Error(), "absent.keylog") {
		t.Errorf("Read: %v", err)
	}
	st := NewStream(Options{Keylogs: []string{missing}}, &memSink{}).Close(time.Now())
	if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "absent.keylog") {
		t.Errorf("Stream warnings %q", st.Warnings)
	}
}

// A capture that starts after the hellos cannot be decrypted, keys or not:
// the connection is recorded as TLS, undecrypted, and nothing is made up
// from its records.
func TestTLSCaptureStartingMidConnection(t *testing.T) {
	dir := fixtureDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "curl-https.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for i, conn := range connectionsOf(t, data) {
		for _, skip := range []int{4, 6, 9} { // no ClientHello; no hellos; mid-traffic
			r, err := pcapio.NewReader(bytes.NewReader(conn))
			if err != nil {
				t.Fatal(err)
			}
			var cut bytes.Buffer
			w, err := pcapio.NewWriter(&cut, 1, 65535) // Ethernet, as connectionsOf writes
			if err != nil {
				t.Fatal(err)
			}
			var p pcapio.Packet
			for n := 0; r.Next(&p) == nil; n++ {
				if n >= skip {
					if err := w.WritePacket(p.Time, p.Data, p.OrigLen); err != nil {
						t.Fatal(err)
					}
				}
			}
			s := &memSink{}
			st, err := Read(context.Background(), &cut, "cut.pcap", Options{Keylogs: []string{filepath.Join(dir, "curl-https.keylog")}}, s)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.ex) != 0 || len(s.conns) != 1 || !s.conns[0].TLS || s.conns[0].Decrypted || st.Counters["tls_undecrypted"] != 1 {
				t.Errorf("connection %d from packet %d: %d exchanges, connections %+v", i, skip+1, len(s.ex), s.conns)
			}
		}
	}
}

// Live capture: the key log line can come after a connection's last packet.
// Records held for keys are released when the connection closes.
func TestStreamKeysArrivingAfterTheLastPacket(t *testing.T) {
	dir := fixtureDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "curl-https.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	keyText, err := os.ReadFile(filepath.Join(dir, "curl-https.keylog"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keys.log")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	keys := keylog.New(0)
	if err := keys.WatchFile(path); err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	s := NewStream(Options{Keys: keys}, sink)
	r, err := pcapio.NewReader(bytes.NewReader(connectionsOf(t, data)[1])) // TLS 1.3, HTTP/1.1
	if err != nil {
		t.Fatal(err)
	}
	var p pcapio.Packet
	var last time.Time
	for n := 0; n < 16 && r.Next(&p) == nil; n++ { // up to the last response, before close_notify and FIN
		s.Packet(p.LinkType, p.Data, p.Time)
		last = p.Time
	}
	if len(sink.ex) != 0 {
		t.Fatalf("%d exchanges before the keys were logged", len(sink.ex))
	}
	if err := os.WriteFile(path, keyText, 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := keys.Reload(); n == 0 || err != nil {
		t.Fatalf("Reload = %d, %v", n, err)
	}
	st := s.Close(last)
	if len(sink.ex) != 3 || sink.statusZero() != 0 || len(sink.conns) != 1 || !sink.conns[0].Decrypted {
		t.Errorf("%d exchanges (%d unanswered), connections %+v, warnings %q", len(sink.ex), sink.statusZero(), sink.conns, st.Warnings)
	}
}
