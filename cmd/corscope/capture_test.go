package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/corscope/corscope/capture/live"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"100MB", 100e6}, {"100mb", 100e6}, {"1GiB", 1 << 30}, {"2G", 2 << 30}, {"512M", 512 << 20},
		{"5MiB", 5 << 20}, {"1048576", 1 << 20}, {" 3 GB ", 3e9},
	} {
		got, err := parseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "MB", "-1MB", "10kb", "1.5GB", "99999999999999GB", "abc"} {
		if n, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, n)
		}
	}
}

func TestCaptureFilterFlags(t *testing.T) {
	f, err := captureFilter(&captureFlags{ports: []string{"80", " 8080"}, hosts: []string{"127.0.0.1", "::1"}})
	if err != nil || len(f.Ports) != 2 || f.Ports[1] != 8080 || len(f.Hosts) != 2 {
		t.Fatalf("filter %+v, %v", f, err)
	}
	for _, bad := range []*captureFlags{{ports: []string{"0"}}, {ports: []string{"65536"}}, {ports: []string{"http"}},
		{hosts: []string{"no-such-host.invalid"}}} {
		if _, err := captureFilter(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestCaptureUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"capture"}, `required flag(s) "interface" not set`},
		{[]string{"capture", "-i", "lo", "--rotate", "100MB"}, "--rotate needs --write"},
		{[]string{"capture", "-i", "lo", "--port", "x"}, `--port "x"`},
		{[]string{"capture", "-i", "corscope-nosuch0", "--db", ":memory:"}, `no such interface "corscope-nosuch0"`},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), tc.want) || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

// TestLiveStatusLineKeepsMessagesAbove: the capture's status line is
// redrawn in place, messages go above it, and the final progress clears
// it so the summary starts on a clean line.
func TestLiveStatusLineKeepsMessagesAbove(t *testing.T) {
	var b bytes.Buffer
	ls := &liveStatus{w: &b, width: 200, iface: "lo"}
	ls.progress(live.Progress{Elapsed: time.Second, Packets: 1234, Exchanges: 5, Findings: 2})
	const line = "capturing on lo: 1234 pkt/s, 0 dropped; 5 exchanges, 2 findings"
	if b.String() != clearLine+line {
		t.Fatalf("first draw %q", b.String())
	}
	b.Reset()
	fmt.Fprintf(ls, "new finding: high x\n")
	if b.String() != clearLine+"new finding: high x\n"+line {
		t.Fatalf("message with the line shown: %q", b.String())
	}
	b.Reset()
	ls.progress(live.Progress{Elapsed: 2 * time.Second, Packets: 1234, Final: true})
	fmt.Fprintf(ls, "summary\n")
	if b.String() != clearLine+"summary\n" {
		t.Fatalf("after the final progress: %q", b.String())
	}

	// A narrow terminal gets the line cut short of its width: a wrapped
	// line could not be redrawn in place.
	b.Reset()
	ls = &liveStatus{w: &b, width: 30, iface: "lo"}
	ls.progress(live.Progress{Elapsed: time.Second, Packets: 99})
	if got := strings.TrimPrefix(b.String(), clearLine); len([]rune(got)) != 29 || !strings.HasSuffix(got, "…") {
		t.Fatalf("narrow line %q (%d runes), want 29 ending in …", got, len([]rune(got)))
	}
	if newLiveStatus(&b, "lo") != nil {
		t.Fatal("status line on a non-terminal")
	}
}
