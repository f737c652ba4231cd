package http1

import (
	"time"

	"github.com/corscope/corscope/storage"
)

// Parser rebuilds the exchanges of one connection. It is not safe for
// concurrent use; one goroutine feeds both directions in capture order.
type Parser struct {
	opts     Options
	meta     ConnMeta
	emit     func(*storage.Exchange)
	upgraded string
}

// NewParser returns a parser that calls emit once per exchange, in request
// order. emit owns the exchange it receives.
func NewParser(opts Options, meta ConnMeta, emit func(*storage.Exchange)) *Parser {
	return &Parser{opts: opts.withDefaults(), meta: meta, emit: emit}
}

// Feed hands the parser the next in-order bytes of one direction.
func (p *Parser) Feed(dir Dir, seg Segment) {}

// Gap says lost bytes are missing before the next Feed in dir (lost < 0: unknown).
func (p *Parser) Gap(dir Dir, lost int, t time.Time) {}

// Close flushes everything: the connection or the capture ended at t.
func (p *Parser) Close(t time.Time) {}

// Upgraded reports whether the connection left HTTP/1 (101 Switching
// Protocols or a 2xx answer to CONNECT) and to what: "websocket", "h2c",
// "connect" or the lower-cased Upgrade token. The caller stops feeding then.
func (p *Parser) Upgraded() (proto string, ok bool) { return p.upgraded, p.upgraded != "" }

// LooksLikeRequest reports whether b starts with an HTTP/1.x request line.
func LooksLikeRequest(b []byte) bool { return false }

// LooksLikeResponse reports whether b starts with an HTTP/1.x status line.
func LooksLikeResponse(b []byte) bool { return false }
