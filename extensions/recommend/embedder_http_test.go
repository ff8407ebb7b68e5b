package recommend_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/extensions/recommend"
)

// embeddingsServer answers like an OpenAI-compatible server: text i gets a vector whose
// first component is len(text) and second is 1, so tests can check order and normalisation.
// fail, when set, may answer instead (returning true).
func embeddingsServer(t *testing.T, dim int, fail func(w http.ResponseWriter, call int) bool) (*httptest.Server, *atomic.Int32, *atomic.Int32) {
	t.Helper()
	var calls, maxBatch atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := int(calls.Add(1))
		if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer secret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}`)
			return
		}
		if fail != nil && fail(w, call) {
			return
		}
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "test-model" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if n := int32(len(req.Input)); n > maxBatch.Load() {
			maxBatch.Store(n)
		}
		type datum struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		data := make([]datum, len(req.Input))
		// answer in reverse order: clients must use "index", not position
		for i, text := range req.Input {
			if text == "" {
				http.Error(w, "empty input", http.StatusBadRequest)
				return
			}
			v := make([]float32, dim)
			v[0], v[1] = float32(len(text)), 1
			data[len(req.Input)-1-i] = datum{Object: "embedding", Index: i, Embedding: v}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": req.Model, "data": data})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls, &maxBatch
}

func newHttpEmbedder(t *testing.T, url string, dim int, mod func(*recommend.HttpEmbedderConfig)) *recommend.HttpEmbedder {
	t.Helper()
	cfg := recommend.HttpEmbedderConfig{
		URL: url, Model: "test-model", Dim: dim, APIKey: "secret",
		MaxBatch: 3, Timeout: 2 * time.Second, MaxRetries: 3,
		Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	e, err := recommend.NewHttpEmbedder(cfg)
	if err != nil {
		t.Fatalf("NewHttpEmbedder failed: %v", err)
	}
	return e
}

func TestHttpEmbedderBatchesAndOrders(t *testing.T) {
	t.Parallel()
	srv, calls, maxBatch := embeddingsServer(t, 8, nil)
	e := newHttpEmbedder(t, srv.URL, 8, nil)
	texts := []string{"a", "bb", "", "cccc", "ddddd", "  ", "eeeeee", "fffffff"}
	vecs, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("Embed failed: %v", err)
	}
	if calls.Load() != 2 || maxBatch.Load() != 3 {
		t.Fatalf("Expected 6 non-empty texts in 2 requests of at most 3, got %d requests, max batch %d", calls.Load(), maxBatch.Load())
	}
	for i, text := range texts {
		v := vecs[i]
		if len(v) != 8 {
			t.Fatalf("%q: expected 8 dimensions, got %d", text, len(v))
		}
		if strings.TrimSpace(text) == "" {
			if v[0] != 0 || v[1] != 0 {
				t.Fatalf("%q: expected the zero vector for an empty text, got %v", text, v)
			}
			continue
		}
		// normalised (len, 1): the ratio gives the length back, so order is checked too
		if math.Abs(float64(v[0]*v[0]+v[1]*v[1])-1) > 1e-5 || math.Abs(float64(v[0]/v[1])-float64(len(text))) > 1e-3 {
			t.Fatalf("%q: expected the normalised vector of (%d, 1), got %v", text, len(text), v[:2])
		}
	}
}

func TestHttpEmbedderURLForms(t *testing.T) {
	t.Parallel()
	srv, _, _ := embeddingsServer(t, 4, nil)
	for _, url := range []string{srv.URL, srv.URL + "/", srv.URL + "/v1", srv.URL + "/v1/embeddings"} {
		if _, err := newHttpEmbedder(t, url, 4, nil).Embed(context.Background(), []string{"x"}); err != nil {
			t.Fatalf("URL %q: expected success, got %v", url, err)
		}
	}
}

func TestHttpEmbedderFailures(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name      string
		dim       int
		fail      func(w http.ResponseWriter, call int) bool
		mod       func(*recommend.HttpEmbedderConfig)
		wantErr   func(err error) bool
		wantCalls int32
	}{
		{
			name: "429 then success",
			fail: func(w http.ResponseWriter, call int) bool {
				if call <= 2 {
					w.WriteHeader(http.StatusTooManyRequests)
					fmt.Fprint(w, `{"error":{"message":"Rate limit reached"}}`)
					return true
				}
				return false
			},
			wantErr:   func(err error) bool { return err == nil },
			wantCalls: 3,
		},
		{
			name: "500 until retries are exhausted",
			fail: func(w http.ResponseWriter, call int) bool {
				http.Error(w, "boom", http.StatusInternalServerError)
				return true
			},
			wantErr: func(err error) bool {
				var se *recommend.HttpStatusError
				return errors.As(err, &se) && se.StatusCode == 500 && strings.Contains(err.Error(), "4 attempt")
			},
			wantCalls: 4, // the first attempt and MaxRetries=3 retries
		},
		{
			name: "400 is not retried and keeps the server's message",
			fail: func(w http.ResponseWriter, call int) bool {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"error":{"message":"model not found"}}`)
				return true
			},
			wantErr: func(err error) bool {
				var se *recommend.HttpStatusError
				return errors.As(err, &se) && se.StatusCode == 400 && se.Message == "model not found"
			},
			wantCalls: 1,
		},
		{
			name: "401 without the key",
			mod:  func(c *recommend.HttpEmbedderConfig) { c.APIKey = "" },
			wantErr: func(err error) bool {
				var se *recommend.HttpStatusError
				return errors.As(err, &se) && se.StatusCode == 401
			},
			wantCalls: 1,
		},
		{
			name: "bad JSON",
			fail: func(w http.ResponseWriter, call int) bool {
				fmt.Fprint(w, `{"data":[{"index":0,"embedding":[0.1,`)
				return true
			},
			wantErr:   func(err error) bool { return errors.Is(err, recommend.ErrEmbedderResponse) },
			wantCalls: 1,
		},
		{
			name: "too few embeddings",
			fail: func(w http.ResponseWriter, call int) bool {
				fmt.Fprint(w, `{"data":[]}`)
				return true
			},
			wantErr:   func(err error) bool { return errors.Is(err, recommend.ErrEmbedderResponse) },
			wantCalls: 1,
		},
		{
			name:      "wrong dimension",
			dim:       5, // the server answers 4
			wantErr:   func(err error) bool { return errors.Is(err, recommend.ErrDimensionMismatch) },
			wantCalls: 1,
		},
		{
			name: "timeout per attempt, then success",
			fail: func(w http.ResponseWriter, call int) bool {
				if call == 1 {
					time.Sleep(300 * time.Millisecond)
				}
				return false
			},
			mod:       func(c *recommend.HttpEmbedderConfig) { c.Timeout = 100 * time.Millisecond },
			wantErr:   func(err error) bool { return err == nil },
			wantCalls: 2,
		},
		{
			name: "timeout on every attempt",
			fail: func(w http.ResponseWriter, call int) bool {
				time.Sleep(300 * time.Millisecond)
				return true
			},
			mod: func(c *recommend.HttpEmbedderConfig) { c.Timeout = 50 * time.Millisecond; c.MaxRetries = 1 },
			wantErr: func(err error) bool {
				return errors.Is(err, context.DeadlineExceeded) && strings.Contains(err.Error(), "2 attempt")
			},
			wantCalls: 2,
		},
	}
	for i, s := range scenarios {
		t.Run(fmt.Sprintf("%d_%s", i, s.name), func(t *testing.T) {
			t.Parallel()
			srv, calls, _ := embeddingsServer(t, 4, s.fail)
			dim := s.dim
			if dim == 0 {
				dim = 4
			}
			_, err := newHttpEmbedder(t, srv.URL, dim, s.mod).Embed(context.Background(), []string{"one", "two"})
			if !s.wantErr(err) {
				t.Fatalf("Unexpected error %v", err)
			}
			if got := calls.Load(); got != s.wantCalls {
				t.Fatalf("Expected %d requests, got %d", s.wantCalls, got)
			}
		})
	}
}

func TestHttpEmbedderNetworkErrorRetriedThenCancelled(t *testing.T) {
	t.Parallel()
	// a closed server refuses connections: retried until ctx ends the wait
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	e := newHttpEmbedder(t, url, 4, func(c *recommend.HttpEmbedderConfig) {
		c.MaxRetries = 100
		c.Backoff, c.MaxBackoff = 20*time.Millisecond, 20*time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.Embed(ctx, []string{"x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Expected the caller's deadline to end the retries, got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Expected to give up at the caller's deadline, took %v", d)
	}
}

func TestNewHttpEmbedderValidates(t *testing.T) {
	t.Parallel()
	for _, cfg := range []recommend.HttpEmbedderConfig{
		{Model: "m", Dim: 3},
		{URL: "http://127.0.0.1:1", Dim: 3},
		{URL: "http://127.0.0.1:1", Model: "m"},
	} {
		if _, err := recommend.NewHttpEmbedder(cfg); err == nil {
			t.Fatalf("Expected %+v to be rejected", cfg)
		}
	}
}
