package redact

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/corscope/corscope/storage"
)

// FuzzExchange: redaction never panics, never grows a value without a
// replacement, and is idempotent.
func FuzzExchange(f *testing.F) {
	f.Add("sid=a; b=c", "Bearer x", "a=1&token=2", []byte(`{"password":"p","x":"\\"}`))
	f.Add("=;;=", " ", "&&=&token=", []byte(`"`))
	f.Add("a= b ;c", "Basic", "%zz=1&%74oken=%", []byte(`{"token":"a\`))
	r := testRedactor(f)
	f.Fuzz(func(t *testing.T, cookie, auth, query string, body []byte) {
		ex := &storage.Exchange{Query: query, Path: "/p;" + query, Warnings: []string{"w: " + strconv.Quote(cookie), "w " + strconv.Quote(query) + " " + strconv.Quote(auth)},
			RequestHeaders:  storage.Headers{{Name: "Cookie", Value: cookie}, {Name: "Authorization", Value: auth}, {Name: "Referer", Value: "http://x/?" + query}},
			ResponseHeaders: storage.Headers{{Name: "Set-Cookie", Value: cookie}, {Name: "Content-Type", Value: "application/json"}},
			RequestBody:     append([]byte(nil), body...), ResponseBody: append([]byte(nil), body...)}
		n := r.Exchange(ex)
		if n == 0 && (ex.Query != query || !bytes.Equal(ex.ResponseBody, body) || ex.RequestHeaders[0].Value != cookie) {
			t.Fatal("changed without counting")
		}
		if n > 0 && !strings.Contains(ex.Path+strings.Join(ex.Warnings, "")+string(ex.RequestBody)+ex.Query+string(ex.ResponseBody)+ex.RequestHeaders[0].Value+ex.RequestHeaders[1].Value+ex.RequestHeaders[2].Value+ex.ResponseHeaders[0].Value, Prefix) {
			t.Fatal("counted without replacing")
		}
		snapshot := *ex
		snapshot.RequestHeaders = append(storage.Headers(nil), ex.RequestHeaders...)
		if again := r.Exchange(ex); again != 0 {
			t.Fatalf("not idempotent: %d more on %+v", again, snapshot)
		}
	})
}
