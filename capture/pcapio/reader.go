// Package pcapio reads pcap and pcapng captures (either byte order, any
// timestamp resolution, optionally gzip-compressed) one packet at a time.
package pcapio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Formats returned by Sniff and Reader.Format.
const (
	FormatPCAP   = "pcap"
	FormatPCAPNG = "pcapng"
)

// MaxRecord caps one packet record (or pcapng block). BIG TCP super-packets
// reach a few hundred KiB; anything beyond this is corruption, not data.
const MaxRecord = 16 << 20

const readBufferSize = 256 << 10 // records up to this size are returned without a copy

// ErrNotCapture reports an input that is no pcap or pcapng at all.
var ErrNotCapture = errors.New("not a pcap or pcapng capture")

// RecordError reports a broken or truncated record after the file header was
// read: every packet before Offset was delivered, so the input was read in part.
type RecordError struct {
	Offset int64  // byte offset of the broken record in the (decompressed) stream
	Reason string // "truncated packet record", "corrupt block length 3", ...
	Err    error  // underlying I/O error, if any
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("%s at byte %d", e.Reason, e.Offset)
}

func (e *RecordError) Unwrap() error { return e.Err }

// IsPartial reports whether err means the capture was read only in part.
func IsPartial(err error) bool {
	var re *RecordError
	return errors.As(err, &re)
}

// Packet is one captured frame. Data points into the reader's buffer and is
// valid only until the next call to Next; copy what must outlive it.
type Packet struct {
	Data      []byte
	Time      time.Time
	OrigLen   int    // length on the wire
	LinkType  uint32 // LINKTYPE_* of the packet's interface
	Interface int    // pcapng interface id; 0 for pcap
	Offset    int64  // byte offset of the record in the (decompressed) stream
}

// Secret is the payload of a pcapng Decryption Secrets Block.
type Secret struct {
	Type uint32 // SecretsTLSKeyLog for an NSS key log
	Data []byte
}

// SecretsTLSKeyLog is the DSB secrets type of an NSS key log ("TLSK").
const SecretsTLSKeyLog = 0x544c534b

// Interface describes one pcapng interface (or the single pcap "interface").
type Interface struct {
	LinkType uint32
	SnapLen  uint32
	// Timestamps are units of 1/tsDiv seconds (tsPow2: units of 2^-tsShift).
	tsDiv    uint64
	tsPow2   bool
	tsShift  uint
	tsOffset int64 // seconds added to every timestamp (if_tsoffset)
}

// Sniff recognises a capture format from the first bytes of an input
// (at least 4 are needed). Gzip-compressed input reports "gzip".
func Sniff(prefix []byte) (format string, ok bool) {
	if len(prefix) < 4 {
		if len(prefix) >= 2 && prefix[0] == 0x1f && prefix[1] == 0x8b {
			return "gzip", true
		}
		return "", false
	}
	if prefix[0] == 0x1f && prefix[1] == 0x8b {
		return "gzip", true
	}
	switch binary.LittleEndian.Uint32(prefix) {
	case 0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34, 0xd4c3b2a1, 0x4d3cb2a1, 0x34cdb2a1:
		return FormatPCAP, true
	case 0x0a0d0d0a:
		return FormatPCAPNG, true
	}
	return "", false
}

// Reader reads packets from a pcap or pcapng stream. It is not safe for
// concurrent use.
type Reader struct {
	br     *bufio.Reader
	closer io.Closer // gzip reader, if any
	format string
	off    int64 // stream offset of the next unread byte
	order  binary.ByteOrder
	big    []byte // reused buffer for records larger than the bufio buffer

	// pcap
	recHdrLen int
	pcapIface Interface

	// pcapng
	ifaces  []Interface
	secrets []Secret
	skipped map[uint32]int64
	hdr     [28]byte
}

// NewReader sniffs r (gunzipping it when needed) and reads the file header.
// An input that is no capture yields an error wrapping ErrNotCapture.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, readBufferSize)
	rd := &Reader{br: br}
	head, err := br.Peek(4)
	if err != nil && len(head) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrNotCapture)
	}
	format, ok := Sniff(head)
	if !ok {
		return nil, ErrNotCapture
	}
	if format == "gzip" {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip header: %v", ErrNotCapture, err)
		}
		zr.Multistream(true)
		rd.closer = zr
		rd.br = bufio.NewReaderSize(zr, readBufferSize)
		head, err = rd.br.Peek(4)
		if err != nil && len(head) < 4 {
			return nil, fmt.Errorf("%w: gzip content too short", ErrNotCapture)
		}
		if format, ok = Sniff(head); !ok || format == "gzip" {
			return nil, fmt.Errorf("%w: gzip content is not a capture", ErrNotCapture)
		}
	}
	rd.format = format
	if format == FormatPCAP {
		err = rd.readPcapHeader()
	} else {
		err = rd.readSectionHeader()
	}
	if err != nil {
		return nil, err
	}
	return rd, nil
}

// Format returns FormatPCAP or FormatPCAPNG.
func (r *Reader) Format() string { return r.format }

// Offset returns the number of (decompressed) bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// Secrets returns the Decryption Secrets Blocks seen so far, in file order.
func (r *Reader) Secrets() []Secret { return r.secrets }

// Interfaces returns the interfaces described so far (one for pcap).
func (r *Reader) Interfaces() []Interface {
	if r.format == FormatPCAP {
		return []Interface{r.pcapIface}
	}
	return r.ifaces
}

// SkippedBlocks returns how many pcapng blocks of each unhandled type were skipped.
func (r *Reader) SkippedBlocks() map[uint32]int64 { return r.skipped }

// Close releases the gzip decoder, if any. It does not close the source.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// Next reads the next packet into p. It returns io.EOF at a clean end and a
// *RecordError when the stream breaks inside a record.
func (r *Reader) Next(p *Packet) error {
	if r.format == FormatPCAP {
		return r.nextPcap(p)
	}
	return r.nextNg(p)
}

// take returns the next n bytes, from the bufio buffer when they fit (no
// copy) or from the reused big buffer. The slice is valid until the next take.
func (r *Reader) take(n int) ([]byte, error) {
	if n <= readBufferSize {
		b, err := r.br.Peek(n)
		if err != nil {
			return nil, err
		}
		_, _ = r.br.Discard(n)
		r.off += int64(n)
		return b, nil
	}
	if cap(r.big) < n {
		r.big = make([]byte, n)
	}
	b := r.big[:n]
	if _, err := io.ReadFull(r.br, b); err != nil {
		return nil, err
	}
	r.off += int64(n)
	return b, nil
}

func truncated(off int64, what string, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &RecordError{Offset: off, Reason: "truncated " + what, Err: err}
}

// ---- pcap ----

func (r *Reader) readPcapHeader() error {
	h, err := r.take(24)
	if err != nil {
		return fmt.Errorf("%w: pcap header shorter than 24 bytes", ErrNotCapture)
	}
	magic := binary.LittleEndian.Uint32(h)
	r.recHdrLen = 16
	div := uint64(1e6)
	switch magic {
	case 0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34:
		r.order = binary.LittleEndian
	default:
		r.order = binary.BigEndian
	}
	switch r.order.Uint32(h) {
	case 0xa1b23c4d:
		div = 1e9
	case 0xa1b2cd34: // Kuznetzov's patched libpcap: 8 extra bytes per record
		r.recHdrLen = 24
	}
	r.pcapIface = Interface{
		SnapLen:  r.order.Uint32(h[16:]),
		LinkType: r.order.Uint32(h[20:]) & 0xffff, // upper bits carry FCS info
		tsDiv:    div,
	}
	return nil
}

func (r *Reader) nextPcap(p *Packet) error {
	start := r.off
	h, err := r.take(r.recHdrLen)
	if err != nil {
		if err == io.EOF {
			if _, perr := r.br.Peek(1); perr == io.EOF {
				return io.EOF
			}
		}
		return truncated(start, "packet record header", err)
	}
	sec := r.order.Uint32(h)
	frac := r.order.Uint32(h[4:])
	caplen := r.order.Uint32(h[8:])
	orig := r.order.Uint32(h[12:])
	// caplen above the snaplen is tolerated (some writers do it); only an
	// absurd length is corruption.
	if caplen > MaxRecord {
		return &RecordError{Offset: start, Reason: fmt.Sprintf("corrupt packet record (caplen %d)", caplen)}
	}
	data, err := r.take(int(caplen))
	if err != nil {
		return truncated(start, "packet record", err)
	}
	nsec := int64(frac)
	if r.pcapIface.tsDiv == 1e6 {
		nsec *= 1000
	}
	*p = Packet{
		Data:     data,
		Time:     time.Unix(int64(sec), nsec),
		OrigLen:  int(orig),
		LinkType: r.pcapIface.LinkType,
		Offset:   start,
	}
	return nil
}

// ---- pcapng ----

const (
	blockSHB = 0x0a0d0d0a
	blockIDB = 0x00000001
	blockPB  = 0x00000002 // obsolete Packet Block
	blockSPB = 0x00000003
	blockEPB = 0x00000006
	blockDSB = 0x0000000a
)

func (r *Reader) readSectionHeader() error {
	start := r.off
	h, err := r.br.Peek(12)
	if err != nil {
		if start == 0 {
			return fmt.Errorf("%w: pcapng section header too short", ErrNotCapture)
		}
		// A later section cut short: what came before was read.
		return truncated(start, "pcapng section header", err)
	}
	switch binary.LittleEndian.Uint32(h[8:]) {
	case 0x1a2b3c4d:
		r.order = binary.LittleEndian
	case 0x4d3c2b1a:
		r.order = binary.BigEndian
	default:
		if start == 0 {
			return fmt.Errorf("%w: pcapng byte-order magic missing", ErrNotCapture)
		}
		return &RecordError{Offset: start, Reason: "corrupt pcapng section header"}
	}
	blen := r.order.Uint32(h[4:])
	if blen < 28 || blen%4 != 0 || blen > MaxRecord {
		if start == 0 {
			return fmt.Errorf("%w: pcapng section header length %d", ErrNotCapture, blen)
		}
		return &RecordError{Offset: start, Reason: fmt.Sprintf("corrupt pcapng section header length %d", blen)}
	}
	if _, err := r.take(int(blen)); err != nil {
		if start == 0 {
			return fmt.Errorf("%w: pcapng section header truncated", ErrNotCapture)
		}
		return truncated(start, "pcapng section header", err)
	}
	r.ifaces = r.ifaces[:0] // interface ids are per section
	return nil
}

func (r *Reader) nextNg(p *Packet) error {
	for {
		start := r.off
		h, err := r.br.Peek(8)
		if err != nil {
			if len(h) == 0 && err == io.EOF {
				return io.EOF
			}
			return truncated(start, "pcapng block header", err)
		}
		btype := r.order.Uint32(h)
		if btype == blockSHB {
			if err := r.readSectionHeader(); err != nil {
				return err
			}
			continue
		}
		blen := r.order.Uint32(h[4:])
		if blen < 12 || blen%4 != 0 || blen > MaxRecord {
			return &RecordError{Offset: start, Reason: fmt.Sprintf("corrupt pcapng block length %d", blen)}
		}
		b, err := r.take(int(blen))
		if err != nil {
			return truncated(start, "pcapng block", err)
		}
		body := b[8 : blen-4]
		switch btype {
		case blockEPB:
			if len(body) < 20 {
				return &RecordError{Offset: start, Reason: "corrupt enhanced packet block"}
			}
			ok, err := r.packet(p, start, r.order.Uint32(body), r.order.Uint32(body[4:]), r.order.Uint32(body[8:]),
				r.order.Uint32(body[12:]), r.order.Uint32(body[16:]), body[20:])
			if ok || err != nil {
				return err
			}
		case blockPB:
			if len(body) < 20 {
				return &RecordError{Offset: start, Reason: "corrupt packet block"}
			}
			ok, err := r.packet(p, start, uint32(r.order.Uint16(body)), r.order.Uint32(body[4:]), r.order.Uint32(body[8:]),
				r.order.Uint32(body[12:]), r.order.Uint32(body[16:]), body[20:])
			if ok || err != nil {
				return err
			}
		case blockSPB:
			if len(body) < 4 || len(r.ifaces) == 0 {
				return &RecordError{Offset: start, Reason: "corrupt simple packet block"}
			}
			orig := r.order.Uint32(body)
			data := body[4:]
			if uint32(len(data)) > orig {
				data = data[:orig]
			}
			if sl := r.ifaces[0].SnapLen; sl != 0 && uint32(len(data)) > sl {
				data = data[:sl]
			}
			*p = Packet{Data: data, OrigLen: int(orig), LinkType: r.ifaces[0].LinkType, Offset: start}
			return nil
		case blockIDB:
			if err := r.readInterface(body, start); err != nil {
				return err
			}
		case blockDSB:
			if len(body) < 8 {
				return &RecordError{Offset: start, Reason: "corrupt decryption secrets block"}
			}
			n := r.order.Uint32(body[4:])
			if uint64(n) > uint64(len(body)-8) {
				return &RecordError{Offset: start, Reason: "corrupt decryption secrets block length"}
			}
			r.secrets = append(r.secrets, Secret{Type: r.order.Uint32(body), Data: append([]byte(nil), body[8:8+n]...)})
		default:
			if r.skipped == nil {
				r.skipped = make(map[uint32]int64)
			}
			r.skipped[btype]++
		}
	}
}

// packet fills p from an (enhanced) packet block body; ok is false when the
// block must be skipped.
func (r *Reader) packet(p *Packet, start int64, ifid, tsHi, tsLo, caplen, orig uint32, rest []byte) (bool, error) {
	if int(ifid) >= len(r.ifaces) {
		return false, &RecordError{Offset: start, Reason: fmt.Sprintf("packet block for undeclared interface %d", ifid)}
	}
	if uint64(caplen) > uint64(len(rest)) {
		return false, &RecordError{Offset: start, Reason: fmt.Sprintf("corrupt packet block (caplen %d)", caplen)}
	}
	ifc := &r.ifaces[ifid]
	*p = Packet{
		Data:      rest[:caplen],
		Time:      ifc.time(uint64(tsHi)<<32 | uint64(tsLo)),
		OrigLen:   int(orig),
		LinkType:  ifc.LinkType,
		Interface: int(ifid),
		Offset:    start,
	}
	return true, nil
}

func (r *Reader) readInterface(body []byte, start int64) error {
	if len(body) < 8 {
		return &RecordError{Offset: start, Reason: "corrupt interface description block"}
	}
	ifc := Interface{
		LinkType: uint32(r.order.Uint16(body)),
		SnapLen:  r.order.Uint32(body[4:]),
		tsDiv:    1e6,
	}
	opts := body[8:]
	for len(opts) >= 4 {
		code := r.order.Uint16(opts)
		n := int(r.order.Uint16(opts[2:]))
		if code == 0 || 4+n > len(opts) {
			break
		}
		v := opts[4 : 4+n]
		switch {
		case code == 9 && n >= 1: // if_tsresol
			res := v[0]
			if res&0x80 != 0 {
				ifc.tsPow2, ifc.tsShift = true, uint(res&0x7f)
				if ifc.tsShift > 63 {
					return &RecordError{Offset: start, Reason: fmt.Sprintf("unsupported if_tsresol %#x", res)}
				}
			} else {
				if res > 19 {
					return &RecordError{Offset: start, Reason: fmt.Sprintf("unsupported if_tsresol %d", res)}
				}
				ifc.tsDiv = 1
				for i := byte(0); i < res; i++ {
					ifc.tsDiv *= 10
				}
			}
		case code == 14 && n >= 8: // if_tsoffset
			ifc.tsOffset = int64(r.order.Uint64(v))
		}
		opts = opts[4+(n+3)&^3:]
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

func (ifc *Interface) time(ts uint64) time.Time {
	var sec, nsec uint64
	if ifc.tsPow2 {
		sec = ts >> ifc.tsShift
		frac := ts & (1<<ifc.tsShift - 1)
		if ifc.tsShift > 0 {
			hi, lo := bits.Mul64(frac, 1e9)
			nsec = hi<<(64-ifc.tsShift) | lo>>ifc.tsShift
		}
	} else {
		sec = ts / ifc.tsDiv
		frac := ts % ifc.tsDiv
		switch {
		case ifc.tsDiv <= 1e9:
			nsec = frac * (1e9 / ifc.tsDiv)
		default:
			nsec = frac / (ifc.tsDiv / 1e9)
		}
	}
	return time.Unix(int64(sec)+ifc.tsOffset, int64(nsec))
}
