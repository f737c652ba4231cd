package capture

import (
	"fmt"
	"strings"
	"time"

	"github.com/corscope/corscope/capture/h2"
	"github.com/corscope/corscope/capture/http1"
	"github.com/corscope/corscope/capture/tcpasm"
	"github.com/corscope/corscope/storage"
)

// Warnings on the exchanges a reassembly limit cut short. The analyzer and
// tests match on these formats (or on the prefixes below).
const (
	// WarnEvictedFmt takes the --max-connections cap and a WarnOutcome*.
	WarnEvictedFmt = "connection evicted at the %d-connection cap (--max-connections): %s"
	// WarnIdleClosedFmt takes the --idle-timeout and a WarnOutcome*.
	WarnIdleClosedFmt = "connection closed by the %s idle timeout (--idle-timeout): %s"
	// WarnBufferCapPerConnFmt takes the bytes skipped and the cap.
	WarnBufferCapPerConnFmt = "%d bytes skipped at the per-connection reassembly buffer cap of %d bytes (--max-buffered-per-conn)"
	// WarnBufferCapTotalFmt takes the bytes skipped and the cap.
	WarnBufferCapTotalFmt = "%d bytes skipped at the total reassembly buffer cap of %d bytes (--max-buffered-total)"

	// WarnEarlyPerConnFmt and WarnEarlyTotalFmt take the cap: bytes were
	// handed over before the other direction's bytes they answer.
	WarnEarlyPerConnFmt = "bytes handed over before those they answer at the per-connection reassembly buffer cap of %d bytes (--max-buffered-per-conn): pairing may be off"
	WarnEarlyTotalFmt   = "bytes handed over before those they answer at the total reassembly buffer cap of %d bytes (--max-buffered-total): pairing may be off"

	// WarnResumedEvictedFmt and WarnResumedIdleFmt mark an exchange cut
	// off at its start on a connection that continues one a limit closed.
	WarnResumedEvictedFmt = "connection continued after its eviction at the %d-connection cap (--max-connections): start of this exchange cut off"
	WarnResumedIdleFmt    = "connection continued after its close by the %s idle timeout (--idle-timeout): start of this exchange cut off"

	WarnOutcomePartial = "response may be incomplete"
	WarnOutcomeLost    = "no response seen before the close"

	WarnEvictedPrefix    = "connection evicted at the "
	WarnIdleClosedPrefix = "connection closed by the "
	WarnResumedPrefix    = "connection continued after its "
	warnBufferCapMarker  = " reassembly buffer cap of "
)

// Counters of exchanges flagged because a limit cut them (Stats.Counters).
const (
	CounterExchangesEvicted    = "limits.exchanges_evicted"
	CounterExchangesIdleClosed = "limits.exchanges_idle_closed"
	CounterExchangesBufferCap  = "limits.exchanges_buffer_cap"
)

// limitCounters tally the exchanges the reassembly limits cut.
type limitCounters struct {
	evicted, idleClosed, bufferCap int64
}

func (c *limitCounters) addTo(m map[string]int64) {
	m[CounterExchangesEvicted] = c.evicted
	m[CounterExchangesIdleClosed] = c.idleClosed
	m[CounterExchangesBufferCap] = c.bufferCap
}

// flagLimits puts the closing limit on an exchange emitted while its
// connection is being evicted or idle-closed (it was still pending), and
// counts the exchanges the limits cut.
func (s *connStream) flagLimits(e *storage.Exchange) {
	in := s.info
	if in.ClosedBy == tcpasm.NoLimit && in.ResumedAfter == tcpasm.NoLimit && !s.capGaps && len(in.EarlyReleases) == 0 {
		return
	}
	outcome := WarnOutcomePartial
	if e.Status == 0 {
		outcome = WarnOutcomeLost
	}
	opt := s.pl.asm.Options()
	evicted, idle := false, false
	switch in.ClosedBy {
	case tcpasm.LimitConnections:
		e.AddWarning(fmt.Sprintf(WarnEvictedFmt, opt.MaxConnections, outcome))
		evicted = true
	case tcpasm.LimitIdle:
		e.AddWarning(fmt.Sprintf(WarnIdleClosedFmt, opt.IdleTimeout, outcome))
		idle = true
	}
	if by := in.ResumedAfter; by != tcpasm.NoLimit && cutAtStart(e) {
		if by == tcpasm.LimitConnections {
			e.AddWarning(fmt.Sprintf(WarnResumedEvictedFmt, opt.MaxConnections))
			evicted = true
		} else {
			e.AddWarning(fmt.Sprintf(WarnResumedIdleFmt, opt.IdleTimeout))
			idle = true
		}
	}
	if evicted {
		s.pl.limits.evicted++
	}
	if idle {
		s.pl.limits.idleClosed++
	}
	if len(in.EarlyReleases) > 0 {
		if e.Proto == storage.ProtoHTTP2 {
			// Streams pair by id: only the stream whose frames came early.
			last := e.LastPacket
			if last < e.FirstPacket {
				last = s.pl.stats.Packets
			}
			for _, h := range in.EarlyReleases {
				if e.FirstPacket > 0 && h.Packet >= e.FirstPacket && h.Packet <= last {
					e.AddWarning(earlyWarning(h.By, opt))
				}
			}
		} else {
			// HTTP/1 pairs responses with requests in order: once a response
			// came before its request, every later pair may be shifted.
			e.AddWarning(earlyWarning(in.EarlyReleases[0].By, opt))
		}
	}
	if s.capGaps || len(in.EarlyReleases) > 0 {
		for _, w := range e.Warnings {
			if strings.Contains(w, warnBufferCapMarker) {
				s.pl.limits.bufferCap++
				break
			}
		}
	}
}

func earlyWarning(by tcpasm.Limit, opt tcpasm.Options) string {
	if by == tcpasm.LimitBufferTotal {
		return fmt.Sprintf(WarnEarlyTotalFmt, opt.MaxBufferedTotal)
	}
	return fmt.Sprintf(WarnEarlyPerConnFmt, opt.MaxBufferedPerConn)
}

// cutAtStart reports an exchange the parsers rebuilt without its start: a
// response without its request, bytes skipped to find a message, or header
// blocks against an HPACK context the capture does not hold.
func cutAtStart(e *storage.Exchange) bool {
	for _, w := range e.Warnings {
		if w == http1.WarnRequestMissing || w == h2.WarnHPACKUnknownStart || strings.HasPrefix(w, "resynchronised after skipping ") {
			return true
		}
	}
	return false
}

// limitGapCause says why a buffer cap skipped lost bytes.
func (s *connStream) limitGapCause(lost int, by tcpasm.Limit) string {
	opt := s.pl.asm.Options()
	if by == tcpasm.LimitBufferTotal {
		return fmt.Sprintf(WarnBufferCapTotalFmt, lost, opt.MaxBufferedTotal)
	}
	return fmt.Sprintf(WarnBufferCapPerConnFmt, lost, opt.MaxBufferedPerConn)
}

// LimitGap is a hole a reassembly buffer cap forced: the parsers handle it
// as a gap and put the cause on the exchanges it cuts.
func (s *connStream) LimitGap(dir tcpasm.Dir, lost int, t time.Time, by tcpasm.Limit) {
	s.capGaps = true
	cause := s.limitGapCause(lost, by)
	if !s.decided && dir == tcpasm.ServerToClient {
		s.early = append(s.early, earlyChunk{gap: lost, time: t, cause: cause})
		return
	}
	if s.tlsc != nil {
		s.gapTLS(dir, lost)
		s.tlsc.lostCause[dir&1] = cause
		return
	}
	s.gapApp(dir, lost, t, cause)
}

// gapApp hands a gap in application bytes to the parser; cause is set when
// a limit, not the capture, lost them.
func (s *connStream) gapApp(dir tcpasm.Dir, lost int, t time.Time, cause string) {
	if s.h2.p != nil {
		s.h2.p.LimitGap(http1.Dir(dir), lost, t, cause)
		return
	}
	if s.parser == nil {
		return
	}
	if _, up := s.parser.Upgraded(); up {
		return
	}
	s.parser.LimitGap(http1.Dir(dir), lost, t, cause)
}
