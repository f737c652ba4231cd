package tlsdec

import (
	"crypto/rand"
	"encoding/binary"
	"testing"
	"time"
)

// benchStream seals n application records of size bytes under st, as a
// TLS 1.3 (aead13) or TLS 1.2 GCM peer would send them.
func benchStream(st *cipherState, n, size int) []byte {
	plain := make([]byte, size)
	rand.Read(plain)
	var out []byte
	for i := 0; i < n; i++ {
		switch st.kind {
		case kindAEAD13:
			out = append(out, seal13(st, typeApplicationData, plain)...)
		case kindGCM12:
			hdr := []byte{typeApplicationData, 3, 3, 0, 0}
			binary.BigEndian.PutUint16(hdr[3:], uint16(8+size+16))
			var nonce [12]byte
			copy(nonce[:4], st.iv[:4])
			binary.BigEndian.PutUint64(nonce[4:], st.seq)
			rec := append(hdr, nonce[4:]...)
			aad := st.aad12(typeApplicationData, hdr, size)
			out = st.aead.Seal(append(out, rec...), nonce[:], plain, aad)
			st.seq++
		case kindChaCha12:
			hdr := []byte{typeApplicationData, 3, 3, 0, 0}
			binary.BigEndian.PutUint16(hdr[3:], uint16(size+16))
			nonce := st.iv
			xorSeq(&nonce, st.seq)
			aad := st.aad12(typeApplicationData, hdr, size)
			out = st.aead.Seal(append(out, hdr...), nonce[:], plain, aad)
			st.seq++
		}
	}
	return out
}

// BenchmarkDecrypt measures MB/s of TLS records through Feed, in 1448-byte
// TCP-sized pieces, for each AEAD.
func BenchmarkDecrypt(b *testing.B) {
	secret := make([]byte, 32)
	secret48 := make([]byte, 48)
	for _, bc := range []struct {
		name  string
		suite uint16
		tls12 bool
	}{
		{"TLS1.3-AES-128-GCM", 0x1301, false},
		{"TLS1.3-AES-256-GCM", 0x1302, false},
		{"TLS1.3-ChaCha20-Poly1305", 0x1303, false},
		{"TLS1.2-AES-128-GCM", 0xc02f, true},
		{"TLS1.2-ChaCha20-Poly1305", 0xcca8, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var rd, wr *cipherState
			var err error
			if bc.tls12 {
				var cr, sr [32]byte
				rd, _, err = newStates12(bc.suite, secret48, cr, sr, false)
				if err == nil {
					wr, _, err = newStates12(bc.suite, secret48, cr, sr, false)
				}
			} else {
				s := secret
				if bc.suite == 0x1302 {
					s = secret48
				}
				rd, err = newState13(bc.suite, s)
				if err == nil {
					wr, err = newState13(bc.suite, s)
				}
			}
			if err != nil {
				b.Fatal(err)
			}
			stream := benchStream(wr, 64, 16384)
			var got int64
			c := NewConn(nil, func(_ Dir, p []byte, _ time.Time, _ int64) { got += int64(len(p)) })
			h := &c.h[ServerToClient]
			if bc.tls12 {
				c.version, h.ccs = versionTLS12, true
			} else {
				c.version, h.phase = versionTLS13, phaseApp
			}
			c.suite, h.st = bc.suite, rd
			t0 := time.Unix(0, 0)
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rd.seq = 0
				for d := stream; len(d) > 0; {
					n := min(1448, len(d))
					c.Feed(ServerToClient, d[:n], t0, int64(i))
					d = d[n:]
				}
			}
			b.StopTimer()
			if got != int64(b.N)*64*16384 {
				b.Fatalf("decrypted %d bytes, want %d", got, int64(b.N)*64*16384)
			}
		})
	}
}
