// Command genbomb writes testdata/hostile/gzip-bomb.pcap: one HTTP/1.1
// exchange whose ~1 MB gzip response body inflates to 1 GiB of zeros.
//
//	go run ./scripts/genbomb -o testdata/hostile/gzip-bomb.pcap [-inflated 1GiB]
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/corscope/corscope/capture/packet"
	"github.com/corscope/corscope/capture/pcapio"
)

func main() {
	out := flag.String("o", "testdata/hostile/gzip-bomb.pcap", "output pcap")
	inflated := flag.Int64("inflated", 1<<30, "bytes the body inflates to")
	flag.Parse()
	if err := write(*out, *inflated); err != nil {
		fmt.Fprintln(os.Stderr, "genbomb:", err)
		os.Exit(1)
	}
}

func write(path string, inflated int64) error {
	var body bytes.Buffer
	zw, err := gzip.NewWriterLevel(&body, gzip.BestCompression)
	if err != nil {
		return err
	}
	zeros := make([]byte, 1<<20)
	for left := inflated; left > 0; left -= int64(len(zeros)) {
		if _, err := zw.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := writePcap(bw, body.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	st, _ := f.Stat()
	fmt.Fprintf(os.Stderr, "genbomb: %s: %d bytes, gzip body %d bytes inflating to %d\n", path, st.Size(), body.Len(), inflated)
	return f.Close()
}

// writePcap writes a real handshake, the request, the response in MSS-sized
// segments with exact seq/ack, and the close.
func writePcap(out io.Writer, gz []byte) error {
	w, err := pcapio.NewWriter(out, packet.LinkEthernet, 65535)
	if err != nil {
		return err
	}
	client := netip.MustParseAddrPort("10.0.0.2:40000")
	server := netip.MustParseAddrPort("10.0.0.9:80")
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var frame []byte
	var werr error
	emit := func(src, dst netip.AddrPort, seq, ack uint32, flags uint8, payload []byte) {
		t = t.Add(50 * time.Microsecond)
		frame = packet.AppendEthernetTCP(frame[:0], src, dst, seq, ack, flags, payload)
		if werr == nil {
			werr = w.WritePacket(t, frame, 0)
		}
	}
	cs, ss := uint32(1000), uint32(90000)
	emit(client, server, cs, 0, packet.FlagSYN, nil)
	emit(server, client, ss, cs+1, packet.FlagSYN|packet.FlagACK, nil)
	cs, ss = cs+1, ss+1
	emit(client, server, cs, ss, packet.FlagACK, nil)
	req := "GET /bomb HTTP/1.1\r\nHost: bomb.example\r\nOrigin: https://evil.example\r\nAccept-Encoding: gzip\r\n\r\n"
	emit(client, server, cs, ss, packet.FlagACK|packet.FlagPSH, []byte(req))
	cs += uint32(len(req))
	resp := append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"+
		"Access-Control-Allow-Origin: https://evil.example\r\nAccess-Control-Allow-Credentials: true\r\nContent-Length: %d\r\n\r\n", len(gz))), gz...)
	for off := 0; off < len(resp); off += 1448 {
		seg := resp[off:min(off+1448, len(resp))]
		emit(server, client, ss, cs, packet.FlagACK|packet.FlagPSH, seg)
		ss += uint32(len(seg))
		if (off/1448)%2 == 1 {
			emit(client, server, cs, ss, packet.FlagACK, nil)
		}
	}
	emit(client, server, cs, ss, packet.FlagFIN|packet.FlagACK, nil)
	emit(server, client, ss, cs+1, packet.FlagFIN|packet.FlagACK, nil)
	emit(client, server, cs+1, ss+1, packet.FlagACK, nil)
	return werr
}
