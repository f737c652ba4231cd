package tlsdec

import (
	"crypto/tls"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/keylog"
)

func TestGoTLSResumedSessionsDecrypt(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			conf := &tls.Config{MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			srv := &tls.Config{MinVersion: v, MaxVersion: v}
			// Fixed ticket keys: every clone of the config must accept the ticket.
			srv.SetSessionTicketKeys([][32]byte{{1, 2, 3}})
			first := runSession(t, conf, srv, nil, []int{10})
			keys := keylog.New(0)
			if inf := checkDecodeWith(t, keys, first, first.chunks, "first"); inf.Resumed {
				t.Fatal("first connection reported as resumed")
			}
			second := runSession(t, conf, srv, nil, []int{10, 2000})
			if v == tls.VersionTLS12 && len(second.keys) != 0 {
				t.Logf("crypto/tls now logs resumed TLS 1.2 sessions: %q", second.keys)
			}
			// The resumed session decrypts with what the first one taught
			// the key log (Go logs no CLIENT_RANDOM for a resumed TLS 1.2
			// session), and not without it.
			inf := checkDecodeWith(t, keys, second, second.chunks, "resumed")
			if !inf.Resumed {
				t.Errorf("second connection not reported as resumed: %+v", inf)
			}
			if v == tls.VersionTLS12 {
				fresh := keylog.New(0)
				fresh.Add(second.keys)
				c, out := decodeChunks(fresh, second.chunks)
				if len(out) != 0 || c.Info().Warnings[0] != "TLS without keys" {
					t.Errorf("resumed TLS 1.2 session decrypted without the first one: %+v", c.Info())
				}
			}
		})
	}
}

// TestGoTLS13ChaCha20 gets a TLS_CHACHA20_POLY1305_SHA256 session out of
// crypto/tls, which picks ChaCha20 only without AES hardware: the test runs
// itself again with AES support switched off.
func TestGoTLS13ChaCha20(t *testing.T) {
	if os.Getenv("TLSDEC_CHACHA_CHILD") == "" {
		if testing.Short() {
			t.Skip("re-runs the test binary")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestGoTLS13ChaCha20$", "-test.count=1")
		cmd.Env = append(os.Environ(), "TLSDEC_CHACHA_CHILD=1", "GODEBUG=cpu.aes=off,cpu.pclmulqdq=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		t.Logf("child: %s", out)
		return
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS13}
	s := runSession(t, conf, conf, nil, exchangeSizes)
	inf := checkDecode(t, s, s.chunks, "chacha")
	if inf.CipherSuite != tls.TLS_CHACHA20_POLY1305_SHA256 {
		t.Fatalf("suite %#04x: crypto/tls did not pick ChaCha20 (AES hardware still on?)", inf.CipherSuite)
	}
	for _, n := range []int{1, 7, 4093} {
		checkDecode(t, s, rechunk(s.chunks, n), "chacha rechunked")
	}
}

// A capture that begins after the handshake cannot look keys up at all:
// the warning says so instead of blaming the key log.
func TestMidStreamConnectionSaysHandshakeMissing(t *testing.T) {
	c := NewConn(keylog.New(0), func(Dir, []byte, time.Time, int64) {})
	record := func(n int) []byte {
		r := []byte{23, 3, 3, byte(n >> 8), byte(n)}
		return append(r, make([]byte, n)...)
	}
	c.Feed(ClientToServer, record(64), time.Unix(1, 0), 1)
	c.Feed(ServerToClient, record(300), time.Unix(1, 0), 2)
	inf := c.Info()
	if inf.Decrypted || !slices.Contains(inf.Warnings, WarnNoHandshake) || slices.Contains(inf.Warnings, WarnNoKeys) {
		t.Fatalf("warnings %q", inf.Warnings)
	}
}
