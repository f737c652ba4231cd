package fixtureserver

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzReadWSFrame feeds arbitrary client bytes to the frame reader: it must
// return an error or a frame within the payload cap, never panic or over-allocate.
func FuzzReadWSFrame(f *testing.F) {
	f.Add(maskedFrame(wsOpText, "hello"))
	f.Add(maskedFrame(wsOpClose, "\x03\xe8"))
	f.Add([]byte{0x81, 0xFE, 0x00, 0x05, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'})
	f.Add([]byte{0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 3, 9, 9, 9, 9, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i < 8; i++ {
			op, payload, err := readWSFrame(r)
			if err != nil {
				return
			}
			if op > 0x0F || len(payload) > maxWSPayload {
				t.Fatalf("op %d, %d payload bytes", op, len(payload))
			}
		}
	})
}
