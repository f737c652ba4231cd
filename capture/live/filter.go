package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/net/bpf"
)

// Filter selects what the kernel hands over. Packets are seen from the IP
// header on (SOCK_DGRAM), so offsets are those of raw IP. Only TCP over IPv4
// and IPv6 passes; IP fragments pass whenever the hosts match, since only
// the first fragment carries ports.
type Filter struct {
	Ports []uint16     // either endpoint's port is one of these; none: any port
	Hosts []netip.Addr // either endpoint's address is one of these; none: any host
	// DropOutgoingOn lists interface indexes whose PACKET_OUTGOING copies
	// are dropped (loopback interfaces show every packet twice); -1 means
	// the socket's only interface, whatever its index.
	DropOutgoingOn []int
}

// Limits on the program's size: jump offsets are 8 bits wide.
const (
	maxPorts = 32
	maxHosts = 8
)

// packetOutgoing is PACKET_OUTGOING, the kernel's pkt_type of a copy of a
// packet this host sent.
const packetOutgoing = 4

// accept keeps the whole packet: the ring's block size is what limits it.
var accept = bpf.RetConstant{Val: 0xffffffff}

// Compile returns the classic BPF program for f.
func (f Filter) Compile() ([]bpf.RawInstruction, error) {
	ins, err := f.instructions()
	if err != nil {
		return nil, err
	}
	return bpf.Assemble(ins)
}

func (f Filter) instructions() ([]bpf.Instruction, error) {
	if len(f.Ports) > maxPorts {
		return nil, fmt.Errorf("at most %d ports can be filtered, got %d", maxPorts, len(f.Ports))
	}
	if len(f.Hosts) > maxHosts {
		return nil, fmt.Errorf("at most %d hosts can be filtered, got %d", maxHosts, len(f.Hosts))
	}
	var v4, v6 []netip.Addr
	for _, h := range f.Hosts {
		h = h.Unmap()
		if h.Is4() {
			v4 = append(v4, h)
		} else {
			v6 = append(v6, h)
		}
	}
	// Every section ends in its own returns: jump offsets are 8 bits.
	a := &asm{labels: map[string]int{}}
	if len(f.DropOutgoingOn) > 0 {
		a.add(bpf.LoadExtension{Num: bpf.ExtType})
		a.jeq(packetOutgoing, "", "ip")
		for _, idx := range f.DropOutgoingOn {
			if idx < 0 {
				a.jmp("outdrop")
				break
			}
			a.add(bpf.LoadExtension{Num: bpf.ExtInterfaceIndex})
			a.jeq(uint32(idx), "outdrop", "")
		}
		a.jmp("ip")
		a.label("outdrop")
		a.add(bpf.RetConstant{Val: 0})
	}
	a.label("ip")
	// The version nibble tells IPv4 from IPv6 (the frame starts at IP).
	a.add(bpf.LoadAbsolute{Off: 0, Size: 1})
	a.add(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
	a.jeq(0x40, "v4", "")
	a.jeq(0x60, "v6", "")
	a.add(bpf.RetConstant{Val: 0})

	a.label("v4")
	a.add(bpf.LoadAbsolute{Off: 9, Size: 1})
	a.jeq(6, "", "v4drop")
	if len(f.Hosts) > 0 {
		for _, off := range []uint32{12, 16} {
			a.add(bpf.LoadAbsolute{Off: off, Size: 4})
			for _, h := range v4 {
				b := h.As4()
				a.jeq(binary.BigEndian.Uint32(b[:]), "v4ports", "")
			}
		}
		a.jmp("v4drop")
	}
	a.label("v4ports")
	if len(f.Ports) > 0 {
		// Non-first fragments carry no TCP header.
		a.add(bpf.LoadAbsolute{Off: 6, Size: 2})
		a.jset(0x1fff, "v4accept", "")
		a.add(bpf.LoadMemShift{Off: 0})
		for _, off := range []uint32{0, 2} {
			a.add(bpf.LoadIndirect{Off: off, Size: 2})
			for _, p := range f.Ports {
				a.jeq(uint32(p), "v4accept", "")
			}
		}
		a.jmp("v4drop")
	}
	a.label("v4accept")
	a.add(accept)
	a.label("v4drop")
	a.add(bpf.RetConstant{Val: 0})

	a.label("v6")
	// Next header TCP, or a fragment header (then ports cannot be checked).
	a.add(bpf.LoadAbsolute{Off: 6, Size: 1})
	a.jeq(6, "v6hosts", "")
	a.jeq(44, "v6hosts", "v6drop")
	a.label("v6hosts")
	if len(f.Hosts) > 0 {
		for _, off := range []uint32{8, 24} {
			for i, h := range v6 {
				b := h.As16()
				next := fmt.Sprintf("v6h%d_%d", off, i)
				for w := 0; w < 4; w++ {
					a.add(bpf.LoadAbsolute{Off: off + uint32(4*w), Size: 4})
					if w < 3 {
						a.jeq(binary.BigEndian.Uint32(b[4*w:]), "", next)
					} else {
						a.jeq(binary.BigEndian.Uint32(b[4*w:]), "v6ports", next)
					}
				}
				a.label(next)
			}
		}
		a.jmp("v6drop")
	}
	a.label("v6ports")
	if len(f.Ports) > 0 {
		a.add(bpf.LoadAbsolute{Off: 6, Size: 1})
		a.jeq(44, "v6accept", "")
		for _, off := range []uint32{40, 42} {
			a.add(bpf.LoadAbsolute{Off: off, Size: 2})
			for _, p := range f.Ports {
				a.jeq(uint32(p), "v6accept", "")
			}
		}
		a.jmp("v6drop")
	}
	a.label("v6accept")
	a.add(accept)
	a.label("v6drop")
	a.add(bpf.RetConstant{Val: 0})
	return a.assemble()
}

// asm resolves symbolic jump targets into the relative skips classic BPF
// uses; "" as a target means the next instruction.
type asm struct {
	ins    []bpf.Instruction
	jumps  []pendingJump
	labels map[string]int
}

type pendingJump struct {
	at           int
	cond         bpf.JumpTest
	val          uint32
	taken, else_ string
	always       bool
}

func (a *asm) add(i bpf.Instruction) { a.ins = append(a.ins, i) }
func (a *asm) label(name string)     { a.labels[name] = len(a.ins) }

func (a *asm) jeq(val uint32, taken, elseTo string) {
	a.jumps = append(a.jumps, pendingJump{at: len(a.ins), cond: bpf.JumpEqual, val: val, taken: taken, else_: elseTo})
	a.ins = append(a.ins, nil)
}

func (a *asm) jset(val uint32, taken, elseTo string) {
	a.jumps = append(a.jumps, pendingJump{at: len(a.ins), cond: bpf.JumpBitsSet, val: val, taken: taken, else_: elseTo})
	a.ins = append(a.ins, nil)
}

func (a *asm) jmp(to string) {
	a.jumps = append(a.jumps, pendingJump{at: len(a.ins), taken: to, always: true})
	a.ins = append(a.ins, nil)
}

func (a *asm) skip(from int, to string) (int, error) {
	if to == "" {
		return 0, nil
	}
	pos, ok := a.labels[to]
	if !ok {
		return 0, fmt.Errorf("bpf: undefined label %q", to)
	}
	d := pos - from - 1
	if d < 0 {
		return 0, errors.New("bpf: backward jump")
	}
	return d, nil
}

func (a *asm) assemble() ([]bpf.Instruction, error) {
	for _, j := range a.jumps {
		t, err := a.skip(j.at, j.taken)
		if err != nil {
			return nil, err
		}
		if j.always {
			a.ins[j.at] = bpf.Jump{Skip: uint32(t)}
			continue
		}
		e, err := a.skip(j.at, j.else_)
		if err != nil {
			return nil, err
		}
		if t > 255 || e > 255 {
			return nil, errors.New("bpf: filter too long for 8-bit jumps (fewer ports or hosts)")
		}
		a.ins[j.at] = bpf.JumpIf{Cond: j.cond, Val: j.val, SkipTrue: uint8(t), SkipFalse: uint8(e)}
	}
	return a.ins, nil
}
