package tlsdec

import (
	"bytes"
	"crypto/tls"
	"net"
	"sync"
	"testing"

	"github.com/corscope/corscope/capture/keylog"
)

// keyUpdater sits on the client's side of the wire and, once application
// data flows, injects a KeyUpdate(update_requested) into the client's
// records, re-encrypting everything after it under the next key. The Go
// server accepts that only if the key derivation is right, and answers with
// its own KeyUpdate, so both directions of the recorded stream change keys.
type keyUpdater struct {
	net.Conn
	keys   *lockedBuffer
	mu     sync.Mutex
	buf    []byte
	suite  uint16
	random [32]byte
	seen   int          // client application_data records so far
	rd     *cipherState // decrypts the client's records (generation 0)
	wr     *cipherState // encrypts what the server gets (generation 1)
	err    error
}

func seal13(st *cipherState, typ byte, plain []byte) []byte {
	inner := append(append([]byte(nil), plain...), typ)
	n := len(inner) + st.aead.Overhead()
	hdr := []byte{typeApplicationData, 3, 3, byte(n >> 8), byte(n)}
	nonce := st.iv
	xorSeq(&nonce, st.seq)
	st.seq++
	return st.aead.Seal(append([]byte(nil), hdr...), nonce[:], inner, hdr)
}

func (k *keyUpdater) Write(b []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.buf = append(k.buf, b...)
	var out []byte
	for len(k.buf) >= 5 {
		n := int(k.buf[3])<<8 | int(k.buf[4])
		if len(k.buf) < 5+n {
			break
		}
		rec := append([]byte(nil), k.buf[:5+n]...)
		k.buf = k.buf[5+n:]
		out = append(out, k.rewrite(rec)...)
	}
	if k.err != nil {
		return 0, k.err
	}
	if _, err := k.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (k *keyUpdater) rewrite(rec []byte) []byte {
	switch {
	case rec[0] == typeHandshake && rec[5] == hsClientHello:
		copy(k.random[:], rec[5+4+2:])
		return rec
	case rec[0] != typeApplicationData:
		return rec
	}
	k.seen++
	if k.seen == 1 {
		return rec // the client's Finished, under the handshake key
	}
	if k.rd == nil {
		l := keylog.New(0)
		l.Add(k.keys.Bytes())
		e, _ := l.Lookup(k.random)
		for _, cs := range []uint16{0x1301, 0x1303, 0x1302} {
			st, err := newState13(cs, e.ClientTraffic.Bytes())
			if err != nil {
				continue
			}
			if _, _, err := st.open(make([]byte, len(rec)), rec); err == nil {
				st.seq = 0
				k.rd, k.suite = st, cs
				break
			}
		}
		if k.rd == nil {
			k.err = net.ErrClosed
			return nil
		}
		ku := seal13(k.rd.clone(), typeHandshake, []byte{hsKeyUpdate, 0, 0, 1, 1})
		next, err := k.rd.nextGeneration13(k.suite)
		if err != nil {
			k.err = err
			return nil
		}
		k.wr = next
		plain, typ, err := k.rd.open(make([]byte, len(rec)), rec)
		if err != nil {
			k.err = err
			return nil
		}
		return append(ku, seal13(k.wr, typ, plain)...)
	}
	plain, typ, err := k.rd.open(make([]byte, len(rec)), rec)
	if err != nil {
		k.err = err
		return nil
	}
	return seal13(k.wr, typ, plain)
}

func (st *cipherState) clone() *cipherState {
	c := *st
	return &c
}

func TestGoTLS13KeyUpdateBothDirections(t *testing.T) {
	conf := &tls.Config{MinVersion: tls.VersionTLS13}
	s := runSession(t, conf, conf, func(c net.Conn, keys *lockedBuffer) net.Conn {
		return &keyUpdater{Conn: c, keys: keys}
	}, exchangeSizes)
	// The recorded client stream must hold the injected KeyUpdate.
	var client []byte
	for _, c := range s.chunks {
		if c.dir == ClientToServer {
			client = append(client, c.data...)
		}
	}
	keys := keylog.New(0)
	keys.Add(s.keys)
	c, out := decodeChunks(keys, s.chunks)
	if got := joined(out, ClientToServer); got != string(s.sentC) {
		t.Fatalf("client plaintext differs (%d bytes of %d)", len(got), len(s.sentC))
	}
	if got := joined(out, ServerToClient); got != string(s.sentS) {
		t.Fatalf("server plaintext differs (%d bytes of %d)", len(got), len(s.sentS))
	}
	if inf := c.Info(); len(inf.Warnings) != 0 {
		t.Fatalf("warnings %q", inf.Warnings)
	}
	for d := range c.h {
		if c.h[d].keyUpdates != 1 {
			t.Errorf("%s: %d KeyUpdates decoded, want 1", Dir(d), c.h[d].keyUpdates)
		}
	}
	if !bytes.Contains(client, []byte{typeApplicationData, 3, 3}) {
		t.Fatal("no client records recorded")
	}
}
