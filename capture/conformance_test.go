package capture

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/corscope/corscope/internal/shared"
	"github.com/corscope/corscope/storage"
)

// memSink keeps everything in memory, for tests.
type memSink struct {
	ex    []*storage.Exchange
	conns []*storage.Connection
}

func (m *memSink) Exchange(e *storage.Exchange)     { m.ex = append(m.ex, e) }
func (m *memSink) Connection(c *storage.Connection) { m.conns = append(m.conns, c) }

func (m *memSink) statusZero() int {
	n := 0
	for _, e := range m.ex {
		if e.Status == 0 {
			n++
		}
	}
	return n
}

func corpusDir(t testing.TB) string {
	c := filepath.Join(shared.RepoRoot(t), "..", "shared", "corpus")
	if _, err := os.Stat(filepath.Join(c, "pcap")); err != nil {
		t.Skip("public corpus ../shared/corpus/pcap absent; skipping conformance tests")
	}
	return c
}

func ingest(t *testing.T, path string) (*memSink, Stats) {
	t.Helper()
	s := &memSink{}
	st, err := ReadFile(context.Background(), path, Options{}, s)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return s, st
}

// expected exchanges per corpus file, with why they differ from tshark's
// request/response counts in tshark-reference.tsv. "noResp" counts
// exchanges stored with status 0 (request seen, response not).
var corpusExpect = map[string]struct {
	exchanges, noResp int
	why               string
}{
	"gopacket_test_ethernet.pcap":                     {1, 0, ""},
	"gopacket_test_loopback.pcap":                     {3, 0, "BSD loopback link type; two 304s"},
	"http_100-continue.pcap":                          {1, 0, "tshark counts the 100 Continue as a second response; it is an interim response of the one exchange"},
	"http_1000-requests-one-dropped-response.pcap.gz": {1000, 1, "999 pairs and the request whose response headers were lost"},
	"http_connect-with-header.pcap":                   {1, 0, "CONNECT 200, then TLS: parsing stops"},
	"http_docker-http-upgrade.pcap":                   {6, 0, ""},
	"http_entity_gap.pcap":                            {1, 0, "tshark loses the response after the gap; we keep it with a truncated-body warning"},
	"http_get-gzip.pcap":                              {1, 0, ""},
	"http_get-without-fins.pcap":                      {1, 0, ""},
	"http_get_nosyn.pcap":                             {1, 0, ""},
	"http_http-filename.pcap":                         {1, 0, ""},
	"http_http-large-gap.pcap":                        {1, 0, ""},
	"http_http_09.pcap":                               {3, 0, "tshark does not parse HTTP/0.9; we keep the 0.9 GET and two malformed request lines (\"POST /zeek.html\", \"GET \"), each with the plain-text answer the server sent, all flagged"},
	"http_methods.pcap":                               {49, 0, "tshark recognises 27 requests; the other 22 request lines are malformed (e.g. \"OPTIONSHTTP/1.1\"); they are kept, flagged, with the 400/405 the server answered"},
	"http_missing-zlib-header.pcap":                   {2, 0, ""},
	"http_no-version.pcap":                            {1, 0, "request line without version = HTTP/0.9, which tshark skips"},
	"http_pipelined-requests.pcap":                    {5, 0, ""},
	"http_proxy.pcap":                                 {1, 0, ""},
	"http_websocket.pcap":                             {1, 0, ""},
	"http_x-gzip.pcap":                                {1, 0, ""},
	"http_zero-length-bodies-with-drops.pcap":         {8, 0, "tshark sees 7 requests, 8 responses: one request is lost in a capture gap, its response is kept and flagged"},
	"sv_app-layer-protocol-exact.pcap":                {4, 1, "h2 prior knowledge on port 80: tshark's 7 HEADERS frames are 4 requests and 3 responses; stream 7 is reset by the client (CANCEL) before its answer"},
	"sv_base64-decode-5885.pcap":                      {4, 0, "tshark's other 10 requests are SSDP M-SEARCH over UDP, not HTTP over TCP"},
	"sv_bug-2511.pcap":                                {1, 0, ""},
	"sv_bug-5929-02.pcap":                             {1, 0, "h2 prior knowledge, server speaks first: tshark's 2 HEADERS frames are one request and its 404"},
	"sv_dns-over-http2.pcap":                          {4, 1, "h2 prior knowledge: 7 HEADERS frames = 4 DoH requests + 3 responses; stream 7 reset (CANCEL)"},
	"sv_http-all-headers.pcap":                        {1, 0, ""},
	"sv_http-brotli-ce.pcap":                          {3, 0, ""},
	"sv_http-chunked.pcap":                            {1, 1, "HEAD without response in the capture"},
	"sv_http-close-headers.pcap":                      {1, 0, "tshark counts no response: its header section never ends; we keep the status line with a warning"},
	"sv_http-event-chunk.pcap":                        {1, 0, ""},
	"sv_http-options-method.pcap":                     {1, 0, ""},
	"sv_http-range-file.pcap":                         {15, 0, ""},
	"sv_http2-bugfixes.pcap":                          {4, 0, "cleartext h2 on port 443: tshark expects TLS there and decodes nothing; 4 streams"},
	"sv_http2-compression-bug.pcap":                   {5, 0, "cleartext h2 on port 443 (tshark: nothing); 5 streams"},
	"sv_http2-continuation.pcap":                      {1, 0, "tshark's 2 HEADERS frames: the request (HEADERS + 2 CONTINUATION) and its response"},
	"sv_http2-deflate.pcap":                           {1, 0, "the Upgrade: h2c request answered on stream 1 (tshark counts its HTTP/1 half and 1 HEADERS frame)"},
	"sv_http2-keywords2.pcap":                         {2, 0, "the h2c upgrade request answered on stream 1, and stream 3 (tshark: 1 HTTP/1 pair, 3 HEADERS frames)"},
	"sv_http2-long-frame.pcap":                        {2, 1, "h2 prior knowledge on port 8443 (tshark: nothing): the 70000-byte DATA frame is read; the second request has no answer"},
	"sv_http2-range.pcap":                             {5, 0, "3 h2c upgrades answered on stream 1, 2 plain HTTP/1.1 range requests"},
	"tcpdump_LINKTYPE_IPV4.pcap":                      {0, 0, "no TCP in it"},
	"tcpdump_LINKTYPE_IPV6.pcap":                      {0, 0, "no TCP in it"},
	"tcpdump_LINKTYPE_RAW_ipv4.pcap":                  {0, 0, "no TCP in it"},
	"tcpdump_bigtcp-ipv4.pcap":                        {0, 0, "one 80000-byte super-segment, not HTTP"},
	"tcpdump_gso-ipv4.pcap":                           {0, 0, "one GSO super-segment, not HTTP"},
	"tcpdump_ipv4_tcp_http_xml_tso.pcap":              {1, 1, "one TSO request; its response is not in the file"},
	"tcpdump_nflog.pcap":                              {0, 0, "NFLOG packets hold no TCP"},
	"zeek_qi_internet_SYNACK_curl_jsonip.pcap":        {1, 0, "a racing injected response: first copy kept, conflict flagged"},
}

func TestCorpusExchangeCounts(t *testing.T) {
	dir := corpusDir(t)
	ref := readReference(t, filepath.Join(dir, "tshark-reference.tsv"))
	files, _ := filepath.Glob(filepath.Join(dir, "pcap", "*"))
	if len(files) == 0 {
		t.Skip("no corpus captures")
	}
	for _, f := range files {
		name := filepath.Base(f)
		want, ok := corpusExpect[name]
		if !ok {
			t.Errorf("%s: new corpus file without expectation (tshark: %v)", name, ref["pcap/"+name])
			continue
		}
		s, st := ingest(t, f)
		if int(st.Exchanges) != len(s.ex) {
			t.Errorf("%s: stats say %d exchanges, sink got %d", name, st.Exchanges, len(s.ex))
		}
		if len(s.ex) != want.exchanges || s.statusZero() != want.noResp {
			t.Errorf("%s: %d exchanges (%d without response), want %d (%d); tshark %v", name, len(s.ex), s.statusZero(), want.exchanges, want.noResp, ref["pcap/"+name])
		}
		if int(st.Connections) != len(s.conns) {
			t.Errorf("%s: stats say %d connections, sink got %d", name, st.Connections, len(s.conns))
		}
		seen := map[int64]bool{}
		for _, c := range s.conns {
			if c.No < 1 || c.No > st.Connections || seen[c.No] {
				t.Errorf("%s: bad or duplicate connection number %d", name, c.No)
			}
			seen[c.No] = true
		}
		for _, e := range s.ex {
			if e.ConnNo < 1 || e.FirstPacket < 1 || e.Started.IsZero() || e.Client == "" || e.Server == "" {
				t.Errorf("%s: exchange without provenance: conn %d packet %d %q %q", name, e.ConnNo, e.FirstPacket, e.Client, e.Server)
				break
			}
		}
	}
}

func readReference(t *testing.T, path string) map[string][]int {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string][]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 4 || cols[0] == "file" {
			continue
		}
		var n []int
		for _, c := range cols[1:] {
			v, _ := strconv.Atoi(c)
			n = append(n, v)
		}
		out[cols[0]] = n
	}
	return out
}

func TestCorpusConcreteExchanges(t *testing.T) {
	dir := corpusDir(t)
	type want struct {
		method, host, path string
		status             int
	}
	cases := map[string][]want{
		"gopacket_test_loopback.pcap": {
			{"GET", "localhost", "/pkg/github.com/gconnell/gopacket/", 200},
			{"GET", "localhost", "/doc/style.css", 304},
			{"GET", "localhost", "/doc/godocs.js", 304},
		},
		"http_pipelined-requests.pcap": {
			{"GET", "", "/style/enhanced.css", 200},
			{"GET", "", "/script/urchin.js", 200},
			{"GET", "", "/images/template/screen/bullet_utility.png", 200},
			{"GET", "", "/images/template/screen/key-point-top.png", 200},
			{"GET", "", "/projects/calendar/images/header-sunbird.png", 200},
		},
		"http_100-continue.pcap":      {{"POST", "", "/", 200}},
		"sv_http-options-method.pcap": {{"OPTIONS", "", "*", 200}},
		"http_websocket.pcap":         {{"GET", "", "/echo", 101}},
		"http_get_nosyn.pcap":         {{"GET", "", "/download/CHANGES.bro-aux.txt", 200}},
	}
	for file, ws := range cases {
		s, _ := ingest(t, filepath.Join(dir, "pcap", file))
		if len(s.ex) != len(ws) {
			t.Errorf("%s: %d exchanges, want %d", file, len(s.ex), len(ws))
			continue
		}
		for i, w := range ws {
			e := s.ex[i]
			if e.Method != w.method || e.Path != w.path || e.Status != w.status || (w.host != "" && e.Host != w.host) {
				t.Errorf("%s #%d: %s %s %s %d, want %+v", file, i, e.Method, e.Host, e.Path, e.Status, w)
			}
		}
	}
}

// TestThousandRequestsOneDroppedResponse: one response's header segment is
// missing from the capture; every other pair must survive, in order.
func TestThousandRequestsOneDroppedResponse(t *testing.T) {
	dir := corpusDir(t)
	s, st := ingest(t, filepath.Join(dir, "pcap", "http_1000-requests-one-dropped-response.pcap.gz"))
	complete, missing := 0, 0
	for _, e := range s.ex {
		switch {
		case e.Status == 200 && e.Method == "GET":
			complete++
		case e.Status == 0 && len(e.Warnings) > 0:
			missing++
		default:
			t.Errorf("unexpected exchange %s %s %d %v", e.Method, e.Path, e.Status, e.Warnings)
		}
	}
	if complete != 999 || missing != 1 {
		t.Fatalf("%d complete, %d without response; want 999 and 1", complete, missing)
	}
	if st.Counters["tcp.gaps"] != 1 || !strings.Contains(strings.Join(st.Warnings, "\n"), "missing from the capture") {
		t.Errorf("gap not reported: %v %v", st.Counters, st.Warnings)
	}
	if !strings.HasPrefix(s.ex[0].Client, "[") {
		t.Errorf("IPv6 endpoint not bracketed: %q", s.ex[0].Client)
	}
}

func TestRetransmissionWithDifferentDataIsFlagged(t *testing.T) {
	dir := corpusDir(t)
	s, st := ingest(t, filepath.Join(dir, "pcap", "zeek_qi_internet_SYNACK_curl_jsonip.pcap"))
	if st.Counters["tcp.conflicting_retransmissions"] != 1 || len(s.conns) != 1 ||
		!strings.Contains(strings.Join(s.conns[0].Warnings, ";"), "different data") {
		t.Fatalf("counters %v, connection warnings %v", st.Counters, s.conns)
	}
	// The injected short response completed the exchange before the real
	// one arrived with different bytes at the same sequence numbers: the
	// exchange was already handed over, so the connection record (joined
	// by ConnNo) carries the anomaly. Exchanges still open when a conflict
	// arrives get WarnConflictingRetransmission themselves.
	if len(s.ex) != 1 || s.ex[0].Status != 200 || s.ex[0].ConnNo != s.conns[0].No {
		t.Fatalf("exchange %+v", s.ex)
	}
}
