// Package ingest turns input files (HAR, pcap, pcapng; gzip-compressed
// captures; standard input) into stored exchanges: it recognises the format
// by content, runs the right reader and feeds the store's batched writer.
package ingest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sync/atomic"

	"github.com/corscope/corscope/capture/pcapio"
	"github.com/corscope/corscope/har"
	"github.com/corscope/corscope/internal/redact"
	"github.com/corscope/corscope/storage"
)

// Options tune one ingest. Zero limits take the readers' defaults.
type Options struct {
	MaxBody  int64    // stored body cap; default 1 MiB
	NoBodies bool     // keep sizes only
	Keylogs  []string // NSS key log files for TLS captures
	Limits   Limits
	// Redactor, when set, replaces secrets in every exchange before it is
	// stored (see internal/redact).
	Redactor *redact.Redactor
	// Progress, when set, is called from the ingesting goroutine now and
	// then with the bytes read so far, the input's size (0 when unknown)
	// and the exchanges stored so far.
	Progress func(read, total, exchanges int64)
}

// Result describes one ingested input.
type Result struct {
	Input   storage.Input
	Skipped bool // the same content was ingested before: nothing was done
	Linked  int  // preflights linked to their actual request at ingest
	// Unlinked counts preflights left without an actual request, by reason.
	Unlinked map[string]int
}

// Error is an ingest failure. Partial means the input was read in part and
// everything before the fault was kept (exit code 3); otherwise nothing
// usable was read (exit code 2).
type Error struct {
	Path    string
	Partial bool
	Err     error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrUnknownFormat reports an input that is neither a capture nor a HAR.
var ErrUnknownFormat = errors.New("not a pcap, pcapng or HAR file")

// File ingests the file at path ("-" reads standard input) into st.
func File(ctx context.Context, st *storage.Store, path string, opts Options) (*Result, error) {
	if opts.MaxBody == 0 {
		opts.MaxBody = 1 << 20
	}
	var (
		r      io.Reader
		size   int64
		sum    string
		hasher hash.Hash
	)
	if path == "-" {
		r = os.Stdin
		hasher = sha256.New()
		r = io.TeeReader(r, hasher)
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, &Error{Path: path, Err: errors.Unwrap(err)}
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return nil, &Error{Path: path, Err: withoutPath(err)}
		}
		if fi.IsDir() {
			return nil, &Error{Path: path, Err: errors.New("is a directory")}
		}
		size = fi.Size()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return nil, &Error{Path: path, Err: withoutPath(err)}
		}
		sum = hex.EncodeToString(h.Sum(nil))
		if prev, err := st.FindInput(ctx, sum); err != nil {
			return nil, &Error{Path: path, Err: err}
		} else if prev != nil {
			return &Result{Input: *prev, Skipped: true}, nil
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, &Error{Path: path, Err: err}
		}
		r = f
	}
	counter := &countingReader{r: r}
	br := bufio.NewReaderSize(counter, 1<<16)
	head, _ := br.Peek(512)
	if len(head) == 0 {
		return nil, &Error{Path: path, Err: errors.New("empty input")}
	}
	format := ""
	if f, ok := pcapio.Sniff(head); ok {
		format = f
		if f == "gzip" {
			format = storage.FormatPCAP // refined by the capture reader
		}
	} else if har.Sniff(head) {
		format = storage.FormatHAR
	} else {
		return nil, &Error{Path: path, Err: ErrUnknownFormat}
	}

	in := storage.Input{Path: path, Format: format, SHA256: sum, Size: size}
	if err := st.BeginInput(ctx, &in); err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	w, err := st.NewWriter(in.ID, storage.WriterOptions{NoBodies: opts.NoBodies, Bulk: true})
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	res := &Result{}
	prep := NewPreparer(opts)
	progress := func() {
		if opts.Progress != nil {
			opts.Progress(counter.n.Load(), size, w.Count())
		}
	}
	var readErr error
	switch format {
	case storage.FormatHAR:
		readErr = ingestHAR(ctx, br, path, opts, w, &in, res, prep, progress)
	default:
		readErr = ingestCapture(ctx, br, path, opts, w, &in, res, prep, progress)
	}
	prep.Finish(&in)
	werr := w.Close()
	progress()
	if werr != nil {
		return nil, &Error{Path: path, Err: werr}
	}
	if hasher != nil {
		io.Copy(io.Discard, br) // hash all of stdin even if the reader stopped early
		in.SHA256 = hex.EncodeToString(hasher.Sum(nil))
		in.Size = counter.n.Load()
		if prev, err := st.FindInput(ctx, in.SHA256); err == nil && prev != nil {
			st.DeleteInput(ctx, in.ID)
			return &Result{Input: *prev, Skipped: true}, nil
		}
	}
	in.Exchanges = w.Count()
	partial := false
	if readErr != nil {
		var ie *Error
		if errors.As(readErr, &ie) && !ie.Partial && in.Exchanges == 0 {
			st.DeleteInput(ctx, in.ID)
			return nil, readErr
		}
		partial = true
		in.Warnings = append(in.Warnings, readErr.Error())
	}
	if err := st.FinishInput(ctx, &in); err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	res.Input = in
	if partial {
		var ie *Error
		if errors.As(readErr, &ie) {
			ie.Partial = true
			return res, ie
		}
		return res, &Error{Path: path, Partial: true, Err: readErr}
	}
	return res, nil
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func ingestHAR(ctx context.Context, r io.Reader, path string, opts Options, w *storage.Writer, in *storage.Input,
	res *Result, prep *Preparer, progress func()) error {
	linker := har.NewLinker()
	n := 0
	sum, err := har.Read(r, opts.Limits.HAROptions(path, opts.MaxBody), func(ex *storage.Exchange) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		prep.Exchange(ex)
		w.Exchange(ex)
		linker.Observe(ex)
		n++
		if n%512 == 0 {
			progress()
		}
		return nil
	})
	for _, p := range linker.Links() {
		w.Link(p)
		res.Linked++
	}
	res.Unlinked = linker.Unlinked()
	in.Warnings = append(in.Warnings, sum.Warnings...)
	if sum.Skipped > 0 {
		// Entries over --max-har-entry (or not objects) have no exchange to
		// carry a warning: the count and the summary warnings say where.
		if in.Stats == nil {
			in.Stats = map[string]int64{}
		}
		in.Stats[CounterHAREntriesSkipped] += int64(sum.Skipped)
	}
	for reason, count := range res.Unlinked {
		in.Warnings = append(in.Warnings, fmt.Sprintf("%d preflight(s) not linked: %s", count, reason))
	}
	if err != nil {
		var he *har.Error
		if errors.As(err, &he) {
			// har.Error already names the file, entry and offset.
			return &Error{Path: path, Partial: he.Partial, Err: errors.New(trimPathPrefix(he.Error(), path))}
		}
		return &Error{Path: path, Partial: n > 0, Err: err}
	}
	return nil
}

// withoutPath drops the file name an *fs.PathError repeats ("read x: EIO"
// becomes "read: EIO"): Error already starts with the path.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

func trimPathPrefix(msg, path string) string {
	if len(msg) > len(path)+2 && msg[:len(path)+2] == path+": " {
		return msg[len(path)+2:]
	}
	return msg
}
