package live

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/corscope/corscope/capture/packet"
)

func runFilter(t testing.TB, f Filter, pkt []byte) bool {
	t.Helper()
	ins, err := f.instructions()
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("program rejected: %v", err)
	}
	n, err := vm.Run(pkt)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return n > 0
}

func tcpPacket(src, dst string) []byte {
	return packet.AppendIPTCP(nil, netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst), 1, 1, packet.FlagACK, []byte("GET / HTTP/1.1\r\n\r\n"))
}

func TestFilterSelectsByPortAndHost(t *testing.T) {
	v4 := tcpPacket("10.0.0.1:51000", "10.0.0.2:8080")
	v4back := tcpPacket("10.0.0.2:8080", "10.0.0.1:51000")
	v6 := tcpPacket("[fd00::1]:51000", "[fd00::2]:8080")
	udp := slices.Clone(v4)
	udp[9] = 17
	frag := slices.Clone(v4)
	binary.BigEndian.PutUint16(frag[6:], 100) // a later fragment: no TCP header
	tests := []struct {
		name   string
		filter Filter
		pkt    []byte
		want   bool
	}{
		{"no filter keeps IPv4 TCP", Filter{}, v4, true},
		{"no filter keeps IPv6 TCP", Filter{}, v6, true},
		{"UDP is never kept", Filter{}, udp, false},
		{"non-IP is never kept", Filter{}, []byte{0x00, 1, 2, 3}, false},
		{"destination port matches", Filter{Ports: []uint16{8080}}, v4, true},
		{"source port matches (the answer)", Filter{Ports: []uint16{8080}}, v4back, true},
		{"another port does not", Filter{Ports: []uint16{443, 80}}, v4, false},
		{"IPv6 port matches", Filter{Ports: []uint16{80, 8080}}, v6, true},
		{"IPv6 other port", Filter{Ports: []uint16{80}}, v6, false},
		{"later fragment passes the port filter", Filter{Ports: []uint16{80}}, frag, true},
		{"source host matches", Filter{Hosts: []netip.Addr{netip.MustParseAddr("10.0.0.1")}}, v4, true},
		{"destination host matches", Filter{Hosts: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}, v4, true},
		{"other host", Filter{Hosts: []netip.Addr{netip.MustParseAddr("10.0.0.3")}}, v4, false},
		{"only IPv6 hosts: IPv4 dropped", Filter{Hosts: []netip.Addr{netip.MustParseAddr("fd00::2")}}, v4, false},
		{"IPv6 host matches", Filter{Hosts: []netip.Addr{netip.MustParseAddr("fd00::9"), netip.MustParseAddr("fd00::2")}}, v6, true},
		{"IPv6 host differs in the last word", Filter{Hosts: []netip.Addr{netip.MustParseAddr("fd00::3")}}, v6, false},
		{"host and port both needed", Filter{Hosts: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Ports: []uint16{9}}, v4, false},
		{"host and port both match", Filter{Hosts: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Ports: []uint16{9, 8080}}, v4, true},
		{"mapped IPv4 host", Filter{Hosts: []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.2")}}, v4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runFilter(t, tt.filter, tt.pkt); got != tt.want {
				t.Fatalf("kept = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFilterLimitsAndLoopbackPrelude(t *testing.T) {
	var f Filter
	for i := range maxPorts {
		f.Ports = append(f.Ports, uint16(1000+i))
	}
	for i := range maxHosts {
		f.Hosts = append(f.Hosts, netip.AddrFrom16([16]byte{0xfd, 15: byte(i + 1)}))
	}
	f.DropOutgoingOn = []int{1, 7}
	prog, err := f.Compile()
	if err != nil {
		t.Fatalf("largest filter does not assemble: %v", err)
	}
	// The loopback prelude reads the packet type and interface index.
	ins, _ := f.instructions()
	var exts []bpf.Extension
	for _, i := range ins {
		if le, ok := i.(bpf.LoadExtension); ok {
			exts = append(exts, le.Num)
		}
	}
	if !slices.Equal(exts, []bpf.Extension{bpf.ExtType, bpf.ExtInterfaceIndex, bpf.ExtInterfaceIndex}) {
		t.Fatalf("prelude loads %v", exts)
	}
	if len(prog) == 0 {
		t.Fatal("empty program")
	}
	f.Ports = append(f.Ports, 1)
	if _, err := f.Compile(); err == nil {
		t.Fatal("too many ports accepted")
	}
}

// keeps is the filter's meaning written plainly, for the fuzz comparison.
func keeps(f Filter, p []byte) bool {
	if len(p) < 1 {
		return false
	}
	hostOK := func(src, dst netip.Addr) bool {
		if len(f.Hosts) == 0 {
			return true
		}
		for _, h := range f.Hosts {
			if h.Unmap() == src || h.Unmap() == dst {
				return true
			}
		}
		return false
	}
	portOK := func(sp, dp uint16) bool {
		if len(f.Ports) == 0 {
			return true
		}
		return slices.Contains(f.Ports, sp) || slices.Contains(f.Ports, dp)
	}
	switch p[0] & 0xf0 {
	case 0x40:
		if len(p) < 20 || p[9] != 6 {
			return false
		}
		src, _ := netip.AddrFromSlice(p[12:16])
		dst, _ := netip.AddrFromSlice(p[16:20])
		if !hostOK(src, dst) {
			return false
		}
		if len(f.Ports) == 0 || binary.BigEndian.Uint16(p[6:])&0x1fff != 0 {
			return true
		}
		ihl := int(p[0]&0xf) * 4
		if len(p) < ihl+4 {
			return false
		}
		return portOK(binary.BigEndian.Uint16(p[ihl:]), binary.BigEndian.Uint16(p[ihl+2:]))
	case 0x60:
		if len(p) < 7 || (p[6] != 6 && p[6] != 44) {
			return false
		}
		if len(f.Hosts) > 0 {
			if len(p) < 40 {
				return false
			}
			src, _ := netip.AddrFromSlice(p[8:24])
			dst, _ := netip.AddrFromSlice(p[24:40])
			if !hostOK(src, dst) {
				return false
			}
		}
		if len(f.Ports) == 0 || p[6] == 44 {
			return true
		}
		if len(p) < 44 {
			return false
		}
		return portOK(binary.BigEndian.Uint16(p[40:]), binary.BigEndian.Uint16(p[42:]))
	}
	return false
}

func FuzzFilter(f *testing.F) {
	f.Add(tcpPacket("10.0.0.1:51000", "10.0.0.2:8080"), uint16(8080), []byte{10, 0, 0, 2})
	f.Add(tcpPacket("[fd00::1]:51000", "[fd00::2]:8080"), uint16(80), []byte{0xfd, 15: 2})
	f.Add([]byte{0x45}, uint16(0), []byte{})
	long := append(tcpPacket("10.0.0.1:51000", "10.0.0.2:8080"), make([]byte, 40)...)
	long[0] = 0x4f // 60-byte IPv4 header: the ports sit further in
	f.Add(long, uint16(8080), []byte{10, 0, 0, 1})
	f.Fuzz(func(t *testing.T, pkt []byte, port uint16, host []byte) {
		var flt Filter
		if port != 0 {
			flt.Ports = []uint16{port, 443}
		}
		if a, ok := netip.AddrFromSlice(host); ok {
			flt.Hosts = []netip.Addr{a}
		}
		got := runFilter(t, flt, pkt)
		if len(pkt) < 64 {
			// Shorter packets end the program at the first load past
			// their end (a drop), which the plain reading does not model.
			return
		}
		if want := keeps(flt, pkt); got != want {
			t.Fatalf("filter %+v on % x: kernel program keeps=%v, plain reading keeps=%v", flt, pkt, got, want)
		}
	})
}

func BenchmarkFilterVM(b *testing.B) {
	f := Filter{Ports: []uint16{80, 443, 8080}, Hosts: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}
	ins, _ := f.instructions()
	vm, _ := bpf.NewVM(ins)
	p := tcpPacket("10.0.0.1:51000", "10.0.0.2:8080")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if n, _ := vm.Run(p); n == 0 {
			b.Fatal("dropped")
		}
	}
}
