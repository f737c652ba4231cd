// Command lossylink joins two TUN devices and forwards IP packets between
// them with random loss, reordering and duplication, so that the recording
// script can put an impaired link between real kernel TCP endpoints (the
// kernel here has no netem). Linux only; needs CAP_NET_ADMIN.
//
//	lossylink -a cs-tuna -b cs-tunb -loss 0.03 -reorder 0.10 -dup 0.01 -seed 1
//
// It creates both devices, prints "ready" on stdout and forwards until
// SIGINT/SIGTERM, then prints what it did. The caller moves the devices into
// network namespaces and gives them addresses.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	nameA := flag.String("a", "cs-tuna", "first TUN device to create")
	nameB := flag.String("b", "cs-tunb", "second TUN device to create")
	loss := flag.Float64("loss", 0.03, "probability that a packet is dropped")
	reorder := flag.Float64("reorder", 0.10, "probability that a packet is held back behind the next one")
	dup := flag.Float64("dup", 0.01, "probability that a packet is sent twice")
	hold := flag.Duration("hold", 20*time.Millisecond, "longest time a reordered packet waits for a successor")
	seed := flag.Uint64("seed", 1, "random seed (the same seed gives the same decisions for the same packet order)")
	flag.Parse()

	a, err := openTUN(*nameA)
	if err != nil {
		log.Fatalf("lossylink: %s: %v", *nameA, err)
	}
	b, err := openTUN(*nameB)
	if err != nil {
		log.Fatalf("lossylink: %s: %v", *nameB, err)
	}
	imp := impairment{loss: *loss, reorder: *reorder, dup: *dup, hold: *hold}
	ab := newLink(a, b, imp, rand.New(rand.NewPCG(*seed, 1)))
	ba := newLink(b, a, imp, rand.New(rand.NewPCG(*seed, 2)))
	go ab.run()
	go ba.run()
	fmt.Println("ready")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	fmt.Printf("%s->%s %s\n%s->%s %s\n", *nameA, *nameB, ab.stats(), *nameB, *nameA, ba.stats())
}

type impairment struct {
	loss, reorder, dup float64
	hold               time.Duration
}

// openTUN creates a TUN device without packet information headers: each
// read is one IP packet.
func openTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// link forwards one direction. A held (reordered) packet goes out right
// after the next packet, or when the hold timer fires.
type link struct {
	in, out *os.File
	imp     impairment
	rng     *rand.Rand

	mu    sync.Mutex
	held  []byte
	timer *time.Timer

	forwarded, dropped, reordered, duplicated atomic.Int64
}

func newLink(in, out *os.File, imp impairment, rng *rand.Rand) *link {
	return &link{in: in, out: out, imp: imp, rng: rng}
}

func (l *link) run() {
	buf := make([]byte, 65535)
	for {
		n, err := l.in.Read(buf)
		if err != nil {
			return
		}
		pkt := append([]byte(nil), buf[:n]...)
		l.mu.Lock()
		switch r := l.rng.Float64(); {
		case r < l.imp.loss:
			l.dropped.Add(1)
		case r < l.imp.loss+l.imp.reorder && l.held == nil:
			l.reordered.Add(1)
			l.held = pkt
			l.timer = time.AfterFunc(l.imp.hold, l.flushHeld)
		default:
			l.write(pkt)
			if l.rng.Float64() < l.imp.dup {
				l.duplicated.Add(1)
				l.write(pkt)
			}
			if l.held != nil {
				l.timer.Stop()
				l.write(l.held)
				l.held = nil
			}
		}
		l.mu.Unlock()
	}
}

func (l *link) flushHeld() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held != nil {
		l.write(l.held)
		l.held = nil
	}
}

// write must be called with l.mu held, so packets leave in decision order.
func (l *link) write(pkt []byte) {
	if _, err := l.out.Write(pkt); err == nil {
		l.forwarded.Add(1)
	}
}

func (l *link) stats() string {
	return fmt.Sprintf("forwarded=%d dropped=%d reordered=%d duplicated=%d",
		l.forwarded.Load(), l.dropped.Load(), l.reordered.Load(), l.duplicated.Load())
}
