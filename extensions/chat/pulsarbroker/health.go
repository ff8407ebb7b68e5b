package pulsarbroker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar/backoff"
)

// quickCheck bounds the connect that failed makes on the caller's path: a stopped broker
// refuses at once, while a silent network is left to the probe so Publish does not overrun
// its context by much.
const quickCheck = 200 * time.Millisecond

// health remembers that Pulsar is unreachable, so that Publish fails at once during an outage
// instead of every call waiting out its timeout behind a producer that is reconnecting.
//
// It is a small circuit breaker driven by TCP: after a failed call, a connect to the broker
// addresses decides whether Pulsar is down (a slow or failing broker that still accepts
// connections is not "down": its calls keep being tried). While down, a probe reconnects
// until a broker accepts again; the client's producers and consumers reconnect on their own
// meanwhile.
type health struct {
	ctx     context.Context // ends the probe on Close
	addrs   []string
	timeout time.Duration

	mu      sync.Mutex
	down    error // non-nil while unreachable: ErrUnavailable wrapping the cause
	probing bool
}

func newHealth(ctx context.Context, addrs []string, timeout time.Duration) *health {
	return &health{ctx: ctx, addrs: addrs, timeout: timeout}
}

// err returns the outage error, or nil when Pulsar is not known to be down.
func (h *health) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down
}

// failed is told about a failed call. When no broker accepts a connection it marks Pulsar
// down, and a probe marks it up again.
func (h *health) failed(cause error) {
	if errors.Is(cause, context.Canceled) || h.ctx.Err() != nil {
		return // the caller gave up or the broker is closing: says nothing about Pulsar
	}

	h.mu.Lock()
	if h.probing {
		h.mu.Unlock()
		return
	}
	h.probing = true
	h.mu.Unlock()

	ctx, cancel := context.WithTimeout(h.ctx, quickCheck)
	reachable, decided := h.dial(ctx)
	cancel()

	if decided && reachable {
		h.mu.Lock()
		h.probing = false
		h.mu.Unlock()
		return
	}
	if decided {
		h.markDown(cause)
	}

	// note: not waited for by Close; it only dials and ends with h.ctx
	go h.probe(cause)
}

func (h *health) markDown(cause error) {
	h.mu.Lock()
	defer h.mu.Unlock()

	if h.down == nil {
		h.down = fmt.Errorf("%w: no broker of %s accepts connections (last error: %v)",
			ErrUnavailable, strings.Join(h.addrs, ","), cause)
	}
}

// probe connects with a growing pause (up to 2s) until a broker accepts, then clears the
// outage. The first attempt is immediate, with the full connection timeout.
func (h *health) probe(cause error) {
	pause := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
		reachable, _ := h.dial(ctx)
		cancel()

		if reachable {
			h.mu.Lock()
			h.down = nil
			h.probing = false
			h.mu.Unlock()
			return
		}
		if h.ctx.Err() != nil {
			return
		}
		h.markDown(cause)

		select {
		case <-h.ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// dial reports whether any broker address accepts a TCP connection. decided is false when ctx
// ended before every address answered.
func (h *health) dial(ctx context.Context) (reachable, decided bool) {
	var dialer net.Dialer
	for _, addr := range h.addrs {
		conn, err := dialer.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
			return true, true
		}
		if ctx.Err() != nil {
			return false, false
		}
	}
	return false, true
}

// serviceAddrs returns the host:port pairs of a Pulsar service URL
// ("pulsar://h1:6650,h2:6650", "pulsar+ssl://h:6651", "http://h:8080").
func serviceAddrs(serviceURL string) ([]string, error) {
	scheme, rest, ok := strings.Cut(serviceURL, "://")
	if !ok {
		return nil, fmt.Errorf("pulsarbroker: invalid service URL %q: no scheme", serviceURL)
	}

	var defaultPort string
	switch scheme {
	case "pulsar":
		defaultPort = "6650"
	case "pulsar+ssl":
		defaultPort = "6651"
	case "http":
		defaultPort = "80"
	case "https":
		defaultPort = "443"
	default:
		return nil, fmt.Errorf("pulsarbroker: invalid service URL %q: unknown scheme %q", serviceURL, scheme)
	}

	hosts, _, _ := strings.Cut(rest, "/")
	var addrs []string
	for _, host := range strings.Split(hosts, ",") {
		host = strings.TrimSpace(host)
		if host == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(host); err != nil {
			host = net.JoinHostPort(strings.Trim(host, "[]"), defaultPort)
		}
		addrs = append(addrs, host)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("pulsarbroker: invalid service URL %q: no host", serviceURL)
	}
	return addrs, nil
}

// -------------------------------------------------------------------

// reconnectBackoff is the client's reconnection policy: the client's own doubling from 100ms,
// with 20% jitter, but capped at Config.ReconnectMaxBackoff instead of a minute.
func (b *Broker) reconnectBackoff() backoff.Policy {
	return &cappedBackoff{max: b.cfg.ReconnectMaxBackoff}
}

// cappedBackoff implements backoff.Policy.
type cappedBackoff struct {
	max  time.Duration
	next time.Duration
}

// Next returns the pause before the next reconnection attempt.
func (p *cappedBackoff) Next() time.Duration {
	p.next = min(max(2*p.next, 100*time.Millisecond), p.max)
	return p.next + time.Duration(rand.Float64()*0.2*float64(p.next))
}

// IsMaxBackoffReached reports whether the pause stopped growing.
func (p *cappedBackoff) IsMaxBackoffReached() bool {
	return p.next >= p.max
}

// Reset starts over from the shortest pause, after a successful reconnect.
func (p *cappedBackoff) Reset() {
	p.next = 0
}
