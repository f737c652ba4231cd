package tlsdec

import (
	"errors"
	"github.com/corscope/corscope/internal/shared"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/keylog"
	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/pcapio"
)

func corpusDir(t testing.TB) string {
	t.Helper()
	return shared.Path(t, "corpus")
}

// streamChunk is one in-order piece of a TCP direction.
type streamChunk struct {
	dir  Dir
	data []byte
	gap  int
	t    time.Time
	pkt  int64
}

// tcpStreams is a minimal in-order reassembler for the single-connection
// test captures: the SYN's sender is the client, retransmitted bytes are
// trimmed and holes are reported as gaps.
func tcpStreams(t *testing.T, path string) (chunks []streamChunk, secrets []pcapio.Secret) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapio.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dec := packet.NewDecoder(packet.DefragLimits{})
	var client netip.AddrPort
	var next [2]uint32
	var started [2]bool
	var p pcapio.Packet
	var seg packet.Segment
	for n := int64(1); ; n++ {
		if err := r.Next(&p); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("%s: %v", path, err)
		}
		if dec.Decode(p.LinkType, p.Data, p.Time, &seg) != packet.ResultTCP {
			continue
		}
		if !client.IsValid() {
			client = seg.Src
			if seg.Flags&packet.FlagSYN != 0 && seg.Flags&packet.FlagACK != 0 {
				client = seg.Dst
			}
		}
		d := ClientToServer
		if seg.Src != client {
			d = ServerToClient
		}
		seq := seg.Seq
		if seg.Flags&packet.FlagSYN != 0 {
			seq++
			next[d], started[d] = seq, true
		}
		if len(seg.Payload) == 0 {
			continue
		}
		if !started[d] {
			next[d], started[d] = seq, true
		}
		payload := seg.Payload
		if diff := int32(next[d] - seq); diff > 0 {
			if int(diff) >= len(payload) {
				continue
			}
			payload = payload[diff:]
			seq = next[d]
		}
		gap := int(int32(seq - next[d]))
		chunks = append(chunks, streamChunk{dir: d, data: append([]byte(nil), payload...), gap: gap, t: p.Time, pkt: n})
		next[d] = seq + uint32(len(payload))
	}
	return chunks, r.Secrets()
}

type emitted struct {
	dir  Dir
	data string
	pkt  int64
}

func decodeChunks(keys *KeyLog, chunks []streamChunk) (*Conn, []emitted) {
	var out []emitted
	c := NewConn(keys, func(dir Dir, p []byte, _ time.Time, pkt int64) {
		out = append(out, emitted{dir, string(p), pkt})
	})
	for _, ch := range chunks {
		if ch.gap > 0 {
			c.Gap(ch.dir, ch.gap)
		}
		c.Feed(ch.dir, ch.data, ch.t, ch.pkt)
	}
	return c, out
}

func joined(out []emitted, d Dir) string {
	var b strings.Builder
	for _, e := range out {
		if e.dir == d {
			b.WriteString(e.data)
		}
	}
	return b.String()
}

func TestIllustratedConnections(t *testing.T) {
	dir := corpusDir(t)
	for _, tc := range []struct {
		name         string
		version      uint16
		suite        uint16
		sni          string
		client, serv string
		pkts         [2]int64
	}{
		{"illustrated-tls12", versionTLS12, 0xc013, "example.ulfheim.net", "ping", "pong", [2]int64{13, 15}},
		{"illustrated-tls13", versionTLS13, 0x1302, "example.ulfheim.net", "ping", "pong", [2]int64{11, 17}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunks, _ := tcpStreams(t, filepath.Join(dir, "tls", tc.name+".pcap"))
			keys := keylog.New(0)
			if err := keys.LoadFile(filepath.Join(dir, "tls", tc.name+".keylog")); err != nil {
				t.Fatal(err)
			}
			c, out := decodeChunks(keys, chunks)
			inf := c.Info()
			// The records sit in these packets of the capture (1-based).
			if len(out) != 2 || out[0].pkt != tc.pkts[0] || out[1].pkt != tc.pkts[1] {
				t.Errorf("emitted %+v, want packets %v", out, tc.pkts)
			}
			if inf.Version != tc.version || inf.CipherSuite != tc.suite || !inf.Decrypted {
				t.Errorf("version %#x suite %#x decrypted %v", inf.Version, inf.CipherSuite, inf.Decrypted)
			}
			if inf.SNI != tc.sni {
				t.Errorf("SNI %q, want %q", inf.SNI, tc.sni)
			}
			if got := joined(out, ClientToServer); got != tc.client {
				t.Errorf("client plaintext %q, want %q", got, tc.client)
			}
			if got := joined(out, ServerToClient); got != tc.serv {
				t.Errorf("server plaintext %q, want %q", got, tc.serv)
			}
			if len(inf.Warnings) != 0 {
				t.Errorf("warnings: %q", inf.Warnings)
			}

			// Without keys: metadata, no plaintext, the warning.
			c, out = decodeChunks(nil, chunks)
			inf = c.Info()
			if len(out) != 0 || inf.Decrypted || inf.SNI != tc.sni || inf.Version != tc.version {
				t.Errorf("without keys: %d emits, info %+v", len(out), inf)
			}
			if len(inf.Warnings) == 0 || inf.Warnings[0] != "TLS without keys" {
				t.Errorf("without keys: warnings %q", inf.Warnings)
			}
		})
	}
}

// TestDecryptionSecretsBlock decrypts from the secrets editcap embeds in a
// pcapng (Decryption Secrets Block, type TLSK), with no key log file.
func TestDecryptionSecretsBlock(t *testing.T) {
	dir := corpusDir(t)
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Skip("editcap not installed")
	}
	for _, name := range []string{"illustrated-tls12", "illustrated-tls13"} {
		out := filepath.Join(t.TempDir(), name+".pcapng")
		cmd := exec.Command(editcap, "--inject-secrets", "tls,"+filepath.Join(dir, "tls", name+".keylog"), filepath.Join(dir, "tls", name+".pcap"), out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("editcap: %v\n%s", err, b)
		}
		chunks, secrets := tcpStreams(t, out)
		keys := keylog.New(0)
		for _, s := range secrets {
			if s.Type == pcapio.SecretsTLSKeyLog {
				keys.Add(s.Data)
			}
		}
		if len(secrets) == 0 || keys.Stats().Entries != 1 {
			t.Fatalf("%s: %d secrets blocks, key log %+v", name, len(secrets), keys.Stats())
		}
		c, emits := decodeChunks(keys, chunks)
		if got := joined(emits, ClientToServer) + joined(emits, ServerToClient); got != "pingpong" || len(c.Info().Warnings) != 0 {
			t.Errorf("%s: plaintext %q, warnings %q", name, got, c.Info().Warnings)
		}
	}
}
