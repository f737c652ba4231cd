// Package http1 rebuilds HTTP/1.x exchanges from the reassembled byte streams
// of one TCP connection, keeping headers exactly as sent and saying what it could not see.
package http1

import "time"

// Dir is the direction of a byte stream within a connection.
type Dir int

// Directions.
const (
	ClientToServer Dir = 0
	ServerToClient Dir = 1
)

// Segment is a run of in-order stream bytes, normally one TCP segment's payload.
// Data is only valid during the call that receives it: the parser copies what
// it keeps. Seq is the TCP sequence number of Data[0]; Ack the acknowledgement
// number carried by the packet that delivered Data[0]; Time and Packet (1-based
// packet number in the input) are that packet's. A segment with Seq and Ack
// both zero is treated as "sequence numbers unknown" and pairing falls back
// to plain order.
type Segment struct {
	Data     []byte
	Time     time.Time
	Packet   int64
	Seq, Ack uint32
}

// ConnMeta describes the connection; it is copied into every exchange.
type ConnMeta struct {
	Client, Server string // "ip:port"
	TLS            bool
	ConnNo         int64
}

// Options bound the parser's memory. Zero fields take the defaults.
type Options struct {
	MaxBody        int64 // stored body bytes per message (default 1 MiB)
	MaxDecoded     int64 // decompression output cap (default 16 MiB)
	MaxHeaderBytes int   // start line plus header section (default 64 KiB)
	MaxHeaders     int   // header fields kept per message (default 256)
}

// Defaults for Options.
const (
	DefaultMaxBody        = 1 << 20
	DefaultMaxDecoded     = 16 << 20
	DefaultMaxHeaderBytes = 64 << 10
	DefaultMaxHeaders     = 256
)

func (o Options) withDefaults() Options {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxDecoded <= 0 {
		o.MaxDecoded = DefaultMaxDecoded
	}
	if o.MaxDecoded < o.MaxBody {
		o.MaxDecoded = o.MaxBody
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxHeaders <= 0 {
		o.MaxHeaders = DefaultMaxHeaders
	}
	return o
}
