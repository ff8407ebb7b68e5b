//go:build integration

package chatintegration_test

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"
)

// Outage test sizes: senders × perSender messages, paced over sendSpan, with the broker
// stopped outageAfter into the run and started again at once (stop ~7 s, warm start ~15 s).
const (
	outageSenders   = 4
	outagePerSender = 75 // 300 messages in all
	outageSendSpan  = 30 * time.Second
	outageAfter     = 3 * time.Second
	// an ack waits only for the database commit (publishing is queued per room off the send's
	// path); the bound is loose because Pulsar's restart takes most of the 2 cores, but well
	// under chat.Config.PublishTimeout, so a send blocked on the broker fails it
	maxAckWait = 4 * time.Second
)

// TestPulsarOutageWhileSending stops the real Pulsar broker (scripts/pulsar.sh; only with
// TANGERINE_PULSAR_FAULT=1) while clients on two processes keep sending to one room, and starts
// it again. Afterwards: every send was acked in bounded time (the publish failure neither
// blocks nor loses the ack: the message is in the database); every acked message reached each
// receiver live or is returned by sync; nothing is duplicated, by message id or by client_id,
// neither live nor in sync; and live delivery resumes without reconnecting.
func TestPulsarOutageWhileSending(t *testing.T) {
	pulsarURL(t)
	if os.Getenv("TANGERINE_PULSAR_FAULT") != "1" {
		t.Skip("set TANGERINE_PULSAR_FAULT=1 to stop and restart the broker with scripts/pulsar.sh")
	}
	servers := startServers(t, 2)
	a, b := servers[0], servers[1]
	before := serverErrors.Load()
	t.Cleanup(func() { t.Logf("API calls that answered 5xx: %d", serverErrors.Load()-before) })

	var senders []user
	for i := range outageSenders {
		senders = append(senders, signUp(t, servers[i%2], fmt.Sprintf("sender_%d", i)))
	}
	recvA := signUp(t, a, "recv_a")
	recvB := signUp(t, b, "recv_b")
	room := createRoom(t, b, senders[0], append(slices.Clone(senders[1:]), recvA, recvB)...)

	receivers := []*receiver{newReceiver(dial(t, a, recvA)), newReceiver(dial(t, b, recvB))}
	senderConns := make([]*wsClient, len(senders))
	for i, u := range senders {
		senderConns[i] = dial(t, servers[i%2], u)
	}

	acks := &ackLog{ids: map[string]string{}}
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range senderConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			interval := outageSendSpan / outagePerSender
			for n := range outagePerSender {
				time.Sleep(time.Until(start.Add(time.Duration(n) * interval)))
				cid := fmt.Sprintf("s%d-%03d", i, n)
				if err := acks.send(c, room, cid, "outage "+cid); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}

	time.Sleep(outageAfter)
	pulsarScript(t, "stop")
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			pulsarScript(t, "start")
		}
	})
	stoppedAt := time.Since(start)
	t.Logf("Pulsar stopped at %s", time.Now().Format("15:04:05.000"))
	pulsarScript(t, "start")
	restarted = true
	t.Logf("Pulsar started at %s", time.Now().Format("15:04:05.000"))
	t.Logf("Pulsar down from %s to %s into the run", stoppedAt.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d messages acked in %s; slowest ack %s", len(acks.ids), time.Since(start).Round(time.Millisecond), acks.slowest)
	if acks.slowest > maxAckWait {
		t.Errorf("Expected every ack within %s while the broker was away, the slowest took %s", maxAckWait, acks.slowest)
	}

	// live delivery resumes by itself: a message sent now, on B, reaches both receivers live
	// (on A through Pulsar) on their open connections. The first publishes after the restart
	// may still meet producers that are reconnecting, so probe once a second, for a minute.
	resumed := time.Now()
	for n := 0; ; n++ {
		cid := fmt.Sprintf("probe-%03d", n)
		if err := acks.send(senderConns[1], room, cid, "after the restart "+cid); err != nil {
			t.Fatal(err)
		}
		id := acks.id(cid)
		if receivers[0].waitFor(id, time.Second) && receivers[1].waitFor(id, 5*time.Second) {
			t.Logf("live delivery resumed %s after the restart (probe %d)", time.Since(resumed).Round(time.Millisecond), n)
			break
		}
		if time.Since(resumed) > time.Minute {
			t.Fatalf("Expected live delivery to resume within a minute of the restart; probe %s not delivered live", cid)
		}
	}

	for _, r := range receivers {
		r.stop(3 * time.Second) // until quiet, so that no late live frame is taken for sync output
		live := r.messages()
		synced := r.sync(t)

		checkUnique(t, r.c.name+" live", live)
		checkUnique(t, r.c.name+" sync", synced)

		liveIds := map[string]bool{}
		for _, m := range live {
			liveIds[m.id] = true
		}
		syncIds := map[string]string{} // client_id -> id
		for _, m := range synced {
			syncIds[m.cid] = m.id
		}
		onlySync := 0
		for cid, id := range acks.snapshot() {
			if syncIds[cid] != id {
				t.Errorf("%s: sync returns %q for client_id %s, the ack said %q", r.c.name, syncIds[cid], cid, id)
			}
			if !liveIds[id] {
				onlySync++
			}
		}
		if len(synced) != len(acks.ids) {
			t.Errorf("%s: sync returned %d messages, %d were acked", r.c.name, len(synced), len(acks.ids))
		}
		t.Logf("%s: %d acked, %d delivered live, %d recovered only by sync", r.c.name, len(acks.ids), len(live), onlySync)
	}
}

// sent is one message as a receiver saw it.
type sent struct{ id, cid string }

// checkUnique fails when a message id or a client_id appears twice in msgs.
func checkUnique(t *testing.T, what string, msgs []sent) {
	t.Helper()
	ids, cids := map[string]int{}, map[string]int{}
	for _, m := range msgs {
		ids[m.id]++
		cids[m.cid]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("%s: message %s received %d times", what, id, n)
		}
	}
	for cid, n := range cids {
		if n > 1 {
			t.Errorf("%s: client_id %s received %d times", what, cid, n)
		}
	}
}

// ackLog records the message id of every acked client_id.
type ackLog struct {
	mu      sync.Mutex
	ids     map[string]string
	slowest time.Duration
}

// send sends one message and waits for its ack; an error frame or no answer within 20 s
// sends the same client_id again (the server must not store it twice), up to 5 times.
func (l *ackLog) send(c *wsClient, room, cid, text string) error {
	for attempt := 1; attempt <= 5; attempt++ {
		t0 := time.Now()
		if err := c.trySend(map[string]any{"type": "send", "room": room, "text": text, "client_id": cid}); err != nil {
			return err
		}
		deadline := time.After(20 * time.Second)
	wait:
		for {
			select {
			case f := <-c.frames:
				switch {
				case f.str("type") == "ack" && f.str("client_id") == cid:
					took := time.Since(t0)
					if took > time.Second {
						c.t.Logf("%s: slow ack of %s: %s (sent at %s)", c.name, cid, took.Round(time.Millisecond), t0.Format("15:04:05.000"))
					}
					l.mu.Lock()
					l.ids[cid] = f.msg().str("id")
					l.slowest = max(l.slowest, took)
					l.mu.Unlock()
					return nil
				case f.str("type") == "error" && f.str("ref") == cid:
					c.t.Logf("%s: send %s attempt %d: error %s: %s", c.name, cid, attempt, f.str("code"), f.str("message"))
					time.Sleep(500 * time.Millisecond)
					break wait
				}
			case <-c.closed:
				return fmt.Errorf("%s: connection closed while sending %s: %v", c.name, cid, c.err)
			case <-deadline:
				c.t.Logf("%s: send %s attempt %d: no ack in 20 s", c.name, cid, attempt)
				break wait
			}
		}
	}
	return fmt.Errorf("%s: %s not acked after 5 attempts", c.name, cid)
}

func (l *ackLog) id(cid string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ids[cid]
}

func (l *ackLog) snapshot() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.ids))
	for k, v := range l.ids {
		out[k] = v
	}
	return out
}

// receiver collects the live message frames of a connection until stop.
type receiver struct {
	c *wsClient

	mu      sync.Mutex
	live    []sent
	changed chan struct{} // closed and replaced on each new message
	quit    chan time.Duration
	done    chan struct{}
}

func newReceiver(c *wsClient) *receiver {
	r := &receiver{c: c, changed: make(chan struct{}), quit: make(chan time.Duration), done: make(chan struct{})}
	go r.run()
	return r
}

func (r *receiver) run() {
	defer close(r.done)
	var quiet <-chan time.Time
	var quietFor time.Duration
	for {
		select {
		case d := <-r.quit:
			quietFor = d
			quiet = time.After(d)
		case <-quiet:
			return
		case <-r.c.closed:
			return
		case f := <-r.c.frames:
			if f.str("type") != "message" {
				continue
			}
			m := f.msg()
			r.mu.Lock()
			r.live = append(r.live, sent{id: m.str("id"), cid: m.str("client_id")})
			close(r.changed)
			r.changed = make(chan struct{})
			r.mu.Unlock()
			if quiet != nil {
				quiet = time.After(quietFor)
			}
		}
	}
}

// waitFor reports whether message id arrives live within timeout.
func (r *receiver) waitFor(id string, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		for _, m := range r.live {
			if m.id == id {
				r.mu.Unlock()
				return true
			}
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			return false
		}
	}
}

// stop ends the collection once no message arrived for quiet.
func (r *receiver) stop(quiet time.Duration) {
	r.quit <- quiet
	<-r.done
}

func (r *receiver) messages() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.live)
}

// sync sends a sync frame with no since (the room is new, so that is all of its messages)
// and returns the messages up to synced.
func (r *receiver) sync(t *testing.T) []sent {
	t.Helper()
	r.c.t = t
	r.c.send(map[string]any{"type": "sync", "since": ""})
	var out []sent
	for {
		f := r.c.expect(30*time.Second, func(f frame) bool {
			return f.str("type") == "message" || f.str("type") == "synced" || f.str("type") == "error"
		})
		switch f.str("type") {
		case "synced":
			return out
		case "error":
			t.Fatalf("%s: sync failed: %v", r.c.name, f)
		}
		out = append(out, sent{id: f.msg().str("id"), cid: f.msg().str("client_id")})
	}
}

// pulsarScript runs scripts/pulsar.sh with the given command from the repository root.
func pulsarScript(t *testing.T, command string) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("bash", "scripts/pulsar.sh", command)
	cmd.Dir = repoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/pulsar.sh %s failed: %v\n%s", command, err, out)
	}
	t.Logf("scripts/pulsar.sh %s (%s): %s", command, time.Since(start).Round(time.Millisecond), out)
}
