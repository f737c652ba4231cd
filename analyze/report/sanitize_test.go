package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/corscope/corscope/storage"
)

func TestTerminal(t *testing.T) {
	tests := []struct {
		name, in, want string
		max            int
	}{
		{"plain ASCII unchanged", "https://api.example.com", "https://api.example.com", 0},
		{"ESC shown", "a\x1b[31mred", `a\x1b[31mred`, 0},
		{"CR LF tab NUL DEL", "a\r\n\t\x00\x7f", `a\x0d\x0a\x09\x00\x7f`, 0},
		{"backslash doubled so escapes cannot be forged", `a\x1b`, `a\\x1b`, 0},
		{"C1 CSI", "a\u009b31m", `a\u009b31m`, 0},
		{"invalid UTF-8", "a\xff\xfeb", `a\xff\xfeb`, 0},
		{"bidi override", "evil\u202etxt.exe", "evil<U+202E>txt.exe", 0},
		{"zero width space", "a\u200bb", "a<U+200B>b", 0},
		{"bidi isolate", "\u2066x\u2069", "<U+2066>x<U+2069>", 0},
		{"BOM", "\ufeffx", "<U+FEFF>x", 0},
		{"tag characters", "x\U000e0041", "x<U+E0041>", 0},
		{"printable unicode kept", "bücher.example ✓", "bücher.example ✓", 0},
		{"cut with marker", strings.Repeat("a", 20), "aaaaaaaaaa…(+10 bytes)", 10},
		{"cut counts escaped output", strings.Repeat("\x1b", 10), `\x1b\x1b\x1b…(+7 bytes)`, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Terminal(tt.in, tt.max); got != tt.want {
				t.Errorf("Terminal(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactEvidence(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Cookie: session=abcdefghijklmnopqrstuvwxyz012345", "Cookie: session=ab…(32 chars)"},
		{"cookie: a=1; b=secretsecretsecret", "cookie: a=…(1 chars); b=se…(18 chars)"},
		{"Set-Cookie: sid=0123456789abcdef; Path=/; SameSite=None; Secure", "Set-Cookie: sid=01…(16 chars); Path=/; SameSite=None; Secure"},
		{"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9", "Authorization: Bearer ey…(20 chars)"},
		{"Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic dX…(12 chars)"},
		{"authorization: opaque", "authorization: …(6 chars)"},
		{"X-Api-Key: k-1234567890abcdef", "X-Api-Key: k-…(18 chars)"},
		{"Access-Control-Allow-Origin: https://evil.example", "Access-Control-Allow-Origin: https://evil.example"},
		{"GET /v1/user?id=7&access_token=abcdefghijklmnop HTTP/1.1", "GET /v1/user?id=7&access_token=ab…(16 chars) HTTP/1.1"},
		{"Referer: https://app.example/cb?code=0123456789abcdef&state=x", "Referer: https://app.example/cb?code=01…(16 chars)&state=x"},
		{"https://h/p?API_KEY=zzzzzzzzzzzzzzzz#frag", "https://h/p?API_KEY=zz…(16 chars)#frag"},
		{"https://h/p?q=1&token=", "https://h/p?q=1&token="},
		{"Cookie:", "Cookie:"},
		{"no colon at all", "no colon at all"},
	}
	for _, tt := range tests {
		if got := RedactEvidence(tt.in); got != tt.want {
			t.Errorf("RedactEvidence(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestMarkdownCapsLongTables(t *testing.T) {
	r := &Report{}
	for i := 0; i < mdRowsPerSeverity+7; i++ {
		r.Findings = append(r.Findings, storage.Finding{Rule: "cors-wildcard", Severity: "info", Endpoint: fmt.Sprintf("https://h/%d", i)})
	}
	out := render(t, r, "markdown", Options{})
	if n := strings.Count(out, "| `cors-wildcard`"); n != mdRowsPerSeverity {
		t.Errorf("%d rows, want %d", n, mdRowsPerSeverity)
	}
	if !strings.Contains(out, "7 more info findings are not listed") {
		t.Error("cut not announced")
	}
	if n := strings.Count(render(t, r, "markdown", Options{Verbose: true}), "| `cors-wildcard`"); n != mdRowsPerSeverity+7 {
		t.Errorf("verbose lists %d rows", n)
	}
}

// FuzzTerminal checks the sanitiser's promise on arbitrary bytes: nothing a
// terminal interprets survives, the output is valid UTF-8, and redaction
// never panics or grows a line without bound.
func FuzzTerminal(f *testing.F) {
	f.Add("https://evil.example\x1b]8;;x\x07\u202e", 0)
	f.Add("Cookie: a=b; c=d", 10)
	f.Add("GET /?token=abc&x=1#y?key=z HTTP/1.1", 5)
	f.Add("\xff\xfe\u009b\u200b", 3)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			max = 0
		}
		for _, in := range []string{s, RedactEvidence(s)} {
			out := Terminal(in, max)
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 out of %q", in)
			}
			for _, r := range out {
				if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || invisible(r) {
					t.Fatalf("rune %U survived in %q", r, out)
				}
			}
			if max > 0 && len(out) > max+32 {
				t.Fatalf("output of %d bytes exceeds the cap %d", len(out), max)
			}
		}
		if r := RedactEvidence(s); len(r) > len(s)+64*(strings.Count(s, "=")+2) {
			t.Fatalf("redaction grew %d bytes to %d", len(s), len(r))
		}
		md := mdCell(s, max)
		if strings.ContainsAny(strings.TrimSuffix(strings.TrimPrefix(md, "<code>"), "</code>"), "<>|`[]*_\\") {
			t.Fatalf("markdown special survived: %q", md)
		}
	})
}

func benchFindings(n int) *Report {
	r := fixture()
	base := r.Findings[1]
	r.Findings = make([]storage.Finding, n)
	for i := range r.Findings {
		f := base
		f.Fingerprint = fmt.Sprintf("%064x", i)
		f.Severity = Severities[i%len(Severities)]
		f.Endpoint = fmt.Sprintf("https://api.example.com/v1/item/%d", i)
		r.Findings[i] = f
	}
	return r
}

func BenchmarkTerminalPlain(b *testing.B) {
	s := "Access-Control-Allow-Origin: https://app.example.com"
	b.ReportAllocs()
	for b.Loop() {
		Terminal(s, maxValueShort)
	}
}

func BenchmarkTerminalHostile(b *testing.B) {
	s := "Origin: " + hostileOrig
	b.ReportAllocs()
	for b.Loop() {
		Terminal(s, maxValueShort)
	}
}

func BenchmarkRedactEvidence(b *testing.B) {
	lines := []string{"Cookie: session=" + sessionValue + "; theme=dark", "Access-Control-Allow-Origin: https://evil.example", "GET /v1?access_token=" + bearerToken}
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			RedactEvidence(l)
		}
	}
}

func benchmarkWrite(b *testing.B, format string) {
	r := benchFindings(10000)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Write(&buf, r, format, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func BenchmarkWriteText10k(b *testing.B)  { benchmarkWrite(b, "text") }
func BenchmarkWriteJSON10k(b *testing.B)  { benchmarkWrite(b, "json") }
func BenchmarkWriteSARIF10k(b *testing.B) { benchmarkWrite(b, "sarif") }
