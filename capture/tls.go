package capture

import (
	"fmt"
	"time"

	"github.com/corscope/corscope/capture/h2"
	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/capture/keylog"
	"github.com/corscope/corscope/capture/pcapio"
	"github.com/corscope/corscope/capture/tcpasm"
	"github.com/corscope/corscope/capture/tlsdec"
	"github.com/corscope/corscope/storage"
)

// WarnTLSWithoutKeys is the connection warning (from capture/tlsdec) of a
// TLS connection whose secrets were in no key log.
const WarnTLSWithoutKeys = tlsdec.WarnNoKeys

// tlsState is the pipeline's TLS side: the secrets every connection looks
// up, and what the input's connections amounted to.
type tlsState struct {
	keys        *keylog.Log
	keyErr      error // a key log file that could not be read
	secretsSeen int   // pcapng Decryption Secrets Blocks already added
	decrypted   int64
	undecrypted int64
}

// openKeys returns the secret store of one input: opts.Keys when given
// (live capture shares a watched log), else a fresh one, with the files of
// opts.Keylogs loaded. DSBs of the input are added as they are read.
func openKeys(opts Options) (*keylog.Log, error) {
	keys := opts.Keys
	if keys == nil {
		keys = keylog.New(0)
	}
	for _, path := range opts.Keylogs {
		if err := keys.LoadFile(path); err != nil {
			return keys, fmt.Errorf("key log: %w", err)
		}
	}
	return keys, nil
}

// addSecrets hands the key log payloads of new Decryption Secrets Blocks to
// the store; Read calls it before each packet, since a DSB may unlock the
// connections whose packets follow it.
func (pl *pipeline) addSecrets(secrets []pcapio.Secret) {
	for _, s := range secrets[pl.tls.secretsSeen:] {
		if s.Type == pcapio.SecretsTLSKeyLog {
			pl.tls.keys.Add(s.Data)
		}
	}
	pl.tls.secretsSeen = len(secrets)
}

// tlsConn is the TLS side of one connection: the decoder, and the TCP gaps
// the plaintext parser has not been told about yet.
type tlsConn struct {
	dec *tlsdec.Conn
	// lost is set per direction by a TCP gap: the records it touched are
	// gone, so the plaintext parser hears of a gap of unknown size before
	// the next plaintext of that direction.
	lost [2]bool
	// lostCause says why a limit made the last loss, if one did.
	lostCause [2]string
	// chosen is set once the first plaintext picked the parser; seen per
	// direction once plaintext came.
	chosen bool
	seen   [2]bool
	// at remembers the TCP numbers of the recent segments fed per
	// direction, so plaintext can carry those of the packet that began its
	// record: the HTTP/1 parser pairs responses by them after a loss.
	at [2]tcpRing
	// last is the position of the latest plaintext per direction: records
	// beginning in the same segment continue from it.
	last [2]tcpPos
}

// tcpPos is where a run of bytes sits in TCP terms.
type tcpPos struct {
	pkt      int64
	seq, ack uint32
}

// tcpRing holds the positions of the last segments of one direction; a
// record's first byte is normally within a few segments of its end.
type tcpRing struct {
	pos [16]tcpPos
	n   int
}

func (r *tcpRing) add(p tcpPos) {
	r.pos[r.n%len(r.pos)] = p
	r.n++
}

func (r *tcpRing) find(pkt int64) (tcpPos, bool) {
	for i := range min(r.n, len(r.pos)) {
		if p := r.pos[(r.n-1-i)%len(r.pos)]; p.pkt == pkt {
			return p, true
		}
	}
	return tcpPos{}, false
}

// startTLS routes the connection through the TLS decoder; the parser is
// picked when the first plaintext comes out.
func (s *connStream) startTLS() {
	s.tls = true
	s.tlsc = &tlsConn{}
	s.tlsc.dec = tlsdec.NewConn(s.pl.tls.keys, s.plaintext)
}

// feedTLS hands TCP payload to the decoder; plaintext comes back through
// s.plaintext, possibly for the other direction (held records).
func (s *connStream) feedTLS(dir tcpasm.Dir, seg http1.Segment) {
	if seg.Seq != 0 || seg.Ack != 0 {
		s.tlsc.at[dir&1].add(tcpPos{seg.Packet, seg.Seq, seg.Ack})
	}
	s.tlsc.dec.Feed(tlsdec.Dir(dir), seg.Data, seg.Time, seg.Packet)
}

// gapTLS lets the TLS layer decide what a TCP gap cost; the plaintext
// parser learns of it with the next plaintext of that direction.
func (s *connStream) gapTLS(dir tcpasm.Dir, lost int) {
	s.tlsc.dec.Gap(tlsdec.Dir(dir), lost)
	s.tlsc.lost[dir&1] = true
	s.tlsc.lostCause[dir&1] = "" // a plain loss since: the capture lacks bytes too
}

// plaintext receives decrypted application data. Its Seq is that of the
// segment that began the record (or just after the previous plaintext of
// that segment) and its Ack that segment's: approximate in the sequence
// space, but ordered as the HTTP/1 parser's pairing after a loss needs.
func (s *connStream) plaintext(dir tlsdec.Dir, p []byte, t time.Time, pkt int64) {
	tc := s.tlsc
	if !tc.chosen {
		tc.chosen = true
		if tc.dec.ALPN() == "h2" || (dir == tlsdec.ClientToServer && h2.LooksLikePreface(p)) {
			s.startH2()
		} else {
			meta := http1.ConnMeta{Client: s.info.Client.String(), Server: s.info.Server.String(), TLS: true, ConnNo: s.info.No}
			s.parser = http1.NewParser(s.pl.opts.HTTP, meta, s.emit)
		}
	}
	if !tc.seen[dir&1] {
		tc.seen[dir&1] = true
		if s.h2Start(dir, p) {
			// The gaps so far cost handshake records only.
			tc.lost[dir&1], tc.lostCause[dir&1] = false, ""
		}
	}
	d := tcpasm.Dir(dir)
	if tc.lost[dir&1] {
		cause := tc.lostCause[dir&1]
		tc.lost[dir&1], tc.lostCause[dir&1] = false, ""
		s.gapApp(d, -1, t, cause)
	}
	seg := http1.Segment{Data: p, Time: t, Packet: pkt}
	if last := &tc.last[dir&1]; last.pkt == pkt && pkt != 0 {
		seg.Seq, seg.Ack = last.seq, last.ack
	} else if at, ok := tc.at[dir&1].find(pkt); ok {
		seg.Seq, seg.Ack = at.seq, at.ack
	}
	if seg.Seq != 0 || seg.Ack != 0 {
		tc.last[dir&1] = tcpPos{pkt, seg.Seq + uint32(len(p)), seg.Ack}
	} else {
		tc.last[dir&1] = tcpPos{}
	}
	s.feedApp(d, seg)
}

// h2Start reports whether a direction's first plaintext proves nothing of
// its HTTP/2 stream came before: the client preface, or the server's
// SETTINGS (its first frame). HTTP/1 has no such mark: a response may
// follow lost ones.
func (s *connStream) h2Start(dir tlsdec.Dir, p []byte) bool {
	switch {
	case s.h2.p == nil:
		return false
	case dir == tlsdec.ClientToServer:
		return h2.LooksLikePreface(p)
	default:
		return len(p) >= 9 && p[3] == 0x4 && p[4] == 0 && p[5]|p[6]|p[7]|p[8] == 0
	}
}

// drainTLS releases records held for keys that arrived since (live capture
// with a growing key log): the decoder drains a direction on its next Feed,
// and a closing connection has none coming.
func (s *connStream) drainTLS(t time.Time) {
	s.tlsc.dec.Feed(tlsdec.ClientToServer, nil, t, 0)
	s.tlsc.dec.Feed(tlsdec.ServerToClient, nil, t, 0)
}

// closeTLS fills the connection record from what the decoder learnt and
// counts the connection as decrypted or not.
func (s *connStream) closeTLS(c *storage.Connection) {
	inf := s.tlsc.dec.Info()
	c.SNI = inf.SNI
	c.ALPN = inf.ALPN
	c.TLSVersion = inf.VersionName()
	c.Cipher = inf.CipherName()
	c.Decrypted = inf.Decrypted
	c.Warnings = append(c.Warnings, inf.Warnings...)
	if inf.Decrypted {
		s.pl.tls.decrypted++
	} else {
		s.pl.tls.undecrypted++
	}
}

func (t *tlsState) addTo(m map[string]int64) {
	m["tls_decrypted"] = t.decrypted
	m["tls_undecrypted"] = t.undecrypted
}
