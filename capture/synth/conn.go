package synth

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/pcapio"
)

// Capture builds an Ethernet pcap in memory, packet by packet, for tests
// that need exact control over segments, their order and their times.
type Capture struct {
	Buf   bytes.Buffer
	Now   time.Time     // time of the last packet written
	Step  time.Duration // added to Now before each packet
	w     *pcapio.Writer
	frame []byte
}

// NewCapture starts a capture whose packets come Step apart after start.
func NewCapture(start time.Time, step time.Duration) *Capture {
	c := &Capture{Now: start, Step: step}
	// Writing to a bytes.Buffer cannot fail.
	c.w, _ = pcapio.NewWriter(&c.Buf, packet.LinkEthernet, 262144)
	return c
}

// Packet writes one TCP segment.
func (c *Capture) Packet(src, dst netip.AddrPort, seq, ack uint32, flags uint8, payload []byte) {
	c.Now = c.Now.Add(c.Step)
	c.frame = packet.AppendEthernetTCP(c.frame[:0], src, dst, seq, ack, flags, payload)
	c.w.WritePacket(c.Now, c.frame, 0)
}

// Conn is one hand-driven TCP connection; CS and SS are the next sequence
// numbers of the client and the server (tests move them to make holes).
type Conn struct {
	Cap            *Capture
	Client, Server netip.AddrPort
	CS, SS         uint32
}

// Open writes a three-way handshake with initial sequence numbers cISN and
// sISN.
func (c *Capture) Open(client, server netip.AddrPort, cISN, sISN uint32) *Conn {
	k := &Conn{Cap: c, Client: client, Server: server, CS: cISN, SS: sISN}
	c.Packet(client, server, k.CS, 0, packet.FlagSYN, nil)
	c.Packet(server, client, k.SS, k.CS+1, packet.FlagSYN|packet.FlagACK, nil)
	k.CS++
	k.SS++
	c.Packet(client, server, k.CS, k.SS, packet.FlagACK, nil)
	return k
}

// Send writes data in 1400-byte segments from the client or the server.
func (k *Conn) Send(fromClient bool, data []byte) {
	for off := 0; off < len(data); off += 1400 {
		seg := data[off:min(off+1400, len(data))]
		if fromClient {
			k.Cap.Packet(k.Client, k.Server, k.CS, k.SS, packet.FlagACK|packet.FlagPSH, seg)
			k.CS += uint32(len(seg))
		} else {
			k.Cap.Packet(k.Server, k.Client, k.SS, k.CS, packet.FlagACK|packet.FlagPSH, seg)
			k.SS += uint32(len(seg))
		}
	}
}

// Close writes FIN, FIN and the last ACK.
func (k *Conn) Close() {
	k.Cap.Packet(k.Client, k.Server, k.CS, k.SS, packet.FlagFIN|packet.FlagACK, nil)
	k.Cap.Packet(k.Server, k.Client, k.SS, k.CS+1, packet.FlagFIN|packet.FlagACK, nil)
	k.Cap.Packet(k.Client, k.Server, k.CS+1, k.SS+1, packet.FlagACK, nil)
}
