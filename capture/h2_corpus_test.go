package capture

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/corscope/corscope/capture/h2"
	"github.com/corscope/corscope/storage"
)

func h2Corpus(t *testing.T, name string) (*memSink, Stats) {
	t.Helper()
	return ingest(t, filepath.Join(corpusDir(t), "pcap", name))
}

func streamOf(s *memSink, conn int64, id uint32) *storage.Exchange {
	for _, e := range s.ex {
		if e.ConnNo == conn && e.StreamID == id && e.Proto == storage.ProtoHTTP2 {
			return e
		}
	}
	return nil
}

func TestCorpusDNSOverHTTP2KeepsLowerCaseACAO(t *testing.T) {
	s, st := h2Corpus(t, "sv_dns-over-http2.pcap")
	if st.Counters["h2.connections"] != 1 || st.Counters["h2.streams"] != 4 {
		t.Errorf("counters %v", st.Counters)
	}
	x := streamOf(s, 1, 1)
	if x == nil || x.Method != "GET" || x.Host != "dns.google" || x.Path != "/dns-query" || !strings.HasPrefix(x.Query, "dns=AAABAAAB") ||
		x.Status != 200 || x.ResponseBodySize != 468 || x.Scheme != "https" || x.Port != 443 {
		t.Fatalf("stream 1: %+v", x)
	}
	// The field name as sent, lower case, right after the pseudo-header.
	var names []string
	for _, f := range x.ResponseHeaders[:4] {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != ":status,x-content-type-options,strict-transport-security,access-control-allow-origin" || x.ResponseHeaders[3].Value != "*" {
		t.Errorf("response header order %s = %q", got, x.ResponseHeaders[3].Value)
	}
	if y := streamOf(s, 1, 7); y == nil || y.Status != 0 || !hasWarn(y, "stream reset by client (CANCEL)") {
		t.Errorf("stream 7: %+v", y)
	}
}

func TestCorpusHTTP2LongFrameAndContinuation(t *testing.T) {
	s, _ := h2Corpus(t, "sv_http2-long-frame.pcap")
	x := streamOf(s, 1, 1)
	if x == nil || x.Host != "target.com" || x.Status != 200 || x.ResponseBodySize != 70000 || len(x.ResponseBody) != 70000 {
		t.Fatalf("long frame stream: %+v", x)
	}
	if !strings.Contains(strings.Join(s.conns[0].Warnings, "|"), "70000-byte DATA frame over the peer's SETTINGS_MAX_FRAME_SIZE 16384") {
		t.Errorf("connection warnings %q", s.conns[0].Warnings)
	}
	if y := streamOf(s, 1, 3); y == nil || y.Host != "evil.com" || y.Path != "/malware/payload.exe" || y.Status != 0 {
		t.Errorf("unanswered stream: %+v", y)
	}

	s, _ = h2Corpus(t, "sv_http2-continuation.pcap")
	x = streamOf(s, 1, 1)
	long := strings.Repeat("name", 10)
	if x == nil || x.Path != "/tata" || x.Status != 200 || x.ResponseBodySize != 13 ||
		x.RequestHeaders.Value(long) != strings.Repeat("value", 20) {
		t.Errorf("CONTINUATION stream: %+v", x)
	}
}

func TestCorpusH2CUpgradeAnsweredOnStreamOne(t *testing.T) {
	s, st := h2Corpus(t, "sv_http2-keywords2.pcap")
	if st.Counters["http.upgraded_h2c"] != 1 {
		t.Errorf("counters %v", st.Counters)
	}
	x := streamOf(s, 1, 1)
	if x == nil || x.Upgrade != "h2c" || x.Method != "GET" || x.Host != "nghttp2.org" || x.Path != "/robots.txt" || x.Status != 200 ||
		x.ResponseBodySize != 62 || x.RequestHeaders.Value("Upgrade") != "h2c" || x.ResponseHeaders.Value("server") != "nghttpx" || !hasWarn(x, h2.WarnUpgradedH2C) {
		t.Fatalf("upgraded stream 1: %+v", x)
	}
	if y := streamOf(s, 1, 3); y == nil || y.Path != "/humans.txt" || y.Status != 404 || y.ResponseBodySize != 9 {
		t.Errorf("stream 3: %+v", y)
	}

	s, _ = h2Corpus(t, "sv_http2-range.pcap")
	var ranges []string
	for _, e := range s.ex {
		ranges = append(ranges, e.Proto+" "+e.RequestHeaders.Value("Range")+" "+e.ResponseHeaders.Value("content-range"))
	}
	want := "HTTP/2 bytes=0-10 bytes 0-10/69|HTTP/1.1 bytes=10-20 bytes 10-20/69|HTTP/2 bytes=20-30 bytes 20-30/69|HTTP/1.1 bytes=30-40 bytes 30-40/69|HTTP/2 bytes=40-68 bytes 40-68/69"
	if got := strings.Join(ranges, "|"); got != want {
		t.Errorf("range exchanges\n got %s\nwant %s", got, want)
	}
}

func TestCorpusHTTP2OnPort443WithoutTLS(t *testing.T) {
	s, _ := h2Corpus(t, "sv_http2-compression-bug.pcap")
	x := streamOf(s, 1, 3)
	if x == nil || x.Method != "POST" || x.Host != "play.google.com" || x.Path != "/log" || x.Status != 200 || x.RequestBodySize != 1736 ||
		x.ResponseHeaders.Value("access-control-allow-origin") != "https://www.google.com" || x.ResponseHeaders.Value("access-control-allow-credentials") != "true" ||
		x.Origin() == "" {
		t.Errorf("stream 3: %+v", x)
	}
	if y := streamOf(s, 1, 9); y == nil || y.ResponseHeaders.Value("access-control-allow-origin") != "https://ogs.google.com" {
		t.Errorf("stream 9 (dynamic-table reuse): %+v", y)
	}
}

func hasWarn(e *storage.Exchange, w string) bool {
	for _, x := range e.Warnings {
		if x == w {
			return true
		}
	}
	return false
}
