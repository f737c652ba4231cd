package live

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/corscope/corscope/capture"
	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/pcapio"
	"github.com/corscope/corscope/storage"
)

func TestRotatingWriterRotatesAndKeepsTheNewest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cap.pcapng")
	names := func(i int) string { return fmt.Sprintf("if%d", i) }
	w, err := NewRotatingWriter(path, 4096, 2, layers.LinkTypeRaw, names)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("CLIENT_RANDOM " + strings.Repeat("ab", 32) + " " + strings.Repeat("cd", 48) + "\n")
	if err := w.AddSecrets(secret); err != nil {
		t.Fatal(err)
	}
	cli, srv := netip.MustParseAddrPort("10.0.0.1:5000"), netip.MustParseAddrPort("10.0.0.2:80")
	payload := make([]byte, 300)
	const total = 60
	for i := range total {
		p := packet.AppendIPTCP(nil, cli, srv, uint32(1+i*300), 1, packet.FlagACK, payload)
		if err := w.WritePacket(time.Unix(1700000000, int64(i)), p, 0, 1+i%2); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := w.Files()
	if len(files) != 2 {
		t.Fatalf("kept %v, want the newest 2", files)
	}
	all, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(all) != 2 {
		t.Fatalf("files on disk: %v (older ones must be removed)", all)
	}
	if filepath.Base(files[1]) == "cap.pcapng" || filepath.Ext(files[1]) != ".pcapng" {
		t.Fatalf("rotated name %s", files[1])
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
		if fi.Size() > 4096+512 {
			t.Errorf("%s is %d bytes, rotation at 4096", f, fi.Size())
		}
		fh, _ := os.Open(f)
		rd, err := pcapio.NewReader(fh)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var pkt pcapio.Packet
		n := 0
		for rd.Next(&pkt) == nil {
			n++
		}
		fh.Close()
		if n == 0 {
			t.Errorf("%s holds no packet", f)
		}
		if sec := rd.Secrets(); len(sec) != 1 || string(sec[0].Data) != string(secret) {
			t.Errorf("%s: secrets %v, want the key log at the start of every file", f, sec)
		}
		if ifs := rd.Interfaces(); len(ifs) != 2 {
			t.Errorf("%s: %d interface blocks, want one per interface seen (2)", f, len(ifs))
		}
	}
}

func TestRotatingWriterLeavesAValidEmptyCapture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.pcapng")
	w, err := NewRotatingWriter(path, 0, 0, layers.LinkTypeRaw, func(int) string { return "lo" })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := capture.ReadFile(context.Background(), path, capture.Options{}, &nopSink{})
	if err != nil || st.Packets != 0 || st.Format != "pcapng" {
		t.Fatalf("empty capture: %+v, %v", st, err)
	}
}

type nopSink struct{}

func (nopSink) Exchange(*storage.Exchange)     {}
func (nopSink) Connection(*storage.Connection) {}
