package tlsdec

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/keylog"
)

// fuzzKeys are the illustrated connections' secrets (both use one client
// random), so seeds made from those captures reach the decryption paths.
const fuzzKeys = `CLIENT_RANDOM 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 916abf9da55973e13614ae0a3f5d3f37b023ba129aee02cc9134338127cd7049781c8e19fc1eb2a7387ac06ae237344c
SERVER_HANDSHAKE_TRAFFIC_SECRET 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 23323da031634b241dd37d61032b62a4f450584d1f7f47983ba2f7cc0cdcc39a68f481f2b019f9403a3051908a5d1622
CLIENT_HANDSHAKE_TRAFFIC_SECRET 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f db89d2d6df0e84fed74a2288f8fd4d0959f790ff23946cdf4c26d85e51bebd42ae184501972f8d30c4a3e4a3693d0ef0
SERVER_TRAFFIC_SECRET_0 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 86c967fd7747a36a0685b4ed8d0e6b4c02b4ddaf3cd294aa44e9f6b0183bf911e89a189ba5dfd71fccffb5cc164901f8
CLIENT_TRAFFIC_SECRET_0 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 9e47af27cb60d818a9ea7d233cb5ed4cc525fcd74614fb24b0ee59acb8e5aa7ff8d88b89792114208fec291a6fa96bad
`

// encodeOps turns stream chunks into the fuzz input format: per operation
// one byte (0/1 feed client/server, 2/3 gap client/server), a big-endian
// uint16 length and, for feeds, the data.
func encodeOps(chunks []streamChunk) []byte {
	var b []byte
	for _, c := range chunks {
		for d := c.data; len(d) > 0; {
			n := min(len(d), 0xffff)
			b = append(b, byte(c.dir))
			b = binary.BigEndian.AppendUint16(b, uint16(n))
			b = append(b, d[:n]...)
			d = d[n:]
		}
	}
	return b
}

func runOps(c *Conn, ops []byte) {
	t0 := time.Unix(0, 0)
	for pkt := int64(0); len(ops) >= 3; pkt++ {
		op, n := ops[0]&3, int(binary.BigEndian.Uint16(ops[1:]))
		ops = ops[3:]
		if op >= 2 {
			c.Gap(Dir(op-2), n)
			continue
		}
		n = min(n, len(ops))
		c.Feed(Dir(op), ops[:n], t0, pkt)
		ops = ops[n:]
	}
}

func FuzzConn(f *testing.F) {
	f.Add([]byte{0, 0, 5, 0x16, 3, 1, 0, 4, 1, 0, 4, 0})
	f.Add(encodeOps([]streamChunk{{dir: ClientToServer, data: []byte{0x17, 3, 3, 0, 20}}, {dir: ServerToClient, data: make([]byte, 30)}}))
	keys := keylog.New(0)
	keys.Add([]byte(fuzzKeys))
	f.Fuzz(func(t *testing.T, ops []byte) {
		var emitted int64
		c := NewConn(keys, func(_ Dir, p []byte, _ time.Time, _ int64) { emitted += int64(len(p)) })
		runOps(c, ops)
		inf := c.Info()
		if emitted != inf.Plaintext[0]+inf.Plaintext[1] {
			t.Fatalf("emitted %d, counted %+v", emitted, inf.Plaintext)
		}
		for i := range c.h {
			h := &c.h[i]
			if len(h.buf) > recordHeaderLen+maxCiphertext || len(h.hs) > 4+maxHandshakeMsg ||
				h.heldBytes > maxPending || len(h.rbuf) > 2*(recordHeaderLen+maxCiphertext)+0xffff {
				t.Fatalf("%s: buffers beyond their caps: buf %d hs %d held %d rbuf %d", h.dir, len(h.buf), len(h.hs), h.heldBytes, len(h.rbuf))
			}
		}
		if len(inf.Warnings) > maxWarnings+8 {
			t.Fatalf("%d warnings", len(inf.Warnings))
		}
	})
}

// TestWriteFuzzSeeds regenerates the committed seeds from the public corpus:
// TLSDEC_WRITE_SEEDS=1 go test -run WriteFuzzSeeds ./capture/tlsdec
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("TLSDEC_WRITE_SEEDS") == "" {
		t.Skip("set TLSDEC_WRITE_SEEDS=1 to regenerate the seed corpus")
	}
	dir := corpusDir(t)
	for _, name := range []string{"illustrated-tls12", "illustrated-tls13"} {
		chunks, _ := tcpStreams(t, filepath.Join(dir, "tls", name+".pcap"))
		for _, n := range []int{0, 7} {
			cs := chunks
			if n > 0 {
				cs = rechunk(chunks, n)
			}
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", encodeOps(cs))
			out := filepath.Join("testdata", "fuzz", "FuzzConn", fmt.Sprintf("seed-%s-%d", name, n))
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(out, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestFuzzSeedsDecrypt keeps the seeds honest: they must reach plaintext.
func TestFuzzSeedsDecrypt(t *testing.T) {
	keys := keylog.New(0)
	keys.Add([]byte(fuzzKeys))
	dir := filepath.Join("testdata", "fuzz", "FuzzConn")
	for _, name := range []string{"seed-illustrated-tls12-7", "seed-illustrated-tls13-0"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var ops []byte
		if _, err := fmt.Sscanf(string(b), "go test fuzz v1\n[]byte(%q)", &ops); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got string
		c := NewConn(keys, func(_ Dir, p []byte, _ time.Time, _ int64) { got += string(p) })
		runOps(c, ops)
		if got != "pingpong" {
			t.Errorf("%s: plaintext %q", name, got)
		}
	}
}
