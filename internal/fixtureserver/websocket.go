package fixtureserver

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// websocketGUID is the fixed string of RFC 6455 section 1.3.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxWSPayload bounds one frame; the fixtures exchange a few short texts.
const maxWSPayload = 64 << 10

// websocket accepts the handshake from any Origin (the flaw), greets the
// client, echoes its text messages and answers its close.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if r.Method != http.MethodGet || !headerHasToken(r.Header, "Connection", "upgrade") ||
		!headerHasToken(r.Header, "Upgrade", "websocket") || r.Header.Get("Sec-WebSocket-Version") != "13" {
		http.Error(w, "websocket upgrade required", http.StatusBadRequest)
		return
	}
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		http.Error(w, "bad Sec-WebSocket-Key", http.StatusBadRequest)
		return
	}
	// HTTP/2 streams cannot be hijacked; the server does not offer extended
	// CONNECT, so browsers use HTTP/1.1 for WebSockets.
	hj, ok := w.(http.Hijacker)
	if !ok || r.ProtoMajor != 1 {
		http.Error(w, "websocket needs HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		http.Error(w, "websocket needs HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	}
	if !s.track(conn) {
		return
	}
	defer s.untrack(conn)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		websocketAccept(key))
	if err := writeWSFrame(brw.Writer, wsOpText, []byte("welcome")); err != nil {
		return
	}
	for {
		op, payload, err := readWSFrame(brw.Reader)
		if err != nil {
			return
		}
		switch op {
		case wsOpText, wsOpBinary:
			if writeWSFrame(brw.Writer, op, append([]byte("echo: "), payload...)) != nil {
				return
			}
		case wsOpPing:
			if writeWSFrame(brw.Writer, wsOpPong, payload) != nil {
				return
			}
		case wsOpClose:
			writeWSFrame(brw.Writer, wsOpClose, payload)
			return
		}
	}
}

func websocketAccept(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

const (
	wsOpText   = 0x1
	wsOpBinary = 0x2
	wsOpClose  = 0x8
	wsOpPing   = 0x9
	wsOpPong   = 0xA
)

// writeWSFrame writes one unfragmented, unmasked server frame and flushes.
func writeWSFrame(w *bufio.Writer, op byte, payload []byte) error {
	hdr := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, byte(n))
	case n <= 0xFFFF:
		hdr = append(hdr, 126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if _, err := w.Write(payload); err != nil {
		return err
	}
	return w.Flush()
}

// readWSFrame reads one client frame (which RFC 6455 requires to be masked)
// and returns it unmasked. Fragmented messages come back frame by frame.
func readWSFrame(r *bufio.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	op = h[0] & 0x0F
	if h[1]&0x80 == 0 {
		return 0, nil, errors.New("websocket: unmasked client frame")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > maxWSPayload {
		return 0, nil, fmt.Errorf("websocket: frame of %d bytes over the %d cap", n, maxWSPayload)
	}
	var mask [4]byte
	if _, err = io.ReadFull(r, mask[:]); err != nil {
		return 0, nil, err
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return op, payload, nil
}
