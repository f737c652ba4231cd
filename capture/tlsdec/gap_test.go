package tlsdec

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/keylog"
)

// serverRecords splits the session's server→client stream into records.
func serverRecords(t *testing.T, s session) [][]byte {
	t.Helper()
	var stream []byte
	for _, c := range s.chunks {
		if c.dir == ServerToClient {
			stream = append(stream, c.data...)
		}
	}
	var recs [][]byte
	for len(stream) >= 5 {
		n := int(stream[3])<<8 | int(stream[4])
		recs = append(recs, stream[:5+n])
		stream = stream[5+n:]
	}
	return recs
}

// feedWithLoss feeds the client's first chunk (the ClientHello), then the
// server's records one per Feed with pkt = record index, losing the bytes
// from offset `from` in record a to offset `to` in record b, then the rest
// of the client stream. It returns the emitted server records by index.
func feedWithLoss(t *testing.T, s session, a, from, b, to int) (map[int64]string, Info) {
	keys := keylog.New(0)
	keys.Add(s.keys)
	got := map[int64]string{}
	c := NewConn(keys, nil)
	c.emit = func(d Dir, p []byte, _ time.Time, pkt int64) {
		if d == ServerToClient {
			got[pkt] += string(p)
		}
	}
	// The whole ClientHello first (it may span several reads).
	first, fed, chLen := 0, 0, -1
	for i, ch := range s.chunks {
		if ch.dir != ClientToServer {
			continue
		}
		c.Feed(ch.dir, ch.data, ch.t, -1)
		if chLen < 0 {
			chLen = 5 + (int(ch.data[3])<<8 | int(ch.data[4]))
		}
		if fed += len(ch.data); fed >= chLen {
			first = i
			break
		}
	}
	recs := serverRecords(t, s)
	for i, r := range recs {
		switch {
		case i < a || i > b || a < 0:
			c.Feed(ServerToClient, r, s.chunks[0].t, int64(i))
		case i == a && i == b:
			c.Feed(ServerToClient, r[:from], s.chunks[0].t, int64(i))
			c.Gap(ServerToClient, to-from)
			c.Feed(ServerToClient, r[to:], s.chunks[0].t, int64(i))
		case i == a:
			c.Feed(ServerToClient, r[:from], s.chunks[0].t, int64(i))
			lost := len(r) - from
			for _, m := range recs[a+1 : b] {
				lost += len(m)
			}
			c.Gap(ServerToClient, lost+to)
		case i == b:
			c.Feed(ServerToClient, r[to:], s.chunks[0].t, int64(i))
		}
	}
	for _, ch := range s.chunks[first+1:] {
		if ch.dir == ClientToServer {
			c.Feed(ch.dir, ch.data, ch.t, -1)
		}
	}
	return got, c.Info()
}

func TestGapsLoseOnlyTheRecordsTheyHit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint16
		suite   uint16
	}{
		{"TLS1.2 AES-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"TLS1.2 ChaCha20", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		{"TLS1.2 AES-CBC-SHA", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
		{"TLS1.3", tls.VersionTLS13, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := &tls.Config{MinVersion: tc.version, MaxVersion: tc.version}
			if tc.suite != 0 {
				conf.CipherSuites = []uint16{tc.suite}
			}
			s := runSession(t, conf, conf, nil, exchangeSizes)
			full, inf := feedWithLoss(t, s, -1, 0, -1, 0)
			if len(inf.Warnings) != 0 || len(full) < 10 {
				t.Fatalf("lossless decode: %d records, warnings %q", len(full), inf.Warnings)
			}
			var total strings.Builder
			n := len(serverRecords(t, s))
			for i := 0; i < n; i++ {
				total.WriteString(full[int64(i)])
			}
			if total.String() != string(s.sentS) {
				t.Fatal("lossless decode differs from what was sent")
			}
			// Pick data records from the end of the stream.
			last := n - 1
			for full[int64(last)] == "" {
				last--
			}
			for _, g := range []struct {
				name               string
				a, from, b, to     int
				lostFirst, lostEnd int // records whose plaintext is lost
			}{
				{"inside one record", last - 6, 100, last - 6, 5000, last - 6, last - 6},
				{"to the end of a record", last - 6, 100, last - 5, 0, last - 6, last - 6},
				{"across record boundaries", last - 8, 300, last - 5, 2, last - 8, last - 5},
				{"in a record header", last - 8, 2, last - 7, 3, last - 8, last - 7},
			} {
				got, inf := feedWithLoss(t, s, g.a, g.from, g.b, g.to)
				for i := 0; i < n; i++ {
					lost := i >= g.lostFirst && i <= g.lostEnd
					if lost && got[int64(i)] != "" {
						t.Errorf("%s: record %d emitted although hit by the gap", g.name, i)
					}
					if !lost && got[int64(i)] != full[int64(i)] {
						t.Errorf("%s: record %d: %d bytes, want %d", g.name, i, len(got[int64(i)]), len(full[int64(i)]))
					}
				}
				if len(inf.Warnings) == 0 {
					t.Errorf("%s: no warning about the gap", g.name)
				}
				t.Logf("%s: %q", g.name, inf.Warnings)
			}
		})
	}
}

func TestGapWithoutKnownSequenceStopsHonestly(t *testing.T) {
	conf := &tls.Config{MinVersion: tls.VersionTLS13}
	sizes := make([]int, 150)
	for i := range sizes {
		sizes[i] = 10
	}
	s := runSession(t, conf, conf, nil, sizes)
	recs := serverRecords(t, s)
	// 100 small records lost at once: more than the trial window covers,
	// so the sequence number is unknowable and nothing after the gap may be
	// emitted as if it were right.
	a := len(recs) - 120
	got, inf := feedWithLoss(t, s, a, 10, a+100, 10)
	for i := a; i < len(recs); i++ {
		if got[int64(i)] != "" {
			t.Errorf("record %d emitted", i)
		}
	}
	if len(got) < 5 {
		t.Errorf("records before the gap missing: %d emitted", len(got))
	}
	if !strings.Contains(fmt.Sprint(inf.Warnings), "not decrypted further") {
		t.Errorf("no warning that decryption stopped: %q", inf.Warnings)
	}
}

func TestOrderAndMidStreamStarts(t *testing.T) {
	conf := &tls.Config{MinVersion: tls.VersionTLS13}
	s := runSession(t, conf, conf, nil, []int{10, 3000})
	keys := keylog.New(0)
	keys.Add(s.keys)

	// The server's flight before the (two-part) ClientHello is complete:
	// its records wait for the client random instead of being lost.
	var client, server []byte
	for _, c := range s.chunks {
		if c.dir == ClientToServer {
			client = append(client, c.data...)
		} else {
			server = append(server, c.data...)
		}
	}
	chLen := 5 + (int(client[3])<<8 | int(client[4]))
	var got [2]string
	c := NewConn(keys, func(d Dir, p []byte, _ time.Time, _ int64) { got[d] += string(p) })
	c.Feed(ClientToServer, client[:chLen-1], time.Time{}, 1)
	c.Feed(ServerToClient, server, time.Time{}, 2)
	c.Feed(ClientToServer, client[chLen-1:], time.Time{}, 3)
	if got[0] != string(s.sentC) || got[1] != string(s.sentS) || len(c.Info().Warnings) != 0 {
		t.Errorf("hello order: %d/%d bytes, warnings %q", len(got[0]), len(got[1]), c.Info().Warnings)
	}

	// A capture that starts after the handshake: nothing is held or
	// emitted, and the reason is given.
	c = NewConn(keys, func(Dir, []byte, time.Time, int64) { t.Error("emitted without a handshake") })
	recs := serverRecords(t, s)
	for _, r := range recs[len(recs)-3:] {
		c.Feed(ServerToClient, r, time.Time{}, 1)
	}
	inf := c.Info()
	if c.h[1].heldBytes != 0 || !strings.Contains(strings.Join(inf.Warnings, "|"), "handshake not captured") {
		t.Errorf("mid-stream: held %d, warnings %q", c.h[1].heldBytes, inf.Warnings)
	}
}
