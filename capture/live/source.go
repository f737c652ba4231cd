//go:build linux

package live

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/sys/unix"

	"github.com/corscope/corscope/capture/packet"
)

// Ring geometry. TPACKET_V3 packs packets into blocks and a packet can be
// as large as a block, so 1 MiB blocks keep GRO/TSO super-packets (up to
// 64 KiB, BIG TCP up to 512 KiB) whole. A block is handed over when full
// or after blockTimeout, so at low rates each holds blockTimeout's worth of
// packets: 64 blocks of 100 ms ride out a 6 s stall of the reader (64 MiB).
const (
	frameSize    = 256 << 10
	blockSize    = 1 << 20
	numBlocks    = 64
	blockTimeout = 100 * time.Millisecond // a partly filled block is handed over after this
	pollTimeout  = 100 * time.Millisecond // how often Next returns to let its caller stop
)

// LinkType is the link type of every frame Next returns: the socket is
// SOCK_DGRAM, so frames start at the IP header on any interface.
const LinkType = packet.LinkRaw

// ErrTimeout is returned by Next when no packet came within the poll timeout.
var ErrTimeout = errors.New("no packet within the poll timeout")

// Source is an AF_PACKET socket with a memory-mapped TPACKET_V3 ring.
type Source struct {
	tp      *afpacket.TPacket
	iface   string
	ifaces  map[int]string // index → name, for -i any
	started time.Time      // packets taken before the filter was attached are skipped
}

// Open opens the capture socket, attaches the filter and, when asked,
// enables promiscuous mode. Its errors are one line naming the interface.
func Open(cfg SourceConfig) (*Source, error) {
	name := cfg.Interface
	if name == "" {
		return nil, errors.New("no interface given (-i IFACE, or -i any)")
	}
	s := &Source{iface: name, ifaces: map[int]string{}}
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	var loopbacks []int
	for _, it := range all {
		s.ifaces[it.Index] = it.Name
		if it.Flags&net.FlagLoopback != 0 {
			loopbacks = append(loopbacks, it.Index)
		}
	}
	afIface := ""
	if name == "any" {
		if cfg.Promisc {
			return nil, errors.New("-i any cannot be promiscuous (--promisc needs one interface)")
		}
		cfg.Filter.DropOutgoingOn = loopbacks
	} else {
		it, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("no such interface %q (see 'ip link'; -i any captures on all)", name)
		}
		if it.Flags&net.FlagUp == 0 {
			return nil, fmt.Errorf("interface %s is down (bring it up with 'ip link set %s up')", name, name)
		}
		if it.Flags&net.FlagLoopback != 0 {
			// libpcap does the same: the outgoing copy of a loopback
			// packet is the incoming one again.
			cfg.Filter.DropOutgoingOn = []int{-1}
		}
		afIface = name
	}
	prog, err := cfg.Filter.Compile()
	if err != nil {
		return nil, fmt.Errorf("capture filter: %w", err)
	}
	opts := []any{
		afpacket.OptFrameSize(frameSize), afpacket.OptBlockSize(blockSize), afpacket.OptNumBlocks(numBlocks),
		afpacket.OptBlockTimeout(blockTimeout), afpacket.OptPollTimeout(pollTimeout),
		afpacket.TPacketVersion3, afpacket.SocketDgram,
	}
	if afIface != "" {
		opts = append(opts, afpacket.OptInterface(afIface))
	}
	tp, err := afpacket.NewTPacket(opts...)
	if err != nil {
		return nil, openError(name, err)
	}
	s.tp = tp
	// Packets the socket took before the filter was attached are
	// skipped by time (Next); a few microseconds may pass unfiltered.
	s.started = time.Now()
	if err := tp.SetBPF(prog); err != nil {
		tp.Close()
		return nil, fmt.Errorf("capture on %s: attach filter: %w", name, err)
	}
	if cfg.Promisc {
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			return nil, openError(name, err)
		}
	}
	return s, nil
}

func openError(name string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES), errors.Is(err, os.ErrPermission):
		return fmt.Errorf("capture on %s: not permitted: AF_PACKET needs CAP_NET_RAW (run as root, or 'sudo setcap cap_net_raw,cap_net_admin=eip %s')", name, executable())
	case errors.Is(err, unix.ENETDOWN):
		return fmt.Errorf("interface %s is down (bring it up with 'ip link set %s up')", name, name)
	case errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		return fmt.Errorf("no such interface %q (see 'ip link'; -i any captures on all)", name)
	case errors.Is(err, unix.ENOMEM):
		return fmt.Errorf("capture on %s: cannot map the %d MiB packet ring: %w", name, blockSize*numBlocks>>20, err)
	}
	return fmt.Errorf("capture on %s: %w", name, err)
}

func executable() string {
	p, err := os.Executable()
	if err != nil {
		return "corscope"
	}
	return p
}

// Next returns the next frame (starting at its IP header). data is valid
// until the following call. It returns ErrTimeout when nothing came within
// the poll timeout, so the caller can look at its context and clocks.
func (s *Source) Next() (data []byte, info Info, err error) {
	for {
		d, ci, err := s.tp.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, afpacket.ErrTimeout) {
				return nil, Info{}, ErrTimeout
			}
			return nil, Info{}, fmt.Errorf("capture on %s: %w", s.iface, err)
		}
		if ci.Timestamp.Before(s.started) {
			continue // taken before the filter was attached
		}
		return d, Info{Time: ci.Timestamp, Length: ci.Length, IfIndex: ci.InterfaceIndex}, nil
	}
}

// InterfaceName returns the name of the interface with this index.
func (s *Source) InterfaceName(index int) string {
	if n, ok := s.ifaces[index]; ok {
		return n
	}
	if it, err := net.InterfaceByIndex(index); err == nil {
		s.ifaces[index] = it.Name
		return it.Name
	}
	return fmt.Sprintf("if%d", index)
}

// KernelStats returns the packets the socket received (drops included) and
// those the kernel dropped because the ring was full (PACKET_STATISTICS),
// since Open. Linux resets the counters on every read; afpacket adds each
// read to its running totals, so calling this often loses nothing.
func (s *Source) KernelStats() (received, dropped uint64, err error) {
	_, v3, err := s.tp.SocketStats()
	if err != nil {
		return 0, 0, err
	}
	return uint64(v3.Packets()), uint64(v3.Drops()), nil
}

// Close releases the socket and its ring.
func (s *Source) Close() { s.tp.Close() }
