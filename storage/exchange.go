// Package storage owns corscope's exchange record and its SQLite store.
// Ingestors (capture, har) write exchanges; the analyzer and the UI read
// them. This package knows nothing of either side.
package storage

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// Header is one header field as it was sent: original case, raw value.
type Header struct {
	Name  string
	Value string
}

// Headers is a header list in wire order, duplicates kept. It is never
// canonicalised or joined: two Access-Control-Allow-Origin fields are
// evidence, not noise.
type Headers []Header

// Get returns the value of the first field named name (ASCII case-insensitive)
// and whether one exists.
func (h Headers) Get(name string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Value returns the first value of name, or "".
func (h Headers) Value(name string) string {
	v, _ := h.Get(name)
	return v
}

// Values returns every value of name in wire order.
func (h Headers) Values(name string) []string {
	var out []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Count returns how many fields are named name.
func (h Headers) Count(name string) int {
	n := 0
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			n++
		}
	}
	return n
}

// Input formats.
const (
	FormatPCAP   = "pcap"
	FormatPCAPNG = "pcapng"
	FormatHAR    = "har"
	FormatLive   = "live"
)

// Protocol names stored in Exchange.Proto.
const (
	ProtoHTTP09 = "HTTP/0.9"
	ProtoHTTP10 = "HTTP/1.0"
	ProtoHTTP11 = "HTTP/1.1"
	ProtoHTTP2  = "HTTP/2"
	ProtoHTTP3  = "HTTP/3"
)

// Input is one file (or live session) that was ingested.
type Input struct {
	ID          int64
	Path        string
	Format      string
	SHA256      string
	Size        int64 // bytes of the input as read (compressed size for .gz)
	Exchanges   int64
	Connections int64
	Packets     int64
	Warnings    []string
	Stats       map[string]int64 // counters: limits hit, decrypted connections, ...
	Started     time.Time        // when ingest began (wall clock)
	Completed   time.Time        // zero until the ingest finished
	Complete    bool
}

// Connection is one transport connection (TCP, or a HAR _connectionId).
// No is the connection's number within its input, assigned by the ingestor;
// exchanges refer to it by (InputID, No).
type Connection struct {
	InputID    int64
	No         int64
	Client     string // "ip:port"
	Server     string // "ip:port"
	TLS        bool
	SNI        string
	ALPN       string
	TLSVersion string
	Cipher     string
	Decrypted  bool
	FirstSeen  time.Time
	LastSeen   time.Time
	Packets    int64
	Bytes      int64
	Warnings   []string
}

// Exchange is one HTTP request and its response (if any was seen).
// Timestamps are capture times (pcap) or the producer's times (HAR).
type Exchange struct {
	ID      int64 // assigned by the Writer
	InputID int64

	// Where it came from in the input.
	EntryIndex  int   // HAR entry index; -1 for captures
	FirstPacket int64 // 1-based packet number of the request's first byte; 0 unknown
	LastPacket  int64 // packet number of the response's last byte; 0 unknown
	Offset      int64 // byte offset in the input of the entry or first packet record
	ConnNo      int64 // Connection.No within the input; 0 unknown
	StreamID    uint32

	Started     time.Time // first byte of the request
	RespStarted time.Time // first byte of the final response; zero if none
	Ended       time.Time // last byte of the response; zero if none

	Client string // "ip:port", "" when unknown
	Server string // "ip:port", "" when unknown
	TLS    bool
	Proto  string // ProtoHTTP11, ProtoHTTP2, ...

	Method string
	Scheme string // "http", "https", "ws", "wss"
	Host   string // host name or IP literal, without port, lower case
	Port   int    // explicit or default port
	Path   string // as sent, without query
	Query  string // without "?"

	Status     int // 0 when no response was seen; HAR -1 is stored as 0 with a warning
	StatusText string

	RequestHeaders  Headers
	ResponseHeaders Headers

	RequestBodySize  int64 // decoded size as seen (may exceed the stored body)
	ResponseBodySize int64
	RequestBody      []byte // capped; nil when not kept
	ResponseBody     []byte

	Warnings []string

	// Source hints used for pairing (HAR producers record these).
	ResourceType       string // e.g. "preflight", "fetch", "xhr", "websocket", "document"
	SourceRequestID    string // the producer's own id of this request
	InitiatorRequestID string // for a preflight: the producer's id of its actual request
	FromCache          bool

	// Upgrade is set when the exchange switched protocols or tunnelled:
	// "websocket", "h2c", "connect".
	Upgrade string

	// PreflightID links an actual request to the preflight that authorised
	// it; 0 when none. Set at ingest from producer hints; once an analysis
	// ran, readers see the analyzer's pairing instead (Query.IngestHints).
	PreflightID int64
}

// Origin returns the request's Origin header value, or "".
func (e *Exchange) Origin() string { return e.RequestHeaders.Value("Origin") }

// IsPreflight reports whether the exchange is a CORS preflight: an OPTIONS
// request carrying Origin and Access-Control-Request-Method.
func (e *Exchange) IsPreflight() bool {
	if e.Method != "OPTIONS" {
		return false
	}
	_, o := e.RequestHeaders.Get("Origin")
	_, m := e.RequestHeaders.Get("Access-Control-Request-Method")
	return o && m
}

// DefaultPort returns the scheme's default port (80 or 443), or 0.
func DefaultPort(scheme string) int {
	switch scheme {
	case "http", "ws":
		return 80
	case "https", "wss":
		return 443
	}
	return 0
}

// TargetOrigin returns the serialized origin scheme://host[:port] of the
// request, with the port omitted when it is the scheme's default.
// WebSocket schemes map to http/https as browsers send them in Origin.
func (e *Exchange) TargetOrigin() string {
	scheme := e.Scheme
	switch scheme {
	case "ws":
		scheme = "http"
	case "wss":
		scheme = "https"
	}
	host := e.Host
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	if e.Port == 0 || e.Port == DefaultPort(scheme) {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + strconv.Itoa(e.Port)
}

// URL returns the full request URL.
func (e *Exchange) URL() string {
	scheme := e.Scheme
	host := e.Host
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	var b strings.Builder
	b.Grow(len(scheme) + len(host) + len(e.Path) + len(e.Query) + 12)
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	if e.Port != 0 && e.Port != DefaultPort(scheme) {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Port))
	}
	if e.Path == "" {
		b.WriteByte('/')
	} else {
		b.WriteString(e.Path)
	}
	if e.Query != "" {
		b.WriteByte('?')
		b.WriteString(e.Query)
	}
	return b.String()
}

// ServerIP returns the server address without port, or nil when unknown.
func (e *Exchange) ServerIP() net.IP {
	host, _, err := net.SplitHostPort(e.Server)
	if err != nil {
		return nil
	}
	return net.ParseIP(host)
}

// AddWarning appends w unless it is already present.
func (e *Exchange) AddWarning(w string) {
	for _, x := range e.Warnings {
		if x == w {
			return
		}
	}
	e.Warnings = append(e.Warnings, w)
}
