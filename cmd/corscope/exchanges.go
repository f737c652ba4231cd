package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/corscope/corscope/storage"
)

func newExchangesCmd(g *globalFlags) *cobra.Command {
	var format, filterExpr string
	var limit int
	cmd := &cobra.Command{
		Use:   "exchanges [flags]",
		Short: "List stored exchanges",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "" {
				format = "table"
			}
			if err := checkFormat(format, "table", "json", "ndjson"); err != nil {
				return err
			}
			st, err := openStore(g)
			if err != nil {
				return err
			}
			defer st.Close()
			q, match, err := compileFilter(cmd.Context(), st, filterExpr)
			if err != nil {
				return err
			}
			return listExchanges(cmd.Context(), st, cmd.OutOrStdout(), format, q, match, limit)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "table, json or ndjson")
	cmd.Flags().StringVar(&filterExpr, "filter", "", "filter expression, e.g. '~m OPTIONS & ~origin evil'")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many exchanges (0: all)")
	return cmd
}

// exchangeRecord is the stable JSON shape of spec/cli.md.
type exchangeRecord struct {
	ID                int64       `json:"id"`
	Input             string      `json:"input"`
	Started           string      `json:"started"`
	Client            string      `json:"client"`
	Server            string      `json:"server"`
	TLS               bool        `json:"tls"`
	Proto             string      `json:"proto"`
	Method            string      `json:"method"`
	URL               string      `json:"url"`
	Status            int         `json:"status"`
	RequestHeaders    [][2]string `json:"request_headers"`
	ResponseHeaders   [][2]string `json:"response_headers"`
	RequestBodyBytes  int64       `json:"request_body_bytes"`
	ResponseBodyBytes int64       `json:"response_body_bytes"`
	Preflight         int64       `json:"preflight,omitempty"`
	Actual            []int64     `json:"actual,omitempty"`
	Warnings          []string    `json:"warnings"`
}

func headerPairs(h storage.Headers) [][2]string {
	out := make([][2]string, len(h))
	for i, f := range h {
		out[i] = [2]string{f.Name, f.Value}
	}
	return out
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func listExchanges(ctx context.Context, st *storage.Store, out io.Writer, format string, q storage.Query,
	match func(*storage.Exchange) bool, limit int) error {
	inputs, err := st.Inputs(ctx)
	if err != nil {
		return err
	}
	inputPath := map[int64]string{}
	for _, in := range inputs {
		inputPath[in.ID] = in.Path
	}
	actuals, err := st.ActualsAll(ctx)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(out, 1<<16)
	defer bw.Flush()
	var tw *tabwriter.Writer
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	first := true
	switch format {
	case "table":
		tw = tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTARTED\tCLIENT\tMETHOD\tURL\tSTATUS\tORIGIN\tACAO\tACAC\tPAIR")
	case "json":
		bw.WriteString("[")
	}
	n := 0
	err = st.Exchanges(ctx, q, func(ex *storage.Exchange) error {
		if match != nil && !match(ex) {
			return nil
		}
		if limit > 0 && n >= limit {
			return errStop
		}
		n++
		switch format {
		case "table":
			pair := ""
			if ex.PreflightID != 0 {
				pair = "↳" + strconv.FormatInt(ex.PreflightID, 10)
			} else if ex.IsPreflight() {
				pair = "P"
				if a := actuals[ex.ID]; len(a) > 0 {
					pair += "→" + strconv.FormatInt(a[0], 10)
				}
			}
			status := strconv.Itoa(ex.Status)
			if ex.Status == 0 {
				status = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ex.ID, ex.Started.UTC().Format("15:04:05.000"),
				terminalSafe(ex.Client, 40), terminalSafe(ex.Method, 10), terminalSafe(ex.URL(), 80), status,
				terminalSafe(ex.Origin(), 40), terminalSafe(ex.ResponseHeaders.Value("Access-Control-Allow-Origin"), 40),
				terminalSafe(ex.ResponseHeaders.Value("Access-Control-Allow-Credentials"), 8), pair)
		default:
			rec := exchangeRecord{ID: ex.ID, Input: inputPath[ex.InputID], Started: formatTime(ex.Started),
				Client: ex.Client, Server: ex.Server, TLS: ex.TLS, Proto: ex.Proto, Method: ex.Method, URL: ex.URL(),
				Status: ex.Status, RequestHeaders: headerPairs(ex.RequestHeaders),
				ResponseHeaders: headerPairs(ex.ResponseHeaders), RequestBodyBytes: ex.RequestBodySize,
				ResponseBodyBytes: ex.ResponseBodySize, Preflight: ex.PreflightID, Actual: actuals[ex.ID],
				Warnings: ex.Warnings}
			if rec.Warnings == nil {
				rec.Warnings = []string{}
			}
			if format == "json" && !first {
				bw.WriteString(",")
			}
			first = false
			return enc.Encode(rec)
		}
		return nil
	})
	if err != nil && err != errStop {
		return err
	}
	switch format {
	case "table":
		return tw.Flush()
	case "json":
		bw.WriteString("]\n")
	}
	return nil
}
