package pcapio

import (
	"encoding/binary"
	"io"
	"time"
)

// Writer writes a little-endian pcap file with nanosecond timestamps. It is
// used by tests, fixture tools and the benchmark generator.
type Writer struct {
	w   io.Writer
	hdr [16]byte
}

// NewWriter writes the file header for linkType and returns the writer.
func NewWriter(w io.Writer, linkType uint32, snapLen uint32) (*Writer, error) {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b23c4d)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snapLen)
	binary.LittleEndian.PutUint32(h[20:], linkType)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &Writer{w: w}, nil
}

// WritePacket writes one record; origLen 0 means len(data).
func (w *Writer) WritePacket(t time.Time, data []byte, origLen int) error {
	if origLen == 0 {
		origLen = len(data)
	}
	binary.LittleEndian.PutUint32(w.hdr[0:], uint32(t.Unix()))
	binary.LittleEndian.PutUint32(w.hdr[4:], uint32(t.Nanosecond()))
	binary.LittleEndian.PutUint32(w.hdr[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(w.hdr[12:], uint32(origLen))
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		return err
	}
	_, err := w.w.Write(data)
	return err
}
