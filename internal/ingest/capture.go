package ingest

import (
	"context"
	"errors"
	"io"

	"github.com/corscope/corscope/capture"
	"github.com/corscope/corscope/storage"
)

// writerSink hands what the capture pipeline rebuilds to the store writer.
type writerSink struct {
	w        *storage.Writer
	prep     *Preparer
	n        int
	progress func()
}

func (s *writerSink) Exchange(ex *storage.Exchange) {
	s.prep.Exchange(ex)
	s.w.Exchange(ex)
	s.n++
	if s.n%1024 == 0 {
		s.progress()
	}
}

func (s *writerSink) Connection(c *storage.Connection) { s.w.Connection(c) }

func ingestCapture(ctx context.Context, r io.Reader, path string, opts Options, w *storage.Writer, in *storage.Input,
	res *Result, prep *Preparer, progress func()) error {
	copts := opts.Limits.CaptureOptions(opts.MaxBody)
	copts.Keylogs = opts.Keylogs
	stats, err := capture.Read(ctx, r, path, copts, &writerSink{w: w, prep: prep, progress: progress})
	if stats.Format != "" {
		in.Format = stats.Format
	}
	in.Packets = stats.Packets
	in.Connections = stats.Connections
	in.Warnings = append(in.Warnings, stats.Warnings...)
	for k, v := range stats.Counters {
		if in.Stats == nil {
			in.Stats = map[string]int64{}
		}
		in.Stats[k] += v
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &Error{Path: path, Partial: capture.IsPartial(err) || (!capture.IsNotCapture(err) && stats.Packets > 0),
		Err: errors.New(trimPathPrefix(err.Error(), path))}
}
