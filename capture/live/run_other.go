//go:build !linux

package live

import (
	"context"
	"errors"
)

// Run needs AF_PACKET, which only Linux has.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	return nil, errors.New("live capture needs Linux (AF_PACKET); on other systems record with tcpdump and use 'corscope ingest'")
}
