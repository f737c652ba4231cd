// Command corscope is a passive CORS traffic analyzer: it rebuilds HTTP
// exchanges from captures and HAR files, stores them in SQLite and reports
// risky cross-origin patterns.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// Exit codes of the CLI contract (spec/cli.md).
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
	exitPartial  = 3
	exitBug      = 70
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error { return &exitError{code: code, err: err} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			// Never a stack trace on the terminal: it goes to a private file
			// that the one-line message names, for the bug report.
			where := "(could not write the stack trace)"
			if f, err := os.CreateTemp("", "corscope-crash-*.txt"); err == nil {
				fmt.Fprintf(f, "corscope %s: %v\nargs: %q\n\n%s", version, r, args, debug.Stack())
				f.Close()
				where = f.Name()
			}
			fmt.Fprintf(stderr, "corscope: internal error (a bug in corscope %s): %v; details in %s, please report them\n",
				version, oneLine(fmt.Sprint(r)), where)
			code = exitBug
		}
	}()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, "corscope:", terminalSafe(ee.err.Error(), 0))
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "corscope:", terminalSafe(err.Error(), 0))
	return exitUsage
}

// oneLine keeps the first line of s, for messages that must stay one line.
func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
