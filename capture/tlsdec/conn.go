// Package tlsdec follows the TLS record layer of one TCP connection, reads its
// hellos (SNI, ALPN, version) and decrypts TLS 1.2 and 1.3 with key log secrets.
package tlsdec

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/corscope/corscope/capture/keylog"
)

// Dir is the direction of a byte stream (same values as capture/http1.Dir).
type Dir int

// Directions.
const (
	ClientToServer Dir = 0
	ServerToClient Dir = 1
)

func (d Dir) String() string {
	if d == ClientToServer {
		return "client→server"
	}
	return "server→client"
}

// Connection warnings when nothing could be decrypted.
const (
	// WarnNoKeys: the handshake was seen, no key log holds its secrets.
	WarnNoKeys = "TLS without keys"
	// WarnNoHandshake: the capture began after the ClientHello, whose
	// random is what key logs are looked up by.
	WarnNoHandshake = "TLS without handshake: the capture began after the ClientHello, so no key can be looked up"
)

// KeyLog is the secret store the decoder looks client randoms up in.
type KeyLog = keylog.Log

// Info is what is known about the connection so far.
type Info struct {
	Version      uint16 // negotiated version (0x0303, 0x0304); 0 before the ServerHello
	CipherSuite  uint16
	SNI          string
	ALPN         string   // protocol the server chose; "" when none or unreadable
	ALPNOffered  []string // protocols the client offered
	ClientRandom [32]byte
	Resumed      bool // session resumption (TLS 1.2 session id/ticket, TLS 1.3 PSK)
	Decrypted    bool // at least one record was decrypted
	Records      [2]int64
	RecordBytes  [2]int64 // TLS record bytes per direction, headers included
	Plaintext    [2]int64 // application data bytes emitted per direction
	Warnings     []string
}

// Record layer limits.
const (
	recordHeaderLen = 5
	maxCiphertext   = 1<<14 + 2048 // RFC 5246 6.2.3
	maxHandshakeMsg = 1 << 18      // larger messages (certificate chains) are skipped, not kept
	maxPending      = 64 << 10     // protected bytes held per direction while keys are awaited
	maxEarlyData    = 256 << 10    // 0-RTT plaintext held until the server accepts or rejects it
	maxWarnings     = 32
	maxResyncTrials = 64      // sequence numbers tried per candidate record after a gap
	maxResyncMisses = 16      // candidate records that fail to decrypt before giving up
	maxTrialBytes   = 8 << 20 // trial-decrypted bytes per direction: hostile gaps cost bounded CPU
)

// Content types.
const (
	typeChangeCipherSpec = 20
	typeAlert            = 21
	typeHandshake        = 22
	typeApplicationData  = 23
	typeHeartbeat        = 24
)

// Handshake message types.
const (
	hsClientHello         = 1
	hsServerHello         = 2
	hsEndOfEarlyData      = 5
	hsEncryptedExtensions = 8
	hsNewSessionTicket    = 4
	hsCertificate         = 11
	hsFinished            = 20
	hsKeyUpdate           = 24
)

const (
	versionTLS12 = 0x0303
	versionTLS13 = 0x0304
)

// Key phases of a TLS 1.3 direction.
const (
	phaseNone = iota
	phaseEarly
	phaseHandshake
	phaseApp
)

var phaseNames = [...]string{"none", "early", "handshake", "application"}

type heldRecord struct {
	rec []byte // nil: a record lost to a gap (it still used a sequence number)
	t   time.Time
	pkt int64
}

// half is the state of one direction.
type half struct {
	dir    Dir
	offset int64 // stream offset of the next byte, gaps included

	buf   []byte // a record split across Feed calls
	bufT  time.Time
	bufPk int64

	hs          []byte // a handshake message split across records
	hsSkip      int    // bytes of an oversized handshake message still to drop
	hsProtected bool   // the handshake bytes being parsed came decrypted

	ccs   bool // TLS 1.2: ChangeCipherSpec seen, records are protected
	phase int  // TLS 1.3 key phase
	st    *cipherState
	alt   *cipherState // next phase's key, tried when the current one fails
	out   []byte       // plaintext buffer

	held      []heldRecord
	heldBytes int
	gaveUp    bool // stopped waiting for keys

	stopped bool // not TLS: the rest of the stream is ignored

	discard     int   // bytes of a record damaged by a gap still to drop
	discardType uint8 // its content type
	resync      bool  // boundary lost: searching for the next record
	rbuf        []byte
	lost        int64 // bytes lost since the last known boundary
	misses      int
	trialBytes  int64
	noSeq       bool // sequence number unknown: no further decryption

	records, recBytes, plain int64
	failed, skippedEarly     int64
	protected                int64
	undecrypted              int64 // protected records dropped without a key
	keyUpdates               int
}

// Conn decodes one TLS connection. It is not safe for concurrent use.
type Conn struct {
	keys *KeyLog
	emit func(dir Dir, plaintext []byte, t time.Time, pkt int64)
	h    [2]half

	haveCH       bool
	clientRandom [32]byte
	serverRandom [32]byte
	chSessionID  []byte
	chTicket     string // digest of the offered TLS 1.2 session ticket
	shSessionID  string
	nstTicket    string // digest of the ticket this connection received
	sni          string
	alpn         string
	alpnOffered  []string
	etmOffered   bool
	earlyOffered bool
	hrr          bool // a HelloRetryRequest was seen

	version    uint16
	suite      uint16
	etm        bool
	resumed    bool
	serverCert bool
	decrypted  bool

	earlyDecided  bool
	earlyAccepted bool
	early         []heldRecord // decrypted 0-RTT data awaiting the server's verdict
	earlyBytes    int

	secrets   keylog.Entry
	found     bool
	master12  []byte // TLS 1.2 master secret, from the key log or the session cache
	looked    bool
	lookupGen uint64

	warnings []string
}

// NewConn returns a decoder that looks secrets up in keys (nil: none) and
// hands decrypted application data to emit, in stream order per direction.
// The plaintext passed to emit is valid only during the call; t and pkt are
// those of the Feed call that held the first byte of the record. emit may
// run during a Feed of the other direction: records held back until a hello
// or key arrived are released then, and accepted 0-RTT data is released when
// the server's EncryptedExtensions is read.
func NewConn(keys *KeyLog, emit func(dir Dir, plaintext []byte, t time.Time, pkt int64)) *Conn {
	c := &Conn{keys: keys, emit: emit}
	c.h[0].dir, c.h[1].dir = ClientToServer, ServerToClient
	return c
}

// LooksLikeTLS reports whether b starts with a TLS handshake record
// (0x16 0x03 0x00..0x04), with a ClientHello or ServerHello when visible.
func LooksLikeTLS(b []byte) bool {
	if len(b) < 3 || b[0] != typeHandshake || b[1] != 3 || b[2] > 4 {
		return false
	}
	if len(b) >= 5 {
		n := int(binary.BigEndian.Uint16(b[3:]))
		if n == 0 || n > maxCiphertext {
			return false
		}
	}
	if len(b) >= 6 && b[5] != hsClientHello && b[5] != hsServerHello {
		return false
	}
	return true
}

// ALPN returns the protocol the server chose ("" if none is known yet): the
// pipeline checks it when the first plaintext arrives to pick a parser.
func (c *Conn) ALPN() string { return c.alpn }

// Info returns a snapshot of what is known about the connection.
func (c *Conn) Info() Info {
	inf := Info{
		Version:      c.version,
		CipherSuite:  c.suite,
		SNI:          c.sni,
		ALPN:         c.alpn,
		ALPNOffered:  append([]string(nil), c.alpnOffered...),
		ClientRandom: c.clientRandom,
		Resumed:      c.resumed,
		Decrypted:    c.decrypted,
	}
	for i := range c.h {
		inf.Records[i] = c.h[i].records
		inf.RecordBytes[i] = c.h[i].recBytes
		inf.Plaintext[i] = c.h[i].plain
	}
	if !c.decrypted && (c.h[0].protected+c.h[1].protected > 0 || c.version != 0) {
		c.lookup()
		switch {
		case c.found || c.master12 != nil:
		case !c.haveCH:
			inf.Warnings = append(inf.Warnings, WarnNoHandshake)
		default:
			inf.Warnings = append(inf.Warnings, WarnNoKeys)
		}
	}
	inf.Warnings = append(inf.Warnings, c.warnings...)
	for i := range c.h {
		if n := c.h[i].undecrypted + int64(len(c.h[i].held)); n > 0 && (c.decrypted || c.found) {
			inf.Warnings = append(inf.Warnings, fmt.Sprintf("%s: %d protected records not decrypted (no key for them)", c.h[i].dir, n))
		}
	}
	if len(c.early) > 0 {
		inf.Warnings = append(inf.Warnings, fmt.Sprintf("0-RTT data (%d bytes) not emitted: the server's acceptance was not seen", c.earlyBytes))
	}
	for i := range c.h {
		if c.h[i].resync {
			inf.Warnings = append(inf.Warnings, fmt.Sprintf("%s: no record boundary found after a gap (%d bytes skipped)", c.h[i].dir, c.h[i].lost+int64(len(c.h[i].rbuf))))
		}
		if n := c.h[i].heldBytes; n > 0 {
			inf.Warnings = append(inf.Warnings, fmt.Sprintf("%s: %d bytes of records still waiting for keys", c.h[i].dir, n))
		}
	}
	return inf
}

func (c *Conn) warn(format string, args ...any) {
	if len(c.warnings) >= maxWarnings {
		return
	}
	w := fmt.Sprintf(format, args...)
	for _, old := range c.warnings {
		if old == w {
			return
		}
	}
	c.warnings = append(c.warnings, w)
}

// recordLen validates a record header and returns the payload length.
func recordLen(h []byte) (int, bool) {
	if h[0] < typeChangeCipherSpec || h[0] > typeHeartbeat || h[1] != 3 || h[2] > 4 {
		return 0, false
	}
	n := int(binary.BigEndian.Uint16(h[3:]))
	return n, n <= maxCiphertext
}

// Feed hands the decoder the next bytes of one direction, in stream order.
// data is not retained.
func (c *Conn) Feed(dir Dir, data []byte, t time.Time, pkt int64) {
	if dir != ClientToServer && dir != ServerToClient {
		return
	}
	h := &c.h[dir]
	if len(h.held) > 0 && !c.h[dir].gaveUp {
		c.drain(h)
	}
	c.feed(h, data, t, pkt)
}

func (c *Conn) feed(h *half, data []byte, t time.Time, pkt int64) {
	for len(data) > 0 && !h.stopped {
		if h.discard > 0 {
			n := min(h.discard, len(data))
			h.discard -= n
			h.offset += int64(n)
			data = data[n:]
			if h.discard == 0 {
				c.damagedRecordDone(h)
			}
			continue
		}
		if h.resync {
			data = c.resyncScan(h, data, t, pkt)
			continue
		}
		if len(h.buf) == 0 {
			// Fast path: whole records straight from data, no copy.
			if len(data) >= recordHeaderLen {
				n, ok := recordLen(data)
				if !ok {
					c.notTLS(h)
					return
				}
				if len(data) >= recordHeaderLen+n {
					c.record(h, data[:recordHeaderLen+n], t, pkt)
					h.offset += int64(recordHeaderLen + n)
					data = data[recordHeaderLen+n:]
					continue
				}
			}
			h.buf = append(h.buf, data...)
			h.bufT, h.bufPk = t, pkt
			h.offset += int64(len(data))
			if len(h.buf) >= recordHeaderLen {
				if _, ok := recordLen(h.buf); !ok {
					c.notTLS(h)
				}
			}
			return
		}
		need := recordHeaderLen - len(h.buf)
		if need <= 0 {
			n, _ := recordLen(h.buf)
			need = recordHeaderLen + n - len(h.buf)
		}
		take := min(need, len(data))
		h.buf = append(h.buf, data[:take]...)
		h.offset += int64(take)
		data = data[take:]
		if len(h.buf) < recordHeaderLen {
			continue
		}
		n, ok := recordLen(h.buf)
		if !ok {
			c.notTLS(h)
			return
		}
		if len(h.buf) == recordHeaderLen+n {
			c.record(h, h.buf, h.bufT, h.bufPk)
			h.buf = h.buf[:0]
		}
	}
}

func (c *Conn) notTLS(h *half) {
	h.stopped = true
	c.warn("%s stream is not TLS at offset %d; rest ignored", h.dir, h.offset-int64(len(h.buf)))
	h.buf = nil
}

// isProtected says whether a record of this type is ciphertext in h's state.
func (c *Conn) isProtected(h *half, typ uint8) bool {
	switch {
	case c.version == versionTLS13 || (c.version == 0 && h.dir == ClientToServer):
		// TLS 1.3 ciphertext always says application_data; before the
		// ServerHello that can only be 0-RTT data.
		return typ == typeApplicationData
	case c.version == 0:
		return typ == typeApplicationData
	default:
		return h.ccs
	}
}

// record handles one complete record (header included).
func (c *Conn) record(h *half, rec []byte, t time.Time, pkt int64) {
	h.records++
	h.recBytes += int64(len(rec))
	typ := rec[0]
	if c.isProtected(h, typ) {
		h.protected++
		c.protectedRecord(h, rec, t, pkt)
		return
	}
	payload := rec[recordHeaderLen:]
	switch typ {
	case typeChangeCipherSpec:
		if c.version == versionTLS13 || c.hrr || (c.version == 0 && h.dir == ClientToServer) {
			// Middlebox-compatibility noise; a client sends it before the
			// ServerHello only in TLS 1.3 (with 0-RTT data).
			return
		}
		c.changeCipherSpec(h)
	case typeHandshake:
		h.hsProtected = false
		c.handshake(h, payload, t, pkt)
	case typeAlert:
		c.alert(h, payload)
	case typeApplicationData:
		// Only reachable in TLS 1.2 before ChangeCipherSpec: not valid TLS.
		c.warn("%s: application data before ChangeCipherSpec", h.dir)
	}
}

func (c *Conn) alert(h *half, p []byte) {
	if len(p) >= 2 && p[0] == 2 {
		c.warn("%s: fatal alert %d", h.dir, p[1])
	}
}

// changeCipherSpec switches a TLS 1.2 direction to protected records.
func (c *Conn) changeCipherSpec(h *half) {
	if h.ccs {
		// Renegotiation: the new keys come from the new hellos.
		h.st, h.alt = nil, nil
	}
	h.ccs = true
	if h.dir == ServerToClient && c.version != 0 && !c.serverCert {
		c.resumed = true // abbreviated handshake: no certificate before CCS
	}
	switch {
	case c.version == 0:
		c.warn("ChangeCipherSpec before a ServerHello: handshake not captured, cannot decrypt")
	case c.version < versionTLS12:
		c.warn("TLS version %#04x: decryption supports TLS 1.2 and 1.3 only", c.version)
	}
}

func (c *Conn) lookup() {
	if c.keys == nil || !c.haveCH {
		return
	}
	if g := c.keys.Generation(); !c.looked || g != c.lookupGen {
		c.looked, c.lookupGen = true, g
		if e, ok := c.keys.Lookup(c.clientRandom); ok {
			c.secrets, c.found = e, true
		}
	}
}

// rememberSession lets later resumptions of this TLS 1.2 session find its
// master secret.
func (c *Conn) rememberSession() {
	if c.master12 == nil || c.keys == nil {
		return
	}
	if c.shSessionID != "" {
		c.keys.RememberSession(c.shSessionID, c.master12)
	}
	if c.nstTicket != "" {
		c.keys.RememberSession(c.nstTicket, c.master12)
	}
}

func ticketKey(ticket []byte) string {
	d := sha256.Sum256(ticket)
	return "ticket:" + string(d[:])
}

// key13 builds the TLS 1.3 key of h for a phase, nil if the secret is not logged.
func (c *Conn) key13(h *half, phase int) *cipherState {
	c.lookup()
	var s *keylog.Secret
	var label string
	switch {
	case phase == phaseEarly && h.dir == ClientToServer:
		s, label = &c.secrets.ClientEarly, "CLIENT_EARLY_TRAFFIC_SECRET"
	case phase == phaseHandshake && h.dir == ClientToServer:
		s, label = &c.secrets.ClientHandshake, "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
	case phase == phaseHandshake:
		s, label = &c.secrets.ServerHandshake, "SERVER_HANDSHAKE_TRAFFIC_SECRET"
	case phase == phaseApp && h.dir == ClientToServer:
		s, label = &c.secrets.ClientTraffic, "CLIENT_TRAFFIC_SECRET_0"
	case phase == phaseApp:
		s, label = &c.secrets.ServerTraffic, "SERVER_TRAFFIC_SECRET_0"
	default:
		return nil
	}
	sec := s.Bytes()
	if sec == nil {
		if c.found && phase != phaseEarly {
			c.warn("key log lacks %s for this connection", label)
		}
		return nil
	}
	st, err := newState13(c.suite, sec)
	if err != nil {
		c.warn("cannot use %s: cipher suite %#04x: %v", label, c.suite, err)
		return nil
	}
	return st
}

// key12 builds the TLS 1.2 key of h from the master secret.
func (c *Conn) key12(h *half) *cipherState {
	c.lookup()
	master := c.secrets.Master.Bytes()
	if master == nil && c.resumed {
		// Some clients (Go) log nothing for a resumed session: use the
		// secret of the session it resumes, if that one was decrypted.
		if m, ok := c.keys.Session(c.chTicket); ok && c.chTicket != "" {
			master = m
		} else if m, ok := c.keys.Session(c.shSessionID); ok && c.shSessionID != "" {
			master = m
		}
	}
	if master == nil {
		if c.found {
			c.warn("key log lacks CLIENT_RANDOM for this connection")
		}
		return nil
	}
	c.master12 = master
	c.rememberSession()
	cl, sv, err := newStates12(c.suite, master, c.clientRandom, c.serverRandom, c.etm)
	if err != nil {
		c.warn("cannot decrypt: cipher suite %#04x: %v", c.suite, err)
		return nil
	}
	if h.dir == ClientToServer {
		return cl
	}
	return sv
}

// ready reports whether h can try to decrypt its next protected record.
func (c *Conn) ready(h *half) bool {
	if h.noSeq {
		return false
	}
	if h.st != nil {
		return true
	}
	switch {
	case c.version == versionTLS13:
		if h.phase == phaseNone {
			return false
		}
		h.st = c.key13(h, h.phase)
		return h.st != nil || c.altKey(h) != nil
	case c.version == versionTLS12 && h.ccs:
		h.st = c.key12(h)
		return h.st != nil
	}
	return false
}

// altKey returns (building once) the key of h's next phase: after a lost
// Finished, EndOfEarlyData or KeyUpdate, or for rejected 0-RTT data.
func (c *Conn) altKey(h *half) *cipherState {
	if h.alt != nil {
		return h.alt
	}
	switch h.phase {
	case phaseEarly:
		h.alt = c.key13(h, phaseHandshake)
	case phaseHandshake:
		h.alt = c.key13(h, phaseApp)
	case phaseApp:
		if h.st != nil {
			h.alt, _ = h.st.nextGeneration13(c.suite)
		}
	}
	return h.alt
}

// mayWait says whether a protected record that cannot be decrypted yet is
// worth holding: the ServerHello has not been seen, or the key log grows.
func (c *Conn) mayWait(h *half, n int) bool {
	if h.gaveUp || h.noSeq {
		return false
	}
	switch {
	case c.version == 0 && !c.haveCH:
		// Neither hello seen: the capture started mid-connection.
		c.warn("TLS handshake not captured: cannot decrypt")
		return false
	case c.version == 0 || !c.haveCH:
		// A hello is still missing (the other direction lags): wait for it.
	case c.keys == nil || !c.keys.Growing():
		return false
	}
	if h.heldBytes+n > maxPending {
		h.gaveUp = true
		c.warn("%s: more than %d bytes waiting for keys; direction not decrypted", h.dir, maxPending)
		h.held, h.heldBytes = nil, 0
		return false
	}
	return true
}

func (c *Conn) protectedRecord(h *half, rec []byte, t time.Time, pkt int64) {
	if len(h.held) > 0 || !c.ready(h) {
		if c.mayWait(h, len(rec)) {
			h.held = append(h.held, heldRecord{rec: append([]byte(nil), rec...), t: t, pkt: pkt})
			h.heldBytes += len(rec)
		} else {
			h.undecrypted++
		}
		return
	}
	c.decrypt(h, rec, t, pkt)
}

// drain decrypts held records once their keys are known.
func (c *Conn) drain(h *half) {
	for len(h.held) > 0 && c.ready(h) {
		r := h.held[0]
		h.held[0] = heldRecord{}
		h.held = h.held[1:]
		if r.rec == nil {
			c.skipSeq(h)
			continue
		}
		h.heldBytes -= len(r.rec)
		c.decrypt(h, r.rec, r.t, r.pkt)
	}
	if len(h.held) == 0 {
		h.held = nil
	} else if c.version != 0 && c.haveCH && (c.keys == nil || !c.keys.Growing()) {
		// Nothing more will come: these records stay encrypted.
		h.undecrypted += int64(len(h.held))
		h.held, h.heldBytes = nil, 0
	}
}

// skipSeq accounts for a protected record lost to a gap.
func (c *Conn) skipSeq(h *half) {
	if h.st != nil {
		h.st.seq++
	}
}

func (c *Conn) decrypt(h *half, rec []byte, t time.Time, pkt int64) {
	h.scratch(len(rec))
	var plain []byte
	var typ uint8
	err := errAuth
	if h.st != nil {
		plain, typ, err = h.st.open(h.out, rec)
	}
	if err != nil && c.version == versionTLS13 {
		plain, typ, err = c.tryNextPhase(h, rec)
	}
	if err != nil {
		if h.phase == phaseEarly {
			h.skippedEarly++
			return
		}
		h.failed++
		if h.failed == 1 {
			c.warn("%s: record at offset %d failed to decrypt (wrong keys or corrupted stream)", h.dir, h.offset)
		}
		return
	}
	c.decrypted = true
	c.plaintext(h, typ, plain, t, pkt)
}

// tryNextPhase decrypts with the next phase's key when the current one
// fails; success means the switch happened in a record we did not read.
func (c *Conn) tryNextPhase(h *half, rec []byte) ([]byte, uint8, error) {
	alt := c.altKey(h)
	if alt == nil {
		return nil, 0, errAuth
	}
	plain, typ, err := alt.open(h.out, rec)
	if err != nil {
		return nil, 0, err
	}
	switch h.phase {
	case phaseEarly:
		if c.earlyAccepted && h.skippedEarly > 0 {
			c.warn("0-RTT data accepted by the server but %d records not decrypted (no CLIENT_EARLY_TRAFFIC_SECRET)", h.skippedEarly)
		}
		c.rejectEarly("client moved to handshake keys without EndOfEarlyData")
	case phaseHandshake:
		c.warn("%s: application keys used before a Finished was read", h.dir)
	case phaseApp:
		c.warn("%s: KeyUpdate not seen; next key generation used", h.dir)
	}
	if h.phase < phaseApp {
		h.phase++
	}
	h.st, h.alt = alt, nil
	return plain, typ, nil
}

func (c *Conn) plaintext(h *half, typ uint8, plain []byte, t time.Time, pkt int64) {
	switch typ {
	case typeApplicationData:
		if len(plain) == 0 {
			return
		}
		if h.dir == ClientToServer && h.phase == phaseEarly {
			c.earlyData(plain, t, pkt)
			return
		}
		h.plain += int64(len(plain))
		if c.emit != nil {
			c.emit(h.dir, plain, t, pkt)
		}
	case typeHandshake:
		h.hsProtected = true
		c.handshake(h, plain, t, pkt)
	case typeAlert:
		c.alert(h, plain)
	case typeChangeCipherSpec:
		if c.version != versionTLS13 {
			c.changeCipherSpec(h) // TLS 1.2 renegotiation: keys of the new hellos
		}
	}
}

func (c *Conn) earlyData(plain []byte, t time.Time, pkt int64) {
	h := &c.h[ClientToServer]
	if c.earlyDecided {
		// Accepted: emit; rejected data cannot reach here (other key).
		h.plain += int64(len(plain))
		if c.emit != nil {
			c.emit(ClientToServer, plain, t, pkt)
		}
		return
	}
	if c.earlyBytes+len(plain) > maxEarlyData {
		c.warn("0-RTT data beyond %d bytes dropped", maxEarlyData)
		return
	}
	c.early = append(c.early, heldRecord{rec: append([]byte(nil), plain...), t: t, pkt: pkt})
	c.earlyBytes += len(plain)
}

func (c *Conn) acceptEarly() {
	c.earlyDecided, c.earlyAccepted = true, true
	h := &c.h[ClientToServer]
	for _, e := range c.early {
		h.plain += int64(len(e.rec))
		if c.emit != nil {
			c.emit(ClientToServer, e.rec, e.t, e.pkt)
		}
	}
	c.early, c.earlyBytes = nil, 0
}

func (c *Conn) rejectEarly(why string) {
	if c.earlyDecided {
		return
	}
	c.earlyDecided = true
	n := c.earlyBytes + int(c.h[ClientToServer].skippedEarly)
	if n > 0 || c.earlyOffered {
		c.warn("0-RTT data rejected (%s): %d bytes and %d undecryptable records skipped", why, c.earlyBytes, c.h[ClientToServer].skippedEarly)
	}
	c.early, c.earlyBytes = nil, 0
}

// handshake reassembles handshake messages across records.
func (c *Conn) handshake(h *half, b []byte, t time.Time, pkt int64) {
	for len(b) > 0 {
		if h.hsSkip > 0 {
			n := min(h.hsSkip, len(b))
			h.hsSkip -= n
			b = b[n:]
			continue
		}
		if len(h.hs) == 0 && len(b) >= 4 {
			n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
			if len(b) >= 4+n {
				c.handshakeMessage(h, b[0], b[4:4+n], t, pkt)
				b = b[4+n:]
				continue
			}
		}
		if len(h.hs) < 4 {
			take := min(4-len(h.hs), len(b))
			h.hs = append(h.hs, b[:take]...)
			b = b[take:]
			if len(h.hs) < 4 {
				return
			}
		}
		n := int(h.hs[1])<<16 | int(h.hs[2])<<8 | int(h.hs[3])
		if n > maxHandshakeMsg {
			if typ := h.hs[0]; typ != hsCertificate {
				c.warn("%s: handshake message type %d of %d bytes skipped", h.dir, typ, n)
			} else if h.dir == ServerToClient {
				c.serverCert = true
			}
			h.hsSkip = n
			h.hs = h.hs[:0]
			continue
		}
		take := min(4+n-len(h.hs), len(b))
		h.hs = append(h.hs, b[:take]...)
		b = b[take:]
		if len(h.hs) == 4+n {
			c.handshakeMessage(h, h.hs[0], h.hs[4:], t, pkt)
			h.hs = h.hs[:0]
		}
	}
}

func (c *Conn) handshakeMessage(h *half, typ uint8, body []byte, t time.Time, pkt int64) {
	switch {
	case typ == hsClientHello && h.dir == ClientToServer:
		c.clientHello(body, h.hsProtected)
	case typ == hsServerHello && h.dir == ServerToClient:
		c.serverHello(body, h.hsProtected)
	case typ == hsEncryptedExtensions && h.dir == ServerToClient && c.version == versionTLS13:
		alpn, early, ok := parseEncryptedExtensions(body)
		if !ok {
			c.warn("malformed EncryptedExtensions")
			return
		}
		if alpn != "" {
			c.alpn = alpn
		}
		if c.earlyOffered {
			if early {
				c.acceptEarly()
			} else {
				c.rejectEarly("server did not accept it")
			}
		}
	case typ == hsCertificate && h.dir == ServerToClient:
		c.serverCert = true
	case typ == hsNewSessionTicket && h.dir == ServerToClient && c.version == versionTLS12:
		r := reader{b: body}
		r.bytes(4) // lifetime hint
		if tk := r.vec16(); !r.bad && len(tk) > 0 {
			c.nstTicket = ticketKey(tk)
			c.rememberSession()
		}
	case typ == hsEndOfEarlyData && h.dir == ClientToServer && c.version == versionTLS13:
		c.enterPhase(h, phaseHandshake)
	case typ == hsFinished && c.version == versionTLS13 && h.phase == phaseHandshake:
		c.enterPhase(h, phaseApp)
	case typ == hsKeyUpdate && c.version == versionTLS13 && h.phase == phaseApp:
		var next *cipherState
		if h.st != nil {
			next, _ = h.st.nextGeneration13(c.suite)
		}
		h.st, h.alt = next, nil
		h.keyUpdates++
		if next == nil {
			h.noSeq = true
		}
	}
}

func (c *Conn) enterPhase(h *half, phase int) {
	h.phase = phase
	h.st, h.alt = c.key13(h, phase), nil
}

func (c *Conn) clientHello(body []byte, protected bool) {
	ch, ok := parseClientHello(body)
	if !ok {
		c.warn("malformed ClientHello")
		return
	}
	if c.haveCH && !protected && ch.random != c.clientRandom {
		// Renegotiation hellos are encrypted; a cleartext one with another
		// random is garbage (a message cut by a gap), not new keys.
		c.warn("unexpected cleartext ClientHello ignored")
		return
	}
	switch {
	case !c.haveCH:
		c.haveCH = true
		c.clientRandom = ch.random
		c.chSessionID = append([]byte(nil), ch.sessionID...)
		c.sni = ch.sni
		c.alpnOffered = ch.alpn
		c.etmOffered = ch.etm
		c.earlyOffered = ch.earlyData
		if len(ch.ticket) > 0 {
			c.chTicket = ticketKey(ch.ticket)
		}
		if c.version != 0 {
			c.drain(&c.h[ServerToClient]) // the ServerHello came first
		}
	case ch.random != c.clientRandom:
		// TLS 1.2 renegotiation: later keys come from the new randoms.
		c.clientRandom = ch.random
		c.secrets, c.found, c.looked = keylog.Entry{}, false, false
		c.etmOffered = ch.etm
	default:
		// Second ClientHello after a HelloRetryRequest: no 0-RTT any more.
		c.earlyOffered = false
	}
}

func (c *Conn) serverHello(body []byte, protected bool) {
	sh, ok := parseServerHello(body)
	if !ok {
		c.warn("malformed ServerHello")
		return
	}
	if c.version != 0 && !c.hrr && !protected {
		c.warn("unexpected cleartext ServerHello ignored")
		return
	}
	c.suite = sh.suite
	if sh.random == helloRetryRandom {
		c.hrr = true
		c.version = sh.version
		if c.earlyOffered {
			c.rejectEarly("HelloRetryRequest")
			c.earlyOffered = false
		}
		return
	}
	if c.version != 0 && c.version != sh.version {
		c.warn("ServerHello changed the version from %#04x to %#04x", c.version, sh.version)
	}
	c.version = sh.version
	c.serverRandom = sh.random
	if _, known := suites[c.suite]; !known {
		c.warn("cipher suite %#04x: decryption not supported", c.suite)
	}
	if c.version == versionTLS13 {
		c.resumed = sh.psk
		c.enterPhase(&c.h[ServerToClient], phaseHandshake)
		cl := &c.h[ClientToServer]
		cl.st, cl.alt = nil, nil
		if c.earlyOffered {
			cl.phase = phaseEarly
		} else {
			cl.phase = phaseHandshake
		}
	} else {
		if sh.alpn != "" {
			c.alpn = sh.alpn
		}
		c.etm = sh.etm && c.etmOffered
		if len(sh.sessionID) > 0 {
			c.shSessionID = "id:" + string(sh.sessionID)
			if bytes.Equal(sh.sessionID, c.chSessionID) {
				c.resumed = true
			}
		}
		if c.earlyOffered {
			c.earlyOffered = false
		}
	}
	c.drain(&c.h[ClientToServer])
}

// Gap tells the decoder that lost bytes of dir's stream are missing before
// the next Feed. Inside a record of known length the stream stays aligned
// and only that record is lost; otherwise the decoder searches for the next
// record and, for AEAD ciphers, recovers the sequence number by trial
// decryption. When that fails the direction is not decrypted further.
func (c *Conn) Gap(dir Dir, lost int) {
	if dir != ClientToServer && dir != ServerToClient || lost <= 0 {
		return
	}
	h := &c.h[dir]
	if h.stopped {
		return
	}
	start := h.offset
	h.offset += int64(lost)
	h.hs, h.hsSkip = h.hs[:0], 0 // a message spanning the gap is lost
	if h.resync {
		h.lost += int64(lost) + int64(len(h.rbuf))
		h.rbuf = h.rbuf[:0]
		return
	}
	if h.discard > 0 {
		if lost <= h.discard {
			h.discard -= lost
			if h.discard == 0 {
				c.damagedRecordDone(h)
			}
			return
		}
		lost -= h.discard
		h.discard = 0
		c.damagedRecordDone(h)
	} else if len(h.buf) >= recordHeaderLen {
		n, _ := recordLen(h.buf)
		if remaining := recordHeaderLen + n - len(h.buf); lost <= remaining {
			h.discardType = h.buf[0]
			h.records++
			h.recBytes += int64(recordHeaderLen + n)
			h.buf = h.buf[:0]
			h.discard = remaining - lost
			if h.discard == 0 {
				c.damagedRecordDone(h)
			}
			return
		} else {
			lost -= remaining
			h.discardType = h.buf[0]
			h.records++
			h.buf = h.buf[:0]
			c.damagedRecordDone(h)
		}
	}
	h.lost = int64(lost) + int64(len(h.buf))
	h.buf = h.buf[:0]
	h.resync = true
	h.misses = 0
	c.warn("%s: gap of %d bytes at offset %d crosses record boundaries; searching for the next record", dir, lost, start)
}

// damagedRecordDone accounts for a record partly lost to a gap.
func (c *Conn) damagedRecordDone(h *half) {
	typ := h.discardType
	if !c.isProtected(h, typ) {
		c.warn("%s: a cleartext record was lost to a gap", h.dir)
		return
	}
	h.protected++
	c.warn("%s: a protected record was lost to a gap; decryption continues with the next", h.dir)
	if len(h.held) > 0 || !c.ready(h) {
		if c.mayWait(h, 0) {
			h.held = append(h.held, heldRecord{})
		}
		return
	}
	c.skipSeq(h)
}

// plausible reports whether b starts with a record header that may follow a
// gap: a known type, version 3.x and a non-empty length within limits.
func plausible(b []byte) (int, bool) {
	n, ok := recordLen(b)
	return n, ok && n > 0
}

// resyncScan looks for the first record boundary after a gap of unknown
// extent. It returns the data left to parse normally (nil while searching).
func (c *Conn) resyncScan(h *half, data []byte, t time.Time, pkt int64) []byte {
	h.rbuf = append(h.rbuf, data...)
	h.offset += int64(len(data))
	base := h.offset - int64(len(h.rbuf)) // stream offset of rbuf[0]
	i := 0
	for ; i+recordHeaderLen <= len(h.rbuf); i++ {
		n, ok := plausible(h.rbuf[i:])
		if !ok {
			continue
		}
		end := i + recordHeaderLen + n
		protected := c.isProtected(h, h.rbuf[i])
		decryptable := protected && c.ready(h) && h.st != nil && len(h.held) == 0
		if decryptable {
			if end > len(h.rbuf) {
				break // wait for the whole candidate
			}
			if seq, ok := c.findSeq(h, h.rbuf[i:end], h.lost+int64(i)); ok {
				c.warn("%s: resynchronised at offset %d after losing %d bytes (%d records)", h.dir, base+int64(i), h.lost+int64(i), seq-h.st.seq)
				h.st.seq = seq
				return c.resumeAfterResync(h, i, t, pkt)
			}
			h.misses++
			if h.misses >= maxResyncMisses || h.trialBytes > maxTrialBytes {
				h.noSeq = true
				h.st = nil
				c.warn("%s: sequence number lost in a gap; direction not decrypted further", h.dir)
			}
			continue
		}
		// Without a key the only check is that the next header follows.
		if end+recordHeaderLen > len(h.rbuf) {
			break
		}
		if _, ok := plausible(h.rbuf[end:]); !ok {
			continue
		}
		if protected && c.found && !h.noSeq {
			h.noSeq = true
			h.st = nil
			c.warn("%s: sequence number lost in a gap; direction not decrypted further", h.dir)
		}
		c.warn("%s: resynchronised at offset %d after losing %d bytes", h.dir, base+int64(i), h.lost+int64(i))
		return c.resumeAfterResync(h, i, t, pkt)
	}
	// Keep only the undecided tail; the search continues with the next Feed.
	h.lost += int64(i)
	h.rbuf = append(h.rbuf[:0], h.rbuf[i:]...)
	if len(h.rbuf) > 2*(recordHeaderLen+maxCiphertext) {
		h.lost += int64(len(h.rbuf))
		h.rbuf = h.rbuf[:0]
	}
	return nil
}

func (c *Conn) resumeAfterResync(h *half, at int, t time.Time, pkt int64) []byte {
	h.resync = false
	h.lost = 0
	rest := h.rbuf[at:]
	h.rbuf = nil
	h.offset -= int64(len(rest)) // feed counts these bytes again
	return rest
}

// findSeq finds the sequence number that authenticates rec, the first record
// after lost bytes: the explicit nonce first (TLS 1.2 GCM senders use the
// sequence number), then the counts of lost records the average record size
// makes likeliest.
func (c *Conn) findSeq(h *half, rec []byte, lost int64) (uint64, bool) {
	st := h.st
	orig := st.seq
	try := func(seq uint64) bool {
		if h.trialBytes += int64(len(rec)); h.trialBytes > maxTrialBytes {
			return false
		}
		st.seq = seq
		if _, _, err := st.open(h.scratch(len(rec)), rec); err == nil {
			return true
		}
		return false
	}
	defer func() { st.seq = orig }()
	if st.kind == kindGCM12 && len(rec) >= recordHeaderLen+8 {
		if s := binary.BigEndian.Uint64(rec[recordHeaderLen:]); s >= orig && s-orig <= uint64(lost) && try(s) {
			return s, true
		}
	}
	maxLost := uint64(lost/22 + 1)
	// Bulk transfers lose full-size records: try counts just above the
	// smallest possible first.
	least := uint64(lost / (recordHeaderLen + maxCiphertext))
	for n := least; n < least+maxResyncTrials/4 && n <= maxLost; n++ {
		if try(orig + n) {
			return orig + n, true
		}
	}
	avg := int64(recordHeaderLen + 1<<14)
	if h.records > 0 {
		avg = max(h.recBytes/h.records, 22)
	}
	est := uint64(lost / avg)
	for k := 0; k < maxResyncTrials*3/4; k++ {
		// est, est+1, est-1, est+2, ...
		d := uint64((k + 1) / 2)
		n := est + d
		if k%2 == 0 {
			if d > est {
				continue
			}
			n = est - d
		}
		if n > maxLost {
			continue
		}
		if try(orig + n) {
			return orig + n, true
		}
	}
	return 0, false
}

// scratch returns the plaintext buffer, grown to hold a record of n bytes:
// sized by the records seen, since most connections never send a full one.
func (h *half) scratch(n int) []byte {
	if cap(h.out) < n {
		h.out = make([]byte, min(max(n, 2*cap(h.out), 1024), recordHeaderLen+maxCiphertext))
	}
	return h.out
}
