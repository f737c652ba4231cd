package live

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// RotatingWriter keeps the raw packets in pcapng files: FILE, then
// FILE's name with .1, .2, ... before the extension once a file reaches
// MaxBytes; only the newest Keep files are kept, so the disk cannot fill.
// Each interface gets its own interface block (name included), which is
// where -i any keeps the interface of every packet.
type RotatingWriter struct {
	path     string
	maxBytes int64
	keep     int
	linkType layers.LinkType

	f       *os.File
	ng      *pcapgo.NgWriter
	written int64
	seq     int
	ids     map[int]int // interface index → pcapng interface id in this file
	files   []string    // files written, oldest first
	name    func(ifIndex int) string
	// secrets is the TLS key log text seen so far: every new file starts
	// with it in a Decryption Secrets Block, so each file decrypts alone.
	secrets  []byte
	overflow []byte // lines beyond maxSecrets waiting for the current file's start
}

// maxSecrets bounds the key log text repeated at the start of each file;
// beyond it, new lines still go to the current file only.
const maxSecrets = 16 << 20

// NewRotatingWriter creates path (mode 0600: captures hold cookies). A
// maxBytes of 0 never rotates; keep ≤ 0 keeps every file.
func NewRotatingWriter(path string, maxBytes int64, keep int, linkType layers.LinkType, ifName func(int) string) (*RotatingWriter, error) {
	w := &RotatingWriter{path: path, maxBytes: maxBytes, keep: keep, linkType: linkType, name: ifName}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *RotatingWriter) fileName() string {
	if w.seq == 0 {
		return w.path
	}
	ext := filepath.Ext(w.path)
	return fmt.Sprintf("%s.%d%s", strings.TrimSuffix(w.path, ext), w.seq, ext)
}

func (w *RotatingWriter) open() error {
	name := w.fileName()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write packets: %w", err)
	}
	w.f, w.ng, w.written, w.ids = f, nil, 0, map[int]int{}
	w.files = append(w.files, name)
	if w.keep > 0 && len(w.files) > w.keep {
		old := w.files[0]
		w.files = w.files[1:]
		if err := os.Remove(old); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("write packets: remove oldest file: %w", err)
		}
	}
	return nil
}

func (w *RotatingWriter) ngInterface(ifIndex int) pcapgo.NgInterface {
	return pcapgo.NgInterface{Name: w.name(ifIndex), OS: runtime.GOOS, LinkType: w.linkType, TimestampResolution: 9}
}

// start writes the section header and the first interface block.
func (w *RotatingWriter) start(ifIndex int) error {
	ng, err := pcapgo.NewNgWriterInterface(w.f, w.ngInterface(ifIndex), pcapgo.NgWriterOptions{
		SectionInfo: pcapgo.NgSectionInfo{Hardware: runtime.GOARCH, OS: runtime.GOOS, Application: "corscope"}})
	if err != nil {
		return fmt.Errorf("write packets to %s: %w", w.fileName(), err)
	}
	w.ng = ng
	w.ids[ifIndex] = 0
	for _, b := range [][]byte{w.secrets, w.overflow} {
		if len(b) > 0 {
			if err := w.writeSecrets(b); err != nil {
				return err
			}
		}
	}
	w.overflow = nil
	return nil
}

// AddSecrets records new TLS key log lines (NSS format) in a Decryption
// Secrets Block ahead of the packets that follow, as Wireshark expects.
func (w *RotatingWriter) AddSecrets(keylog []byte) error {
	if len(keylog) == 0 {
		return nil
	}
	kept := len(w.secrets)+len(keylog) <= maxSecrets
	if kept {
		w.secrets = append(w.secrets, keylog...)
	}
	if w.ng == nil {
		if !kept {
			w.overflow = append(w.overflow, keylog...)
		}
		return nil // the section starts with the next packet, secrets first
	}
	return w.writeSecrets(keylog)
}

func (w *RotatingWriter) writeSecrets(b []byte) error {
	if err := w.ng.WriteDecryptionSecretsBlock(pcapgo.DSB_SECRETS_TYPE_TLS, b); err != nil {
		return fmt.Errorf("write packets to %s: %w", w.fileName(), err)
	}
	w.written += int64(len(b)) + 32
	return nil
}

// WritePacket appends one packet seen on interface ifIndex; origLen is its
// length on the wire.
func (w *RotatingWriter) WritePacket(t time.Time, data []byte, origLen, ifIndex int) error {
	if w.maxBytes > 0 && w.written > 0 && w.written+int64(len(data))+64 > w.maxBytes {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	id, ok := w.ids[ifIndex]
	if !ok {
		if w.ng == nil {
			if err := w.start(ifIndex); err != nil {
				return err
			}
		} else {
			var err error
			if id, err = w.ng.AddInterface(w.ngInterface(ifIndex)); err != nil {
				return fmt.Errorf("write packets to %s: %w", w.fileName(), err)
			}
			w.ids[ifIndex] = id
		}
		w.written += 128
	}
	if origLen < len(data) {
		origLen = len(data)
	}
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(data), Length: origLen, InterfaceIndex: id}
	if err := w.ng.WritePacket(ci, data); err != nil {
		return fmt.Errorf("write packets to %s: %w", w.fileName(), err)
	}
	w.written += int64(len(data)) + 32
	return nil
}

func (w *RotatingWriter) rotate() error {
	if err := w.closeFile(); err != nil {
		return err
	}
	w.seq++
	return w.open()
}

func (w *RotatingWriter) closeFile() error {
	var err error
	if w.ng == nil {
		// No packet came: still leave a valid (empty) capture.
		err = w.start(-1)
	}
	if err == nil {
		err = w.ng.Flush()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write packets to %s: %w", w.fileName(), err)
	}
	return nil
}

// Flush pushes buffered packets to the file.
func (w *RotatingWriter) Flush() error {
	if w.ng == nil {
		return nil
	}
	return w.ng.Flush()
}

// Files returns the files kept, oldest first.
func (w *RotatingWriter) Files() []string { return append([]string(nil), w.files...) }

// Close flushes and closes the current file.
func (w *RotatingWriter) Close() error { return w.closeFile() }

// keyTail reads the complete lines appended to key log files since the
// last call, for the Decryption Secrets Blocks of the written capture.
type keyTail struct {
	paths []string
	offs  []int64
}

func newKeyTail(paths []string) *keyTail {
	return &keyTail{paths: paths, offs: make([]int64, len(paths))}
}

func (k *keyTail) next() []byte {
	var out []byte
	for i, p := range k.paths {
		f, err := os.Open(p)
		if err != nil {
			continue // not created yet: the browser starts later
		}
		if st, err := f.Stat(); err == nil && st.Size() < k.offs[i] {
			k.offs[i] = 0 // truncated or replaced
		}
		var b []byte
		if _, err := f.Seek(k.offs[i], io.SeekStart); err == nil {
			b, _ = io.ReadAll(io.LimitReader(f, maxSecrets))
		}
		f.Close()
		if end := bytes.LastIndexByte(b, '\n'); end >= 0 {
			out = append(out, b[:end+1]...)
			k.offs[i] += int64(end + 1)
		}
	}
	return out
}
