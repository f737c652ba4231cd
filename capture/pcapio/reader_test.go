package pcapio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/corscope/corscope/internal/shared"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// pcapFile builds a pcap with the given byte order and resolution.
func pcapFile(order binary.ByteOrder, nano bool, snap uint32, link uint32, pkts [][]byte) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	order.PutUint32(h, magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], snap)
	order.PutUint32(h[20:], link)
	b.Write(h)
	for i, p := range pkts {
		r := make([]byte, 16)
		order.PutUint32(r, 1700000000+uint32(i))
		order.PutUint32(r[4:], 123456)
		order.PutUint32(r[8:], uint32(len(p)))
		order.PutUint32(r[12:], uint32(len(p)+10))
		b.Write(r)
		b.Write(p)
	}
	return b.Bytes()
}

type ngBuilder struct {
	bytes.Buffer
	order binary.ByteOrder
}

func (nb *ngBuilder) block(typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	var h [8]byte
	nb.order.PutUint32(h[:], typ)
	nb.order.PutUint32(h[4:], n)
	nb.Write(h[:])
	nb.Write(body)
	nb.order.PutUint32(h[:], n)
	nb.Write(h[:4])
}

func (nb *ngBuilder) shb() {
	body := make([]byte, 16)
	nb.order.PutUint32(body, 0x1a2b3c4d)
	nb.order.PutUint16(body[4:], 1)
	binary.LittleEndian.PutUint64(body[8:], ^uint64(0))
	nb.block(blockSHB, body)
}

func (nb *ngBuilder) idb(link uint16, tsresol byte) {
	body := make([]byte, 8)
	nb.order.PutUint16(body, link)
	nb.order.PutUint32(body[4:], 65535)
	if tsresol != 0 {
		opt := make([]byte, 8)
		nb.order.PutUint16(opt, 9)
		nb.order.PutUint16(opt[2:], 1)
		opt[4] = tsresol
		body = append(body, opt...)
		body = append(body, 0, 0, 0, 0) // opt_endofopt
	}
	nb.block(blockIDB, body)
}

func (nb *ngBuilder) epb(ifid uint32, ts uint64, data []byte) {
	body := make([]byte, 20)
	nb.order.PutUint32(body, ifid)
	nb.order.PutUint32(body[4:], uint32(ts>>32))
	nb.order.PutUint32(body[8:], uint32(ts))
	nb.order.PutUint32(body[12:], uint32(len(data)))
	nb.order.PutUint32(body[16:], uint32(len(data)))
	nb.block(blockEPB, append(body, data...))
}

func readAll(t *testing.T, data []byte) ([]Packet, *Reader, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	var out []Packet
	for {
		var p Packet
		err := r.Next(&p)
		if err == io.EOF {
			return out, r, nil
		}
		if err != nil {
			return out, r, err
		}
		p.Data = append([]byte(nil), p.Data...)
		out = append(out, p)
	}
}

func TestPcapBothByteOrdersAndResolutions(t *testing.T) {
	pkts := [][]byte{[]byte("hello"), []byte("world!!")}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, nano := range []bool{false, true} {
			got, r, err := readAll(t, pcapFile(order, nano, 65535, 1, pkts))
			if err != nil {
				t.Fatalf("%v nano=%v: %v", order, nano, err)
			}
			if r.Format() != FormatPCAP || len(got) != 2 || string(got[1].Data) != "world!!" || got[1].OrigLen != 17 {
				t.Fatalf("%v nano=%v: got %+v", order, nano, got)
			}
			want := int64(123456000)
			if nano {
				want = 123456
			}
			if ns := int64(got[0].Time.Nanosecond()); ns != want || got[0].Time.Unix() != 1700000000 {
				t.Errorf("%v nano=%v: time %v", order, nano, got[0].Time)
			}
			if got[0].Offset != 24 || got[1].Offset != 24+16+5 {
				t.Errorf("offsets %d %d", got[0].Offset, got[1].Offset)
			}
		}
	}
}

func TestPcapCaplenAboveSnaplenIsTolerated(t *testing.T) {
	big := bytes.Repeat([]byte{'x'}, 3000)
	got, _, err := readAll(t, pcapFile(binary.LittleEndian, false, 1500, 1, [][]byte{big}))
	if err != nil || len(got) != 1 || len(got[0].Data) != 3000 {
		t.Fatalf("err %v, %d packets", err, len(got))
	}
}

func TestTruncatedPcapKeepsEarlierPackets(t *testing.T) {
	full := pcapFile(binary.LittleEndian, false, 65535, 1, [][]byte{[]byte("aaaa"), []byte("bbbbbbbb")})
	cut := full[:len(full)-3]
	got, _, err := readAll(t, cut)
	if len(got) != 1 {
		t.Fatalf("want the first packet kept, got %d", len(got))
	}
	var re *RecordError
	if !errors.As(err, &re) || !IsPartial(err) || re.Offset != 24+16+4 {
		t.Fatalf("want RecordError at 44, got %v", err)
	}
	if err.Error() != "truncated packet record at byte 44" {
		t.Errorf("message %q", err.Error())
	}
	// Cut inside the record header.
	_, _, err = readAll(t, full[:24+16+4+5])
	if !IsPartial(err) {
		t.Fatalf("header cut: %v", err)
	}
}

func TestNotACapture(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("GET / HTTP/1.1\r\n"), []byte(`{"log":{}}`), {0xd4, 0xc3, 0xb2, 0xa1, 1}} {
		_, err := NewReader(bytes.NewReader(in))
		if !errors.Is(err, ErrNotCapture) || IsPartial(err) {
			t.Errorf("%q: want ErrNotCapture, got %v", in, err)
		}
	}
}

func TestGzipAndCorruptGzip(t *testing.T) {
	raw := pcapFile(binary.BigEndian, true, 65535, 101, [][]byte{[]byte("abc")})
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	got, r, err := readAll(t, z.Bytes())
	if err != nil || len(got) != 1 || got[0].LinkType != 101 || r.Format() != FormatPCAP {
		t.Fatalf("gzip: %v %+v", err, got)
	}
	// A gzip stream cut in the middle is a partial read, not garbage.
	big := make([][]byte, 200)
	for i := range big {
		big[i] = bytes.Repeat([]byte{byte(i)}, 500)
	}
	z.Reset()
	zw = gzip.NewWriter(&z)
	zw.Write(pcapFile(binary.LittleEndian, false, 65535, 1, big))
	zw.Close()
	got, _, err = readAll(t, z.Bytes()[:z.Len()/2])
	if !IsPartial(err) || len(got) == 0 {
		t.Fatalf("cut gzip: %d packets, %v", len(got), err)
	}
}

func TestPcapngMixedLinkTypesResolutionsSecrets(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		nb := &ngBuilder{order: order}
		nb.shb()
		nb.idb(1, 0)         // Ethernet, microseconds
		nb.idb(276, 9)       // SLL2, nanoseconds
		nb.idb(101, 0x80|20) // raw, 2^-20 s
		nb.block(0xbad, []byte("unknown block"))
		dsb := make([]byte, 8)
		order.PutUint32(dsb, SecretsTLSKeyLog)
		order.PutUint32(dsb[4:], 5)
		nb.block(blockDSB, append(dsb, "KEYS\n"...))
		nb.epb(0, 1700000000_500000, []byte("eth"))
		nb.epb(1, 1700000000_000000123, []byte("sll2"))
		nb.epb(2, 1700000000<<20|1<<19, []byte("raw"))
		got, r, err := readAll(t, nb.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if r.Format() != FormatPCAPNG || len(got) != 3 {
			t.Fatalf("got %d packets", len(got))
		}
		links := []uint32{got[0].LinkType, got[1].LinkType, got[2].LinkType}
		if links[0] != 1 || links[1] != 276 || links[2] != 101 {
			t.Errorf("link types %v", links)
		}
		if got[0].Time != time.Unix(1700000000, 500000000) || got[1].Time != time.Unix(1700000000, 123) || got[2].Time != time.Unix(1700000000, 500000000) {
			t.Errorf("times %v %v %v", got[0].Time, got[1].Time, got[2].Time)
		}
		if s := r.Secrets(); len(s) != 1 || s[0].Type != SecretsTLSKeyLog || string(s[0].Data) != "KEYS\n" {
			t.Errorf("secrets %+v", s)
		}
		if r.SkippedBlocks()[0xbad] != 1 {
			t.Errorf("skipped %v", r.SkippedBlocks())
		}
		// Truncated in the last block: two packets kept, partial error.
		part, _, err := readAll(t, nb.Bytes()[:nb.Len()-6])
		if len(part) != 2 || !IsPartial(err) {
			t.Errorf("truncated pcapng: %d %v", len(part), err)
		}
	}
}

func TestSniff(t *testing.T) {
	cases := map[string]string{"\xd4\xc3\xb2\xa1": FormatPCAP, "\xa1\xb2\x3c\x4d": FormatPCAP, "\x0a\x0d\x0d\x0a": FormatPCAPNG, "\x1f\x8b\x08\x00": "gzip"}
	for in, want := range cases {
		if got, ok := Sniff([]byte(in)); !ok || got != want {
			t.Errorf("Sniff(%q) = %q %v", in, got, ok)
		}
	}
	if _, ok := Sniff([]byte("HTTP")); ok {
		t.Error("HTTP sniffed as capture")
	}
}

func corpusDir(t testing.TB) string {
	t.Helper()
	return shared.Path(t, "corpus")
}

func TestCorpusFilesReadCompletely(t *testing.T) {
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "pcap", "*"))
	tls, _ := filepath.Glob(filepath.Join(dir, "tls", "*.pcap"))
	for _, f := range append(files, tls...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := readAll(t, data)
		if err != nil || len(got) == 0 {
			t.Errorf("%s: %d packets, %v", filepath.Base(f), len(got), err)
		}
	}
}
