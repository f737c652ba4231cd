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
	n        int
	progress func()
}

func (s *writerSink) Exchange(ex *storage.Exchange) {
	s.w.Exchange(ex)
	s.n++
	if s.n%1024 == 0 {
		s.progress()
	}
}

func (s *writerSink) Connection(c *storage.Connection) { s.w.Connection(c) }

func ingestCapture(ctx context.Context, r io.Reader, path string, opts Options, w *storage.Writer, in *storage.Input,
	res *Result, progress func()) error {
	copts := capture.Options{}
	copts.HTTP.MaxBody = opts.MaxBody
	stats, err := capture.Read(ctx, r, path, copts, &writerSink{w: w, progress: progress})
	if stats.Format != "" {
		in.Format = stats.Format
	}
	in.Packets = stats.Packets
	in.Connections = stats.Connections
	in.Warnings = append(in.Warnings, stats.Warnings...)
	if len(stats.Counters) > 0 {
		in.Stats = stats.Counters
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
