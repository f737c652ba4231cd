//go:build unix

package http1

import (
	"syscall"
	"time"
)

// processCPU is the process's user+system CPU time: on a shared, loaded
// machine it tracks the work done better than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
