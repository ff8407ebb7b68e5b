package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// client is one connected user: it receives its room's messages (reported to delivered) and
// can send one.
type client interface {
	send(text, clientId string) error
	close()
}

// disconnects counts client connections that ended while the benchmark still used them.
var disconnects atomic.Int64

// connectAll opens one client per user with at most conc dials at once.
func connectAll(users []benchUser, conc int, dial func(benchUser) (client, error)) ([]client, error) {
	clients := make([]client, len(users))
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for i, u := range users {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var c client
			var err error
			for attempt := 0; attempt < 3; attempt++ {
				if c, err = dial(u); err == nil {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			clients[i] = c
		}()
		if firstErr.Load() != nil {
			break
		}
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return clients, err
	}
	return clients, nil
}

// textOf finds the "text" string of a message record in a frame or event without decoding it
// all (the bench's texts hold no escapes).
func textOf(data []byte) (string, bool) {
	i := bytes.Index(data, []byte(`"text":"`))
	if i < 0 {
		return "", false
	}
	rest := data[i+len(`"text":"`):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return string(rest[:j]), true
}

// -------------------------------------------------------------------
// the chat WebSocket

type wsClient struct {
	ws      *websocket.Conn
	room    string
	closing atomic.Bool
	wmu     sync.Mutex
}

func connectWS(base string, users []benchUser, conc int) ([]client, error) {
	url := "ws" + strings.TrimPrefix(base, "http") + "/api/chat/ws"
	return connectAll(users, conc, func(u benchUser) (client, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
			HTTPHeader: http.Header{"Authorization": []string{u.token}},
		})
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", url, err)
		}
		ws.SetReadLimit(1 << 20)
		_, data, err := ws.Read(ctx)
		if err != nil || !bytes.Contains(data, []byte(`"type":"ready"`)) {
			ws.CloseNow()
			return nil, fmt.Errorf("expected ready, got %q (%v)", data, err)
		}
		c := &wsClient{ws: ws, room: u.room}
		go c.read()
		return c, nil
	})
}

func (c *wsClient) read() {
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			if !c.closing.Load() {
				disconnects.Add(1)
			}
			return
		}
		now := time.Now()
		switch {
		case bytes.Contains(data, []byte(`"type":"message"`)):
			if text, ok := textOf(data); ok {
				delivered(text, now)
			}
		case bytes.Contains(data, []byte(`"type":"ack"`)):
			accepted()
		case bytes.Contains(data, []byte(`"type":"error"`)):
			refused(errors.New(string(data)))
		}
	}
}

func (c *wsClient) send(text, clientId string) error {
	frame := fmt.Sprintf(`{"type":"send","room":%q,"text":%q,"client_id":%q}`, c.room, text, clientId)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(ctx, websocket.MessageText, []byte(frame))
}

func (c *wsClient) close() {
	c.closing.Store(true)
	c.ws.CloseNow()
}

// -------------------------------------------------------------------
// PocketBase realtime (SSE) + records API

var (
	// sseHTTP holds the long-lived event streams
	sseHTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}}
	// apiHTTP sends the subscription and the records API creates
	apiHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}}
)

type sseClient struct {
	base    string
	token   string
	room    string
	body    io.ReadCloser
	cancel  context.CancelFunc
	closing atomic.Bool
}

func connectSSE(base string, users []benchUser, conc int) ([]client, error) {
	return connectAll(users, conc, func(u benchUser) (client, error) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/realtime", nil)
		resp, err := sseHTTP.Do(req)
		if err != nil {
			cancel()
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			drainBody(resp.Body)
			cancel()
			return nil, fmt.Errorf("GET /api/realtime: %s", resp.Status)
		}
		c := &sseClient{base: base, token: u.token, room: u.room, body: resp.Body, cancel: cancel}
		r := bufio.NewReaderSize(resp.Body, 4096)

		// the first event is PB_CONNECT with the client id
		event, data, err := readEvent(r)
		if err != nil || event != "PB_CONNECT" {
			c.close()
			return nil, fmt.Errorf("expected PB_CONNECT, got %q %q (%v)", event, data, err)
		}
		var connect struct {
			ClientId string `json:"clientId"`
		}
		if err := json.Unmarshal(data, &connect); err != nil || connect.ClientId == "" {
			c.close()
			return nil, fmt.Errorf("PB_CONNECT without a client id: %q", data)
		}

		// subscribe, authenticated as the user so that the list rule applies
		body, _ := json.Marshal(map[string]any{"clientId": connect.ClientId, "subscriptions": []string{"chat_messages"}})
		sreq, _ := http.NewRequest(http.MethodPost, base+"/api/realtime", bytes.NewReader(body))
		sreq.Header.Set("Content-Type", "application/json")
		sreq.Header.Set("Authorization", u.token)
		sresp, err := apiHTTP.Do(sreq)
		if err != nil {
			c.close()
			return nil, err
		}
		drainBody(sresp.Body)
		if sresp.StatusCode != http.StatusNoContent && sresp.StatusCode != http.StatusOK {
			c.close()
			return nil, fmt.Errorf("POST /api/realtime: %s", sresp.Status)
		}
		go c.read(r)
		return c, nil
	})
}

// readEvent reads one server-sent event.
func readEvent(r *bufio.Reader) (event string, data []byte, err error) {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return "", nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if event != "" || data != nil {
				return event, data, nil
			}
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			data = append(data, bytes.TrimSpace(line[len("data:"):])...)
		}
	}
}

func (c *sseClient) read(r *bufio.Reader) {
	for {
		event, data, err := readEvent(r)
		if err != nil {
			if !c.closing.Load() {
				disconnects.Add(1)
			}
			return
		}
		if event != "chat_messages" {
			continue
		}
		now := time.Now()
		if text, ok := textOf(data); ok {
			delivered(text, now)
		}
	}
}

func (c *sseClient) send(text, clientId string) error {
	body := fmt.Sprintf(`{"room":%q,"text":%q,"client_id":%q}`, c.room, text, clientId)
	req, _ := http.NewRequest(http.MethodPost, c.base+"/api/collections/chat_messages/records", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.token)
	resp, err := apiHTTP.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		return fmt.Errorf("records API create: %s %s", resp.Status, msg)
	}
	drainBody(resp.Body)
	accepted()
	return nil
}

func (c *sseClient) close() {
	c.closing.Store(true)
	c.cancel()
	c.body.Close()
}

// -------------------------------------------------------------------

// histogram counts latencies in buckets of a fixed width, without locks; the last bucket
// holds everything longer.
type histogram struct {
	bucket  time.Duration
	buckets []atomic.Int64
	maxNs   atomic.Int64
}

// newHistogram has 50 µs buckets up to 30 s.
func newHistogram() *histogram {
	return &histogram{bucket: 50 * time.Microsecond, buckets: make([]atomic.Int64, 30*20000+1)}
}

// newCoarseHistogram has 1 ms buckets up to 10 s (the per-window ones, of which a step has
// many).
func newCoarseHistogram() *histogram {
	return &histogram{bucket: time.Millisecond, buckets: make([]atomic.Int64, 10*1000+1)}
}

func (h *histogram) add(d time.Duration) {
	d = max(d, 0)
	i := min(int(d/h.bucket), len(h.buckets)-1)
	h.buckets[i].Add(1)
	for {
		m := h.maxNs.Load()
		if int64(d) <= m || h.maxNs.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// quantile returns the upper edge of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	var total int64
	for i := range h.buckets {
		total += h.buckets[i].Load()
	}
	if total == 0 {
		return 0
	}
	want := int64(q*float64(total) + 0.5)
	want = max(want, 1)
	var seen int64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= want {
			return time.Duration(i+1) * h.bucket
		}
	}
	return h.max()
}

func (h *histogram) max() time.Duration { return time.Duration(h.maxNs.Load()) }
