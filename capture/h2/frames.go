package h2

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/storage"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// block is a header block being decoded (HEADERS or PUSH_PROMISE and their
// CONTINUATIONs).
type block struct {
	streamID  uint32
	promised  uint32 // PUSH_PROMISE: the promised stream
	endStream bool
	start     pos
	fields    storage.Headers
	size      int
	capped    string // the cap warning, when fields were dropped
	dropped   int    // fields dropped after the count cap
	failed    error
	cause     string // why the block could not be decoded, when a limit was
}

// newBlock reuses the half's block struct; the field list is new each time
// because the exchange keeps it.
func (h *half) newBlock(b block) *block {
	h.blkMem = b
	h.blkMem.fields = make(storage.Headers, 0, 16)
	return &h.blkMem
}

// onField receives decoded fields; it always runs so the table stays in step.
func (h *half) onField(f hpack.HeaderField) {
	b := h.blk
	if b == nil {
		return
	}
	if b.capped != "" {
		b.dropped++
		return
	}
	b.size += len(f.Name) + len(f.Value) + 32
	switch {
	case b.size > h.p.opts.MaxHeaderBytes:
		b.capped = http1.WarnHeaderBytesCap
	case len(b.fields) >= h.p.opts.MaxHeaders:
		b.capped = WarnTooManyHeaders
		b.dropped++
	default:
		b.fields = append(b.fields, storage.Header{Name: f.Name, Value: f.Value})
	}
}

func (h *half) writeBlock(frag []byte) {
	b := h.blk
	if b.failed != nil {
		return
	}
	if _, err := h.dec.Write(frag); err != nil {
		b.failed = err
	}
}

// frame handles one whole frame (header included).
func (h *half) frame(fh http2.FrameHeader, raw []byte, start, end pos) {
	h.p.stats.Frames++
	h.rd.Reset(raw)
	f, err := h.fr.ReadFrame()
	if err != nil {
		h.p.connWarn(fmt.Sprintf("malformed %s frame from %s: %v", fh.Type, h.name(), err))
		h.skippedFrame(fh, start, end, true)
		return
	}
	if h.blk != nil {
		if c, ok := f.(*http2.ContinuationFrame); ok && c.StreamID == h.blk.streamID {
			h.writeBlock(c.HeaderBlockFragment())
			if c.HeadersEnded() {
				h.endBlock()
			}
			return
		}
		h.abortBlock(WarnHeaderBlockCut, true)
	}
	switch f := f.(type) {
	case *http2.DataFrame:
		h.data(f.StreamID, f.Data(), f.StreamEnded(), end)
	case *http2.HeadersFrame:
		h.blk = h.newBlock(block{streamID: f.StreamID, endStream: f.StreamEnded(), start: start})
		h.writeBlock(f.HeaderBlockFragment())
		if f.HeadersEnded() {
			h.endBlock()
		}
	case *http2.PushPromiseFrame:
		h.blk = h.newBlock(block{streamID: f.StreamID, promised: f.PromiseID, start: start})
		h.writeBlock(f.HeaderBlockFragment())
		if f.HeadersEnded() {
			h.endBlock()
		}
	case *http2.ContinuationFrame:
		// Its HEADERS is not in the capture, yet the peer's decoder
		// processed the block: the table may have changed.
		h.poison(WarnHPACKUnknownGap)
	case *http2.RSTStreamFrame:
		if st := h.p.streams[f.StreamID]; st != nil {
			st.ex.AddWarning(fmt.Sprintf("stream reset by %s (%s)", h.name(), f.ErrCode))
			st.reset = true
			h.p.touch(st, h.dir, end)
			h.p.finish(st, end.time)
		}
	case *http2.SettingsFrame:
		if !f.IsAck() {
			_ = f.ForeachSetting(func(s http2.Setting) error {
				h.p.applySetting(h.dir, s)
				return nil
			})
		}
	case *http2.GoAwayFrame:
		h.p.connWarn(fmt.Sprintf("GOAWAY from %s: %s, last stream %d", h.name(), f.ErrCode, f.LastStreamID))
		for _, st := range h.p.streams {
			// Streams the GOAWAY's receiver opened above the last one
			// processed were never acted upon.
			if st.id > f.LastStreamID && (st.id&1 == 1) == (h.dir == http1.ServerToClient) {
				st.ex.AddWarning(WarnNotProcessed)
			}
		}
	}
}

// skippedFrame applies what a frame header alone says about a frame whose
// payload was not parsed (oversized, malformed or damaged by a gap).
func (h *half) skippedFrame(fh http2.FrameHeader, start, end pos, damaged bool) {
	damaged = damaged || h.skipDamaged
	cause := h.skipCause
	if damaged && h.cause != "" {
		cause = h.cause
	}
	h.skipDamaged, h.skipCause = false, ""
	switch fh.Type {
	case http2.FrameData:
		if st := h.p.streams[fh.StreamID]; st != nil {
			b := &st.body[h.dir&1]
			b.size += int64(fh.Length)
			b.lost = true
			if damaged {
				if h.dir == http1.ClientToServer {
					st.ex.AddWarning(http1.WarnReqBodyGap)
				} else {
					st.ex.AddWarning(http1.WarnRespBodyGap)
				}
				if cause != "" {
					st.ex.AddWarning(cause)
				}
			} else {
				st.ex.AddWarning("DATA frame over the buffer cap skipped")
			}
			h.p.touch(st, h.dir, end)
			if fh.Flags.Has(http2.FlagDataEndStream) {
				h.p.endSide(st, h.dir, end)
			}
		}
	case http2.FrameHeaders, http2.FramePushPromise, http2.FrameContinuation:
		if h.blk != nil {
			h.abortBlock(WarnHPACKUnknownGap, true)
		}
		h.poison(WarnHPACKUnknownGap)
		if fh.Type == http2.FrameHeaders && fh.Flags.Has(http2.FlagHeadersEndStream) {
			if st := h.p.streams[fh.StreamID]; st != nil {
				h.p.endSide(st, h.dir, end)
			}
		}
	}
}

// abortBlock gives up on the block in progress; the decoder may be
// mid-representation, so its context is lost too.
func (h *half) abortBlock(warn string, poison bool) {
	b := h.blk
	h.blk = nil
	if st := h.p.streams[b.streamID]; st != nil {
		st.ex.AddWarning(warn)
		if h.cause != "" {
			st.ex.AddWarning(h.cause)
		}
	}
	if poison {
		h.poison(WarnHPACKUnknownError)
	}
}

func (h *half) endBlock() {
	b := h.blk
	h.blk = nil
	if b.failed == nil {
		b.failed = h.dec.Close()
	}
	if b.capped == WarnTooManyHeaders {
		b.capped = fmt.Sprintf("%s%d skipped: %d", WarnTooManyHeaders, h.p.opts.MaxHeaders, b.dropped)
	}
	warn := ""
	if b.failed != nil {
		h.p.stats.HeaderBlocksFailed++
		capWarn := h.capFailure(b.failed)
		warn, b.cause = h.unknown, h.unknownCause
		switch {
		case capWarn != "":
			h.p.stats.HeaderBlocksOverCap++
			warn, b.cause = capWarn, ""
			h.p.connWarn(capWarn)
		case warn == "":
			warn = WarnHPACKFailed + " (" + b.failed.Error() + ")"
			h.p.connWarn(warn)
		}
		// Fields decoded before the error are right; after it the table
		// is out of step with the encoder's.
		first := h.unknown == ""
		h.poison(WarnHPACKUnknownError)
		if first && capWarn != "" {
			h.unknownCause = WarnCapEarlierPrefix + capWarn
		}
	}
	if b.promised != 0 {
		h.p.pushed(h, b, warn)
		return
	}
	if h.dir == http1.ClientToServer {
		h.p.requestBlock(h, b, warn)
	} else {
		h.p.responseBlock(h, b, warn)
	}
}

// capFailure names the cap that made a header block fail, or "".
func (h *half) capFailure(err error) string {
	switch {
	case errors.Is(err, hpack.ErrStringLength):
		return fmt.Sprintf(WarnFieldCapFmt, h.p.opts.MaxHeaderBytes)
	case h.tableClamped && strings.Contains(err.Error(), "dynamic table size update too large"):
		// x/net/http2/hpack has no sentinel for this one.
		return fmt.Sprintf(WarnTableCapFmt, h.p.opts.MaxTableSize)
	}
	return ""
}

func (p *Parser) applySetting(from http1.Dir, s http2.Setting) {
	peer := &p.half[1-from&1] // the settings bound what the peer sends
	switch s.ID {
	case http2.SettingHeaderTableSize:
		peer.tableLimit = max(s.Val, defaultTableSize)
		if peer.tableLimit > uint32(p.opts.MaxTableSize) {
			peer.tableLimit, peer.tableClamped = uint32(p.opts.MaxTableSize), true
		}
		peer.dec.SetAllowedMaxDynamicTableSize(peer.tableLimit)
	case http2.SettingMaxFrameSize:
		if s.Val >= defaultFrameSize && s.Val <= maxFrameSizeLimit {
			peer.maxFrame = s.Val
		}
	}
}

func decodeBase64URL(v string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(v), "="))
}
