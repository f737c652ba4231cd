// Package h2 rebuilds HTTP/2 exchanges (h2c, or h2 after TLS decryption) from
// the reassembled byte streams of one TCP connection, keeping header fields as sent.
package h2

import "github.com/corscope/corscope/capture/http1"

// Options bound the parser's memory. Zero fields take the defaults.
type Options struct {
	MaxBody        int64 // stored body bytes per message (default 1 MiB)
	MaxDecoded     int64 // decompression output cap (default 16 MiB)
	MaxHeaderBytes int   // decoded header list kept per block, and HPACK string cap (default 64 KiB)
	MaxHeaders     int   // header fields kept per message (default 256)
	MaxStreams     int   // streams tracked at once per connection (default 1024)
	MaxFrameBytes  int   // frame payload buffered whole (default 1 MiB); larger frames are skipped
	MaxConnBody    int64 // body bytes stored across a connection's open streams (default 32 MiB)
	MaxTableSize   int   // HPACK dynamic table a peer's SETTINGS may allow (default 64 KiB)
}

// Defaults for Options.
const (
	DefaultMaxStreams    = 1024
	DefaultMaxFrameBytes = 1 << 20
	DefaultMaxConnBody   = 32 << 20
	DefaultMaxTableSize  = 64 << 10
)

// OptionsFrom takes the HTTP/1 limits, so one set of flags bounds both parsers.
func OptionsFrom(o http1.Options) Options {
	return Options{MaxBody: o.MaxBody, MaxDecoded: o.MaxDecoded, MaxHeaderBytes: o.MaxHeaderBytes, MaxHeaders: o.MaxHeaders}
}

func (o Options) withDefaults() Options {
	if o.MaxBody <= 0 {
		o.MaxBody = http1.DefaultMaxBody
	}
	if o.MaxDecoded <= 0 {
		o.MaxDecoded = http1.DefaultMaxDecoded
	}
	if o.MaxDecoded < o.MaxBody {
		o.MaxDecoded = o.MaxBody
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = http1.DefaultMaxHeaderBytes
	}
	if o.MaxHeaders <= 0 {
		o.MaxHeaders = http1.DefaultMaxHeaders
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	if o.MaxConnBody <= 0 {
		o.MaxConnBody = DefaultMaxConnBody
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if o.MaxTableSize <= 0 {
		o.MaxTableSize = DefaultMaxTableSize
	}
	o.MaxTableSize = max(o.MaxTableSize, defaultTableSize)
	return o
}

// Warnings attached to exchanges (and, where they concern the whole
// connection, to Parser.Warnings). Tests and the analyzer match on these.
const (
	WarnHPACKUnknownStart = "HPACK context unknown (capture started mid-connection)"
	WarnHPACKUnknownGap   = "HPACK context unknown (bytes lost in capture)"
	WarnHPACKUnknownError = "HPACK context unknown (an earlier header block failed to decode)"
	WarnHPACKFailed       = "header block not decoded: HPACK error"
	WarnNoPreface         = "no HTTP/2 connection preface (capture started mid-connection)"
	WarnFramesLost        = "HTTP/2 frames lost in capture gap"
	WarnHeaderBlockCut    = "header block incomplete (CONTINUATION missing)"
	// WarnTooManyHeaders starts "header fields over the cap of N skipped: M",
	// worded as capture/http1's so one counter sees both.
	WarnTooManyHeaders = "header fields over the cap of "
	WarnPushed         = "server push"
	WarnUpgradedH2C    = "request sent as HTTP/1.1 with Upgrade: h2c (101 Switching Protocols); response on stream 1"
	WarnNotProcessed   = "GOAWAY: stream not processed by the server"
	WarnConnBodyCap    = "body not stored in full: the connection's open streams hold the body cap"
	// WarnStreamCapFmt takes Options.MaxStreams.
	WarnStreamCapFmt = "stream over the cap of %d open streams per connection: only its first header block kept"
	// WarnFieldCapFmt takes Options.MaxHeaderBytes: a string longer than
	// that stops the HPACK decoder.
	WarnFieldCapFmt = "header field over the %d-byte cap: header block not decoded"
	// WarnTableCapFmt takes Options.MaxTableSize.
	WarnTableCapFmt = "HPACK dynamic table over the %d-byte cap: header block not decoded"
	// WarnCapEarlierPrefix starts the warning on later blocks of a direction
	// whose HPACK context a cap made unknown (the cap's warning follows).
	WarnCapEarlierPrefix = "HPACK context lost at a cap earlier in the connection: "
)
