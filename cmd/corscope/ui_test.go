package main

import (
	"testing"
	"time"

	"github.com/corscope/corscope/capture/live"
)

func TestCaptureStatusSaysRateAndDrops(t *testing.T) {
	prev := live.Progress{Elapsed: time.Second, Packets: 100}
	cur := live.Progress{Elapsed: 1500 * time.Millisecond, Packets: 717, KernelDrops: 3}
	pps, msg := captureStatus("lo", prev, cur)
	if pps != 1234 || msg != "capturing on lo: 1234 pkt/s, 3 dropped" {
		t.Errorf("status %v, %q; want 1234 and %q", pps, msg, "capturing on lo: 1234 pkt/s, 3 dropped")
	}
	// The first snapshot counts from the start of the capture.
	if pps, _ := captureStatus("lo", live.Progress{}, live.Progress{Elapsed: 2 * time.Second, Packets: 10}); pps != 5 {
		t.Errorf("first snapshot: %v pkt/s, want 5", pps)
	}
	cur.AnalysisPaused = true
	if _, msg := captureStatus("eth0", prev, cur); msg != "capturing on eth0: 1234 pkt/s, 3 dropped (periodic analysis paused: findings update at the end)" {
		t.Errorf("paused: %q", msg)
	}
	fin := live.Progress{Elapsed: 9 * time.Second, Packets: 900, KernelDrops: 3, Final: true}
	if pps, msg := captureStatus("lo", cur, fin); pps != 0 || msg != "capture on lo ended: 900 packets, 3 dropped" {
		t.Errorf("final: %v, %q", pps, msg)
	}
}
