package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/corscope/corscope/har"
	"github.com/corscope/corscope/storage"
)

func newExportCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Write stored exchanges in other formats"}
	var output, filterExpr string
	harCmd := &cobra.Command{
		Use:   "har [-o FILE]",
		Short: "Write the stored exchanges (from any source) as a HAR 1.2 file that browsers' devtools open",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(g)
			if err != nil {
				return err
			}
			defer st.Close()
			q, match, err := compileFilter(cmd.Context(), st, filterExpr)
			if err != nil {
				return err
			}
			return writeOutput(output, cmd.OutOrStdout(), func(w io.Writer, _ bool) error {
				return exportHAR(cmd.Context(), st, w, q, match)
			})
		},
	}
	harCmd.Flags().StringVarP(&output, "output", "o", "-", "HAR file to write (- for stdout)")
	harCmd.Flags().StringVar(&filterExpr, "filter", "", "export only exchanges matching this filter expression")
	cmd.AddCommand(harCmd)
	return cmd
}

// exportHAR pages through the selected exchanges with their bodies, a
// chunk at a time, so memory stays bounded on large databases.
func exportHAR(ctx context.Context, st *storage.Store, out io.Writer, q storage.Query, match func(*storage.Exchange) bool) error {
	ids, err := st.ExchangeIDs(ctx, q)
	if err != nil {
		return err
	}
	actuals, err := st.ActualsAll(ctx)
	if err != nil {
		return err
	}
	const chunk = 256
	var buf []*storage.Exchange
	pos := 0
	next := func() (*storage.Exchange, error) {
		for {
			if len(buf) == 0 {
				if pos >= len(ids) {
					return nil, io.EOF
				}
				end := min(pos+chunk, len(ids))
				var err error
				if buf, err = st.ExchangesByID(ctx, ids[pos:end], true); err != nil {
					return nil, err
				}
				pos = end
				continue
			}
			ex := buf[0]
			buf = buf[1:]
			if match == nil || match(ex) {
				return ex, nil
			}
		}
	}
	return har.Write(out, har.Creator{Name: "corscope", Version: version}, next,
		har.WithActuals(func(preflightID int64) (int64, bool) {
			a := actuals[preflightID]
			if len(a) == 0 {
				return 0, false
			}
			return a[0], true
		}))
}
