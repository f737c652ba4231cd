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
			fmt.Fprintf(stderr, "corscope: internal error: %v\nThis is a bug in corscope %s; please report it with the command line and, if you can, the input.\n%s",
				r, version, debug.Stack())
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
			fmt.Fprintln(stderr, "corscope:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "corscope:", err)
	return exitUsage
}
