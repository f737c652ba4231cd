package tlsdec

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/keylog"
)

// In live capture the key log line can arrive after the records it opens:
// the decoder holds them (bounded) until a Reload brings the secrets.
func TestKeysArrivingLateInAGrowingKeyLog(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			conf := &tls.Config{MinVersion: v, MaxVersion: v}
			s := runSession(t, conf, conf, nil, []int{10, 3000})
			path := filepath.Join(t.TempDir(), "keys.log")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			keys := keylog.New(0)
			if err := keys.WatchFile(path); err != nil {
				t.Fatal(err)
			}
			var got [2]string
			c := NewConn(keys, func(d Dir, p []byte, _ time.Time, _ int64) { got[d] += string(p) })
			last := s.chunks[len(s.chunks)-1]
			for _, ch := range s.chunks[:len(s.chunks)-1] {
				c.Feed(ch.dir, ch.data, ch.t, ch.pkt)
			}
			if got[0] != "" || got[1] != "" {
				t.Fatal("plaintext before the keys were logged")
			}
			if err := os.WriteFile(path, s.keys, 0o600); err != nil {
				t.Fatal(err)
			}
			if n, err := keys.Reload(); n == 0 || err != nil {
				t.Fatalf("Reload = %d, %v", n, err)
			}
			c.Feed(last.dir, last.data, last.t, last.pkt)
			c.Feed(1-last.dir, nil, last.t, last.pkt) // the other direction drains on its next Feed
			if got[0] != string(s.sentC) || got[1] != string(s.sentS) {
				t.Errorf("after Reload: %d/%d bytes of %d/%d; warnings %q", len(got[0]), len(got[1]), len(s.sentC), len(s.sentS), c.Info().Warnings)
			}
			if w := c.Info().Warnings; len(w) != 0 {
				t.Errorf("warnings %q", w)
			}
		})
	}
}

func TestLooksLikeTLS(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want bool
	}{
		{[]byte{0x16, 3, 1, 2, 0, 1, 0, 1, 0xfc}, true},     // ClientHello
		{[]byte{0x16, 3, 3, 0, 0x7a, 2}, true},              // ServerHello
		{[]byte{0x16, 3, 1}, true},                          // too short to tell more
		{[]byte{0x16, 3, 1, 0, 0, 1}, false},                // empty record
		{[]byte{0x16, 3, 1, 0x48, 1, 1}, false},             // longer than a record may be
		{[]byte{0x16, 3, 1, 0, 10, 11}, false},              // a Certificate first: not a start
		{[]byte{0x17, 3, 3, 0, 10, 1}, false},               // application data
		{[]byte{0x16, 3, 5, 0, 10, 1}, false},               // unknown version
		{[]byte("GET / HTTP/1.1\r\n"), false},               // cleartext HTTP
		{[]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), false}, // h2c preface
		{nil, false},
	} {
		if got := LooksLikeTLS(tc.in); got != tc.want {
			t.Errorf("LooksLikeTLS(% x) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// Example shows how the capture pipeline wires a decoder: the first
// plaintext of a connection picks the parser by ALPN.
func Example() {
	keys := keylog.New(0)
	keys.Add([]byte("# lines of an SSLKEYLOGFILE or a pcapng Decryption Secrets Block\n"))
	var conn *Conn
	conn = NewConn(keys, func(dir Dir, plaintext []byte, t time.Time, pkt int64) {
		switch conn.ALPN() {
		case "h2":
			// hand plaintext to the HTTP/2 parser for dir
		default:
			// "http/1.1" or none: the HTTP/1 parser
		}
	})
	conn.Feed(ClientToServer, []byte{0x16, 3, 1, 0, 4, 1, 0, 0, 0}, time.Time{}, 1)
	// A lost TCP segment would be reported with conn.Gap(dir, bytes).
	inf := conn.Info()
	fmt.Println(inf.Version, inf.Decrypted, inf.Warnings)
	// Output: 0 false [malformed ClientHello]
}

func TestInfoNames(t *testing.T) {
	inf := Info{Version: versionTLS13, CipherSuite: 0x1302}
	if inf.VersionName() != "TLS 1.3" || inf.CipherName() != "TLS_AES_256_GCM_SHA384" {
		t.Errorf("%q %q", inf.VersionName(), inf.CipherName())
	}
	if (Info{}).VersionName() != "" || (Info{}).CipherName() != "" {
		t.Error("names before a ServerHello")
	}
	if n := (Info{Version: versionTLS12, CipherSuite: 0xc013}).CipherName(); n != "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" {
		t.Errorf("illustrated TLS 1.2 suite: %q", n)
	}
}
