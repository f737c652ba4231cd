package tlsdec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// Protection schemes of a record.
const (
	kindAEAD13   = iota + 1 // TLS 1.3: nonce = iv XOR seq, AAD = record header
	kindGCM12               // TLS 1.2 AES-GCM: 4-byte salt + 8-byte explicit nonce
	kindChaCha12            // TLS 1.2 ChaCha20-Poly1305: iv XOR seq
	kindCBC12               // TLS 1.2 AES-CBC + HMAC
)

// suite describes what the decoder needs of a cipher suite.
type suite struct {
	kind   int
	keyLen int
	macLen int              // CBC only
	mac    func() hash.Hash // CBC only
	prf    func() hash.Hash // TLS 1.2 PRF hash; TLS 1.3 HKDF hash
}

var suites = map[uint16]suite{
	// TLS 1.3
	0x1301: {kind: kindAEAD13, keyLen: 16, prf: sha256.New},
	0x1302: {kind: kindAEAD13, keyLen: 32, prf: sha512.New384},
	0x1303: {kind: kindAEAD13, keyLen: 32, prf: sha256.New},
	// TLS 1.2 AES-GCM
	0x009c: {kind: kindGCM12, keyLen: 16, prf: sha256.New},
	0x009d: {kind: kindGCM12, keyLen: 32, prf: sha512.New384},
	0x009e: {kind: kindGCM12, keyLen: 16, prf: sha256.New},
	0x009f: {kind: kindGCM12, keyLen: 32, prf: sha512.New384},
	0xc02b: {kind: kindGCM12, keyLen: 16, prf: sha256.New},
	0xc02c: {kind: kindGCM12, keyLen: 32, prf: sha512.New384},
	0xc02f: {kind: kindGCM12, keyLen: 16, prf: sha256.New},
	0xc030: {kind: kindGCM12, keyLen: 32, prf: sha512.New384},
	// TLS 1.2 ChaCha20-Poly1305
	0xcca8: {kind: kindChaCha12, keyLen: 32, prf: sha256.New},
	0xcca9: {kind: kindChaCha12, keyLen: 32, prf: sha256.New},
	0xccaa: {kind: kindChaCha12, keyLen: 32, prf: sha256.New},
	// TLS 1.2 AES-CBC with HMAC
	0x002f: {kind: kindCBC12, keyLen: 16, macLen: 20, mac: sha1.New, prf: sha256.New},
	0x0033: {kind: kindCBC12, keyLen: 16, macLen: 20, mac: sha1.New, prf: sha256.New},
	0x0035: {kind: kindCBC12, keyLen: 32, macLen: 20, mac: sha1.New, prf: sha256.New},
	0x0039: {kind: kindCBC12, keyLen: 32, macLen: 20, mac: sha1.New, prf: sha256.New},
	0x003c: {kind: kindCBC12, keyLen: 16, macLen: 32, mac: sha256.New, prf: sha256.New},
	0x003d: {kind: kindCBC12, keyLen: 32, macLen: 32, mac: sha256.New, prf: sha256.New},
	0x0067: {kind: kindCBC12, keyLen: 16, macLen: 32, mac: sha256.New, prf: sha256.New},
	0x006b: {kind: kindCBC12, keyLen: 32, macLen: 32, mac: sha256.New, prf: sha256.New},
	0xc009: {kind: kindCBC12, keyLen: 16, macLen: 20, mac: sha1.New, prf: sha256.New},
	0xc00a: {kind: kindCBC12, keyLen: 32, macLen: 20, mac: sha1.New, prf: sha256.New},
	0xc013: {kind: kindCBC12, keyLen: 16, macLen: 20, mac: sha1.New, prf: sha256.New},
	0xc014: {kind: kindCBC12, keyLen: 32, macLen: 20, mac: sha1.New, prf: sha256.New},
	0xc023: {kind: kindCBC12, keyLen: 16, macLen: 32, mac: sha256.New, prf: sha256.New},
	0xc024: {kind: kindCBC12, keyLen: 32, macLen: 48, mac: sha512.New384, prf: sha512.New384},
	0xc027: {kind: kindCBC12, keyLen: 16, macLen: 32, mac: sha256.New, prf: sha256.New},
	0xc028: {kind: kindCBC12, keyLen: 32, macLen: 48, mac: sha512.New384, prf: sha512.New384},
}

// cipherState is the read state of one direction under one key.
type cipherState struct {
	kind   int
	aead   cipher.AEAD
	iv     [12]byte // full IV (1.3, ChaCha) or salt in iv[:4] (GCM 1.2)
	block  cipher.Block
	mac    hash.Hash
	macLen int
	etm    bool
	seq    uint64
	secret []byte // TLS 1.3 traffic secret, for KeyUpdate
	hash   func() hash.Hash
	scr    [64]byte // scratch: AAD, MAC header, MAC output
	nonce  [12]byte // scratch: a local array would escape through cipher.AEAD
}

var errAuth = errors.New("record authentication failed")

// expandLabel is TLS 1.3's HKDF-Expand-Label with an empty context.
func expandLabel(h func() hash.Hash, secret []byte, label string, n int) []byte {
	info := make([]byte, 0, 4+6+len(label))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0)
	out, err := hkdf.Expand(h, secret, string(info), n)
	if err != nil {
		return nil
	}
	return out
}

// newState13 derives a TLS 1.3 record key from a traffic secret.
func newState13(cs uint16, secret []byte) (*cipherState, error) {
	s, ok := suites[cs]
	if !ok || s.kind != kindAEAD13 {
		return nil, errors.New("not a TLS 1.3 cipher suite")
	}
	key := expandLabel(s.prf, secret, "key", s.keyLen)
	iv := expandLabel(s.prf, secret, "iv", 12)
	st := &cipherState{kind: kindAEAD13, secret: append([]byte(nil), secret...), hash: s.prf}
	var err error
	if cs == 0x1303 {
		st.aead, err = chacha20poly1305.New(key)
	} else {
		st.aead, err = newGCM(key)
	}
	copy(st.iv[:], iv)
	return st, err
}

// nextGeneration13 applies a KeyUpdate: the next traffic secret and key.
func (st *cipherState) nextGeneration13(cs uint16) (*cipherState, error) {
	h := st.hash
	next := expandLabel(h, st.secret, "traffic upd", h().Size())
	return newState13(cs, next)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// prf12 is the TLS 1.2 PRF (P_hash of RFC 5246 section 5).
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	ls := append([]byte(label), seed...)
	mac := hmac.New(h, secret)
	mac.Write(ls)
	a := mac.Sum(nil)
	out := make([]byte, 0, n+mac.Size())
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(ls)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// newStates12 expands a TLS 1.2 master secret into both directions' states.
func newStates12(cs uint16, master []byte, clientRandom, serverRandom [32]byte, etm bool) (client, server *cipherState, err error) {
	s, ok := suites[cs]
	if !ok || s.kind == kindAEAD13 {
		return nil, nil, errors.New("unsupported TLS 1.2 cipher suite")
	}
	ivLen := 0
	switch s.kind {
	case kindGCM12:
		ivLen = 4
	case kindChaCha12:
		ivLen = 12
	case kindCBC12:
		ivLen = 16 // generated but unused: TLS 1.2 CBC records carry their IV
	}
	seed := make([]byte, 0, 64)
	seed = append(seed, serverRandom[:]...)
	seed = append(seed, clientRandom[:]...)
	kb := prf12(s.prf, master, "key expansion", seed, 2*s.macLen+2*s.keyLen+2*ivLen)
	take := func(n int) []byte { b := kb[:n]; kb = kb[n:]; return b }
	cMac, sMac := take(s.macLen), take(s.macLen)
	cKey, sKey := take(s.keyLen), take(s.keyLen)
	cIV, sIV := take(ivLen), take(ivLen)
	mk := func(mac, key, iv []byte) (*cipherState, error) {
		st := &cipherState{kind: s.kind}
		copy(st.iv[:], iv)
		var err error
		switch s.kind {
		case kindGCM12:
			st.aead, err = newGCM(key)
		case kindChaCha12:
			st.aead, err = chacha20poly1305.New(key)
		case kindCBC12:
			st.block, err = aes.NewCipher(key)
			st.mac = hmac.New(s.mac, mac)
			st.macLen = s.macLen
			st.etm = etm
		}
		return st, err
	}
	if client, err = mk(cMac, cKey, cIV); err != nil {
		return nil, nil, err
	}
	server, err = mk(sMac, sKey, sIV)
	return client, server, err
}

// open authenticates and decrypts one record (header included) into dst and
// returns the plaintext and its content type. The sequence number advances
// only on success, so the caller can retry with another key.
func (st *cipherState) open(dst, rec []byte) ([]byte, uint8, error) {
	hdr, payload := rec[:5], rec[5:]
	typ := hdr[0]
	nonce := &st.nonce
	switch st.kind {
	case kindAEAD13:
		*nonce = st.iv
		xorSeq(nonce, st.seq)
		if len(payload) < st.aead.Overhead()+1 {
			return nil, 0, errAuth
		}
		out, err := st.aead.Open(dst[:0], nonce[:], payload, hdr)
		if err != nil {
			return nil, 0, errAuth
		}
		i := len(out) - 1
		for i >= 0 && out[i] == 0 {
			i--
		}
		if i < 0 {
			return nil, 0, errAuth // no content type: not a valid inner plaintext
		}
		st.seq++
		return out[:i], out[i], nil
	case kindGCM12:
		if len(payload) < 8+16 {
			return nil, 0, errAuth
		}
		copy(nonce[:4], st.iv[:4])
		copy(nonce[4:], payload[:8])
		aad := st.aad12(typ, hdr, len(payload)-8-16)
		out, err := st.aead.Open(dst[:0], nonce[:], payload[8:], aad)
		if err != nil {
			return nil, 0, errAuth
		}
		st.seq++
		return out, typ, nil
	case kindChaCha12:
		if len(payload) < 16 {
			return nil, 0, errAuth
		}
		*nonce = st.iv
		xorSeq(nonce, st.seq)
		aad := st.aad12(typ, hdr, len(payload)-16)
		out, err := st.aead.Open(dst[:0], nonce[:], payload, aad)
		if err != nil {
			return nil, 0, errAuth
		}
		st.seq++
		return out, typ, nil
	case kindCBC12:
		out, err := st.openCBC(dst, typ, hdr, payload)
		if err != nil {
			return nil, 0, err
		}
		st.seq++
		return out, typ, nil
	}
	return nil, 0, errAuth
}

func xorSeq(nonce *[12]byte, seq uint64) {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i := range s {
		nonce[4+i] ^= s[i]
	}
}

// aad12 builds seq || type || version || length in the scratch buffer.
func (st *cipherState) aad12(typ uint8, hdr []byte, n int) []byte {
	a := st.scr[:13]
	binary.BigEndian.PutUint64(a, st.seq)
	a[8] = typ
	a[9], a[10] = hdr[1], hdr[2]
	binary.BigEndian.PutUint16(a[11:], uint16(n))
	return a
}

func (st *cipherState) macOK(typ uint8, hdr, data, want []byte) bool {
	st.mac.Reset()
	st.mac.Write(st.aad12(typ, hdr, len(data)))
	st.mac.Write(data)
	got := st.mac.Sum(st.scr[13:13])
	return subtle.ConstantTimeCompare(got, want) == 1
}

func (st *cipherState) openCBC(dst []byte, typ uint8, hdr, payload []byte) ([]byte, error) {
	const bs = aes.BlockSize
	body := payload
	if st.etm {
		if len(payload) < bs+st.macLen {
			return nil, errAuth
		}
		body = payload[:len(payload)-st.macLen]
		if !st.macOK(typ, hdr, body, payload[len(body):]) {
			return nil, errAuth
		}
	}
	if len(body) < 2*bs || len(body)%bs != 0 {
		return nil, errAuth
	}
	ct := body[bs:]
	if cap(dst) < len(ct) {
		dst = make([]byte, len(ct))
	}
	out := dst[:len(ct)]
	cipher.NewCBCDecrypter(st.block, body[:bs]).CryptBlocks(out, ct)
	pad := int(out[len(out)-1])
	if pad+1 > len(out) {
		return nil, errAuth
	}
	for _, b := range out[len(out)-1-pad:] {
		if int(b) != pad {
			return nil, errAuth
		}
	}
	out = out[:len(out)-1-pad]
	if st.etm {
		return out, nil
	}
	if len(out) < st.macLen {
		return nil, errAuth
	}
	content := out[:len(out)-st.macLen]
	if !st.macOK(typ, hdr, content, out[len(content):]) {
		return nil, errAuth
	}
	return content, nil
}
