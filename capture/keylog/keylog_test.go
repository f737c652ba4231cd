package keylog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cr1 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
const cr2 = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func random(t *testing.T, h string) [32]byte {
	t.Helper()
	var r [32]byte
	if !decodeHex(r[:], []byte(h)) {
		t.Fatalf("bad hex %q", h)
	}
	return r
}

func TestAddParsesEveryLabelAndIgnoresTheRest(t *testing.T) {
	s48 := strings.Repeat("ab", 48)
	s32 := strings.Repeat("cd", 32)
	text := "# comment\n\n" +
		"CLIENT_RANDOM " + cr1 + " " + s48 + "\r\n" +
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET " + cr1 + " " + s32 + "\n" +
		"SERVER_HANDSHAKE_TRAFFIC_SECRET " + cr1 + " " + s48 + "\n" +
		"CLIENT_TRAFFIC_SECRET_0 " + cr1 + " " + s32 + "\n" +
		"SERVER_TRAFFIC_SECRET_0 " + cr1 + " " + s32 + "\n" +
		"CLIENT_EARLY_TRAFFIC_SECRET " + cr1 + " " + s32 + "\n" +
		"EXPORTER_SECRET " + cr1 + " " + s32 + "\n" +
		"SOMETHING_NEW " + cr1 + " " + s32 + "\n" +
		"CLIENT_RANDOM " + cr2 + " " + s32 + "\n" + // master secret must be 48 bytes
		"CLIENT_RANDOM zz " + s48 + "\n" +
		"CLIENT_RANDOM " + cr2 + " abc\n" +
		"garbage\n" +
		"SERVER_TRAFFIC_SECRET_0 " + cr2 + " " + s48 // no trailing newline: still a line
	l := New(0)
	if n := l.Add([]byte(text)); n != 7 {
		t.Fatalf("Add returned %d, want 7", n)
	}
	e, ok := l.Lookup(random(t, cr1))
	if !ok {
		t.Fatal("cr1 missing")
	}
	if got := fmt.Sprintf("%x", e.Master.Bytes()); got != s48 {
		t.Errorf("master = %s", got)
	}
	if len(e.ClientHandshake.Bytes()) != 32 || len(e.ServerHandshake.Bytes()) != 48 ||
		len(e.ClientTraffic.Bytes()) != 32 || len(e.ServerTraffic.Bytes()) != 32 || len(e.ClientEarly.Bytes()) != 32 {
		t.Errorf("secret lengths wrong: %+v", e)
	}
	e2, ok := l.Lookup(random(t, cr2))
	if !ok || e2.Master.Bytes() != nil || len(e2.ServerTraffic.Bytes()) != 48 {
		t.Errorf("cr2 = %+v, %v", e2, ok)
	}
	st := l.Stats()
	if st.Entries != 2 || st.Ignored != 2 || st.Malformed != 4 || st.Lines != 13 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCapEvictsOldestFirst(t *testing.T) {
	l := New(3)
	var buf bytes.Buffer
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&buf, "CLIENT_RANDOM %02x%s %s\n", i, cr1[2:], strings.Repeat("11", 48))
	}
	l.Add(buf.Bytes())
	st := l.Stats()
	if st.Entries != 3 || st.Evicted != 2 {
		t.Fatalf("stats = %+v", st)
	}
	if _, ok := l.Lookup(random(t, "00"+cr1[2:])); ok {
		t.Error("oldest entry survived")
	}
	if _, ok := l.Lookup(random(t, "04"+cr1[2:])); !ok {
		t.Error("newest entry missing")
	}
}

func TestReloadReadsOnlyNewCompleteLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.log")
	line := func(cr string) string { return "CLIENT_RANDOM " + cr + " " + strings.Repeat("22", 48) + "\n" }
	if err := os.WriteFile(path, []byte(line(cr1)), 0o600); err != nil {
		t.Fatal(err)
	}
	l := New(0)
	if err := l.WatchFile(path); err != nil {
		t.Fatal(err)
	}
	if !l.Growing() {
		t.Error("a watched log should report Growing")
	}
	g := l.Generation()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	half := line(cr2)
	f.WriteString(half[:40]) // a line being written: must not be parsed yet
	if n, err := l.Reload(); n != 0 || err != nil {
		t.Fatalf("Reload on partial line = %d, %v", n, err)
	}
	if _, ok := l.Lookup(random(t, cr2)); ok {
		t.Fatal("partial line parsed")
	}
	f.WriteString(half[40:])
	if n, err := l.Reload(); n != 1 || err != nil {
		t.Fatalf("Reload = %d, %v", n, err)
	}
	if _, ok := l.Lookup(random(t, cr2)); !ok {
		t.Fatal("appended line missing")
	}
	if l.Generation() == g {
		t.Error("generation did not change")
	}
	if st := l.Stats(); st.Lines != 2 || st.Malformed != 0 {
		t.Errorf("lines parsed twice or broken: %+v", st)
	}
	// A truncated (rotated) file is read again from its start.
	cr3 := "33" + cr1[2:]
	if err := os.WriteFile(path, []byte(line(cr3)), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Reload(); n != 1 {
		t.Fatalf("Reload after truncation = %d", n)
	}
	if _, ok := l.Lookup(random(t, cr3)); !ok {
		t.Error("line of replaced file missing")
	}
}

func TestLoadFileMissingNamesPath(t *testing.T) {
	err := New(0).LoadFile("/nonexistent/keys.log")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/keys.log") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzAdd(f *testing.F) {
	f.Add([]byte("CLIENT_RANDOM " + cr1 + " " + strings.Repeat("ab", 48) + "\n# x\nSERVER_TRAFFIC_SECRET_0 " + cr1 + " " + strings.Repeat("cd", 32)))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := New(4)
		l.Add(data)
		st := l.Stats()
		if st.Entries > 4 {
			t.Fatalf("cap exceeded: %d", st.Entries)
		}
		for cr := range l.entries {
			e, _ := l.Lookup(cr)
			for _, s := range []Secret{e.Master, e.ClientHandshake, e.ServerHandshake, e.ClientTraffic, e.ServerTraffic, e.ClientEarly} {
				if s.Len != 0 && s.Len != 32 && s.Len != 48 {
					t.Fatalf("secret of %d bytes accepted", s.Len)
				}
			}
		}
	})
}

func TestReloadWhileLookingUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.log")
	os.WriteFile(path, nil, 0o600)
	l := New(0)
	if err := l.WatchFile(path); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		defer f.Close()
		for i := 0; i < 200; i++ {
			fmt.Fprintf(f, "CLIENT_RANDOM %064x %s\n", i, strings.Repeat("11", 48))
			l.Reload()
		}
	}()
	var r [32]byte
	for {
		select {
		case <-done:
			l.Reload()
			r[31] = 199
			if _, ok := l.Lookup(r); !ok || l.Stats().Entries != 200 {
				t.Fatalf("after reloads: %+v", l.Stats())
			}
			return
		default:
			l.Lookup(r)
			l.Generation()
		}
	}
}
