package fixtureserver

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// AccessRecord is one line of the access log: what the server saw and
// answered, so a test can check that a capture rebuilt every exchange.
type AccessRecord struct {
	Time   time.Time `json:"time"`
	Proto  string    `json:"proto"`
	TLS    bool      `json:"tls"`
	Remote string    `json:"remote"`
	Method string    `json:"method"`
	Host   string    `json:"host"`
	Path   string    `json:"path"`
	Origin string    `json:"origin,omitempty"`
	Cookie bool      `json:"cookie"`
	Status int       `json:"status"`
}

func accessLog(next http.Handler, out io.Writer) http.Handler {
	var mu sync.Mutex
	enc := json.NewEncoder(out)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 && !rec.hijacked {
			status = http.StatusOK
		}
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(AccessRecord{
			Time: start.UTC(), Proto: r.Proto, TLS: r.TLS != nil, Remote: r.RemoteAddr,
			Method: r.Method, Host: reqHost(r), Path: r.URL.Path, Origin: r.Header.Get("Origin"),
			Cookie: r.Header.Get("Cookie") != "", Status: status,
		})
	})
}

// statusRecorder remembers the status code while keeping the Flusher and
// Hijacker of the connection it wraps (chunked bodies and WebSockets need them).
type statusRecorder struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	c, brw, err := h.Hijack()
	if err == nil {
		s.hijacked = true
		s.status = http.StatusSwitchingProtocols
	}
	return c, brw, err
}
