package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
)

// printReport writes the markdown tables for docs/BENCHMARKS.md.
func printReport(w io.Writer, report []targetReport, o options, cmdLine string) {
	names := map[string]string{
		"ws-memory": "chat WebSocket, in-process broker",
		"ws-pulsar": "chat WebSocket, Pulsar broker",
		"sse":       "PocketBase realtime SSE + records API",
	}
	fmt.Fprintf(w, "\n## Chat: %d clients in rooms of %d, %d msg/s for %s (loopback, %d cores)\n\n", o.clients, o.roomSize, o.rate, o.duration, runtime.NumCPU())
	fmt.Fprintf(w, "Command: `%s`\n\n", cmdLine)
	fmt.Fprintln(w, "| target | clients | offered msg/s | accepted msg/s | deliveries/s | p50 | p99 | max | lost | server CPU (cores) | server RSS under load | RSS idle (before clients) | RSS per idle connection | marginal (second half) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range report {
		m := r.main
		fmt.Fprintf(w, "| %s | %d | %d | %.0f | %.0f | %s | %s | %s | %s | %.2f | %s | %s (%s) | %.1f KiB | %.1f KiB |\n",
			names[r.target], r.conns, m.rate, m.achieved, m.deliveriesPerSec, ms(m.p50), ms(m.p99), ms(m.maxLat),
			lostCell(m), m.cpu, mib(m.rss), mib(r.rssIdle), mib(r.rssBase), r.perIdleConn()/1024, r.marginalPerIdleConn()/1024)
	}

	searched := false
	for _, r := range report {
		searched = searched || len(r.steps) > 0
	}
	if searched {
		fmt.Fprintf(w, "\nRate search (%s per step; a rate passes with nothing lost, every send accepted and p99 ≤ %s):\n\n", o.stepDuration, o.p99Max)
		fmt.Fprintln(w, "| target | msg/s | deliveries/s | p50 | p99 | lost | server CPU (cores) | result |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|")
		for _, r := range report {
			for _, s := range r.steps {
				res := "pass"
				if !s.pass {
					res = "**fail**"
					if s.firstErr != "" {
						res += ": " + strings.ReplaceAll(truncate(s.firstErr, 80), "|", "/")
					}
				}
				fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %s | %.2f | %s |\n", r.target, s.rate, s.deliveriesPerSec, ms(s.p50), ms(s.p99), lostCell(s), s.cpu, res)
			}
		}
		fmt.Fprintln(w)
		rates := map[string]int{}
		for _, r := range report {
			if len(r.steps) == 0 {
				continue
			}
			best, ok := r.sustainable()
			rates[r.target] = best
			top := r.steps[len(r.steps)-1]
			if !ok {
				fmt.Fprintf(w, "- %s: no rate tried was sustainable (lowest tried: %d msg/s)\n", names[r.target], r.steps[0].rate)
				continue
			}
			note := ""
			if top.pass {
				note = " (the highest rate tried; the real limit is higher)"
			}
			fmt.Fprintf(w, "- %s: sustainable rate %d msg/s = %d deliveries/s%s\n", names[r.target], best, best*o.roomSize, note)
		}
		if ws, sse := rates["ws-memory"], rates["sse"]; ws > 0 && sse > 0 {
			fmt.Fprintf(w, "- in-process WebSocket / SSE baseline sustainable rate: %.0f×\n", float64(ws)/float64(sse))
		}
	}
	for _, r := range report {
		if r.target != "sse" && r.perIdleConn() > 0 {
			capacity := float64(int64(2<<30)-r.rssBase) / r.perIdleConn()
			fmt.Fprintf(w, "- %s: %d idle connections measured, %.1f KiB each (the second half added %.1f KiB each); extrapolated, one process holds about %.0f idle connections within 2 GiB\n",
				names[r.target], r.conns, r.perIdleConn()/1024, r.marginalPerIdleConn()/1024, capacity)
		}
	}
	for _, r := range report {
		m := r.main
		line := fmt.Sprintf("- %s at %d msg/s: CPU of the server %.2f cores, of the clients (this program) %.2f", names[r.target], m.rate, m.cpu, m.clientCPU)
		if m.brokerCPU >= 0 {
			line += fmt.Sprintf(", of the Pulsar broker %.2f", m.brokerCPU)
		}
		fmt.Fprintf(w, "%s, of %d cores\n", line, runtime.NumCPU())
	}
	fmt.Fprintf(w, "- disconnects during the run: %d; the clients run on the same machine and share its %d cores with the server\n", disconnects.Load(), runtime.NumCPU())
}

func lostCell(s stepResult) string {
	c := fmt.Sprint(s.lost)
	if s.skipped > 0 || s.errors > 0 {
		c += fmt.Sprintf(" (sends skipped %d, refused %d)", s.skipped, s.errors)
	}
	return c
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
