//go:build !unix

package http1

import "time"

func processCPU() time.Duration { return 0 }
