package tlsdec

import "encoding/binary"

// Extension numbers the decoder reads.
const (
	extServerName        = 0
	extSessionTicket     = 35
	extALPN              = 16
	extEncryptThenMAC    = 22
	extPreSharedKey      = 41
	extEarlyData         = 42
	extSupportedVersions = 43
)

// Limits on what a hello may make the decoder keep.
const (
	maxALPNOffered = 16
	maxNameLen     = 255
)

// helloRetryRandom is the ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3).
var helloRetryRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// reader is a bounds-checked cursor: every read past the end sets bad.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u8() uint8 {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	if len(r.b) < 2 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) vec8() []byte  { return r.bytes(int(r.u8())) }
func (r *reader) vec16() []byte { return r.bytes(int(r.u16())) }

// clientHello is what the decoder keeps of a ClientHello.
type clientHello struct {
	random        [32]byte
	sessionID     []byte
	sni           string
	alpn          []string
	versions      []uint16 // supported_versions, if sent
	earlyData     bool
	etm           bool
	psk           bool
	legacyVersion uint16
	ticket        []byte // session_ticket extension contents (TLS 1.2 resumption)
}

func parseClientHello(b []byte) (ch clientHello, ok bool) {
	r := reader{b: b}
	ch.legacyVersion = r.u16()
	copy(ch.random[:], r.bytes(32))
	ch.sessionID = r.vec8()
	r.vec16() // cipher suites
	r.vec8()  // compression methods
	if r.bad {
		return ch, false
	}
	if len(r.b) == 0 {
		return ch, true // no extensions (old clients)
	}
	exts := reader{b: r.vec16()}
	for len(exts.b) > 0 && !exts.bad {
		typ := exts.u16()
		body := reader{b: exts.vec16()}
		switch typ {
		case extServerName:
			list := reader{b: body.vec16()}
			for len(list.b) > 0 && !list.bad {
				kind := list.u8()
				name := list.vec16()
				if kind == 0 && ch.sni == "" && len(name) <= maxNameLen {
					ch.sni = string(name)
				}
			}
		case extALPN:
			list := reader{b: body.vec16()}
			for len(list.b) > 0 && !list.bad {
				p := list.vec8()
				if len(p) > 0 && len(ch.alpn) < maxALPNOffered {
					ch.alpn = append(ch.alpn, string(p))
				}
			}
		case extSupportedVersions:
			list := reader{b: body.vec8()}
			for len(list.b) >= 2 && len(ch.versions) < 32 {
				ch.versions = append(ch.versions, list.u16())
			}
		case extEarlyData:
			ch.earlyData = true
		case extEncryptThenMAC:
			ch.etm = true
		case extPreSharedKey:
			ch.psk = true
		case extSessionTicket:
			ch.ticket = body.b
		}
	}
	return ch, !exts.bad
}

// serverHello is what the decoder keeps of a ServerHello.
type serverHello struct {
	random    [32]byte
	sessionID []byte
	suite     uint16
	version   uint16 // supported_versions if present, else the legacy version
	alpn      string
	etm       bool
	psk       bool
}

func parseServerHello(b []byte) (sh serverHello, ok bool) {
	r := reader{b: b}
	sh.version = r.u16()
	copy(sh.random[:], r.bytes(32))
	sh.sessionID = r.vec8()
	sh.suite = r.u16()
	r.u8() // compression
	if r.bad {
		return sh, false
	}
	if len(r.b) == 0 {
		return sh, true
	}
	exts := reader{b: r.vec16()}
	for len(exts.b) > 0 && !exts.bad {
		typ := exts.u16()
		body := reader{b: exts.vec16()}
		switch typ {
		case extSupportedVersions:
			if v := body.u16(); !body.bad {
				sh.version = v
			}
		case extALPN:
			sh.alpn = firstALPN(body)
		case extEncryptThenMAC:
			sh.etm = true
		case extPreSharedKey:
			sh.psk = true
		}
	}
	return sh, !exts.bad
}

func firstALPN(body reader) string {
	list := reader{b: body.vec16()}
	p := list.vec8()
	if list.bad || len(p) == 0 || len(p) > maxNameLen {
		return ""
	}
	return string(p)
}

// parseEncryptedExtensions returns the chosen ALPN protocol and whether the
// server accepted 0-RTT data.
func parseEncryptedExtensions(b []byte) (alpn string, early bool, ok bool) {
	r := reader{b: b}
	exts := reader{b: r.vec16()}
	if r.bad {
		return "", false, false
	}
	for len(exts.b) > 0 && !exts.bad {
		typ := exts.u16()
		body := reader{b: exts.vec16()}
		switch typ {
		case extALPN:
			alpn = firstALPN(body)
		case extEarlyData:
			early = true
		}
	}
	return alpn, early, !exts.bad
}
