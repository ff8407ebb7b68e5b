package recommend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Defaults of [HttpEmbedderConfig].
const (
	DefaultHttpEmbedderBatch      = 64
	DefaultHttpEmbedderTimeout    = 15 * time.Second
	DefaultHttpEmbedderRetries    = 4
	DefaultHttpEmbedderBackoff    = 250 * time.Millisecond
	DefaultHttpEmbedderMaxBackoff = 8 * time.Second
)

// ErrEmbedderResponse is returned (wrapped) by [HttpEmbedder.Embed] when the server answers
// 2xx with a body that is not a valid embeddings response for the request.
var ErrEmbedderResponse = errors.New("recommend: malformed embeddings response")

// HttpStatusError is returned (wrapped) by [HttpEmbedder.Embed] when the server answers with a
// non-2xx status: immediately for 4xx other than 429, after the last retry for 429 and 5xx.
type HttpStatusError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the server's error message ("error.message" of an OpenAI-style body) or the
	// start of the raw body.
	Message string
}

// Error implements error.
func (e *HttpStatusError) Error() string {
	return fmt.Sprintf("embeddings server answered %d: %s", e.StatusCode, e.Message)
}

// Retryable reports whether the status is worth retrying (rate limited or a server error).
func (e *HttpStatusError) Retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// HttpEmbedderConfig configures an [HttpEmbedder].
type HttpEmbedderConfig struct {
	// URL is the embeddings endpoint, e.g. "http://127.0.0.1:8081/v1/embeddings". A URL
	// without a path ending in "/embeddings" gets "/v1/embeddings" appended ("/embeddings"
	// when it already ends in "/v1"). Required.
	URL string

	// Model is sent as "model". Required.
	Model string

	// Dim is the dimension the model produces; responses of another length fail with
	// [ErrDimensionMismatch]. Required, since stores are created with it before the first call.
	Dim int

	// APIKey, when set, is sent as "Authorization: Bearer <APIKey>".
	APIKey string

	// MaxBatch is the most texts sent in one request. Default: [DefaultHttpEmbedderBatch].
	MaxBatch int

	// Timeout bounds each request attempt. Default: [DefaultHttpEmbedderTimeout].
	Timeout time.Duration

	// MaxRetries is how many times a failed attempt (network error, timeout, 429 or 5xx) is
	// retried. Default: [DefaultHttpEmbedderRetries]; negative means none.
	MaxRetries int

	// Backoff is the wait before the first retry; it doubles per retry, up to MaxBackoff, with
	// up to 50% random jitter. A 429 or 503 with a Retry-After header of seconds waits that
	// long instead (capped by MaxBackoff). Defaults: [DefaultHttpEmbedderBackoff] and
	// [DefaultHttpEmbedderMaxBackoff].
	Backoff    time.Duration
	MaxBackoff time.Duration

	// Client is the HTTP client. Default: a new client without a timeout of its own (Timeout
	// applies per attempt).
	Client *http.Client
}

// HttpEmbedder calls an OpenAI-compatible embeddings endpoint (OpenAI, vLLM, text-embeddings-
// inference, Ollama, LocalAI, a small local script, ...). It splits large inputs into batches,
// sends them one after another (so one caller never floods the server), retries transient
// failures with exponential backoff, and checks every response: one vector per input, indexes
// in range, the configured dimension. Empty texts are not sent (servers reject them) and get
// the zero vector; returned vectors are L2-normalised. It is safe for concurrent use.
type HttpEmbedder struct {
	cfg HttpEmbedderConfig
	url string
}

var _ Embedder = (*HttpEmbedder)(nil)

// NewHttpEmbedder validates cfg, fills in its defaults and returns the embedder. It does not
// contact the server.
func NewHttpEmbedder(cfg HttpEmbedderConfig) (*HttpEmbedder, error) {
	switch {
	case cfg.URL == "":
		return nil, errors.New("recommend: the embeddings URL is required")
	case cfg.Model == "":
		return nil, errors.New("recommend: the embeddings model is required")
	case cfg.Dim <= 0:
		return nil, errors.New("recommend: the embeddings dimension is required")
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultHttpEmbedderBatch
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultHttpEmbedderTimeout
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultHttpEmbedderRetries
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultHttpEmbedderBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultHttpEmbedderMaxBackoff
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}

	url := strings.TrimRight(cfg.URL, "/")
	switch {
	case strings.HasSuffix(url, "/embeddings"):
	case strings.HasSuffix(url, "/v1"):
		url += "/embeddings"
	default:
		url += "/v1/embeddings"
	}
	return &HttpEmbedder{cfg: cfg, url: url}, nil
}

// Dim implements [Embedder.Dim].
func (h *HttpEmbedder) Dim() int {
	return h.cfg.Dim
}

// Embed implements [Embedder.Embed]. An error names the batch that failed; vectors of earlier
// batches are discarded with it.
func (h *HttpEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var pending []int // indexes of non-empty texts
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			out[i] = make([]float32, h.cfg.Dim)
			continue
		}
		pending = append(pending, i)
	}
	for lo := 0; lo < len(pending); lo += h.cfg.MaxBatch {
		idx := pending[lo:min(lo+h.cfg.MaxBatch, len(pending))]
		batch := make([]string, len(idx))
		for j, i := range idx {
			batch[j] = texts[i]
		}
		vecs, err := h.embedBatch(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("recommend: embedding texts %d..%d of %d: %w", idx[0], idx[len(idx)-1], len(texts), err)
		}
		for j, i := range idx {
			out[i] = vecs[j]
		}
	}
	return out, nil
}

// embedBatch sends one request, retrying transient failures.
func (h *HttpEmbedder) embedBatch(ctx context.Context, batch []string) ([][]float32, error) {
	body, err := json.Marshal(embeddingsRequest{Model: h.cfg.Model, Input: batch, EncodingFormat: "float"})
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	for attempt := 0; ; attempt++ {
		vecs, retryAfter, err := h.attempt(ctx, body, len(batch))
		if err == nil {
			return vecs, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err)
		}
		if !retryable(err) || attempt >= h.cfg.MaxRetries {
			return nil, fmt.Errorf("after %d attempt(s): %w", attempt+1, err)
		}
		wait := h.backoff(attempt, retryAfter)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("%w (waiting to retry after: %w)", ctx.Err(), err)
		case <-timer.C:
		}
	}
}

// retryable reports whether err is a transient failure: a network error or attempt timeout,
// or a 429/5xx status. Malformed 2xx responses and other 4xx statuses are not.
func retryable(err error) bool {
	var se *HttpStatusError
	if errors.As(err, &se) {
		return se.Retryable()
	}
	return !errors.Is(err, ErrEmbedderResponse) && !errors.Is(err, ErrDimensionMismatch)
}

func (h *HttpEmbedder) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, h.cfg.MaxBackoff)
	}
	d := min(h.cfg.Backoff<<attempt, h.cfg.MaxBackoff)
	// jitter spreads the retries of concurrent callers hit by the same overload
	return d/2 + rand.N(d/2+1)
}

// attempt makes one request bounded by the per-attempt timeout. It returns the Retry-After
// delay the server asked for, if any.
func (h *HttpEmbedder) attempt(ctx context.Context, body []byte, n int) ([][]float32, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if h.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+h.cfg.APIKey)
	}
	resp, err := h.cfg.Client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("request %s: %w", h.url, err)
	}
	defer resp.Body.Close()
	// 64 MiB is far above a 64 × 4096-float response; the cap only stops a runaway body.
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var retryAfter time.Duration
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			retryAfter = time.Duration(secs) * time.Second
		}
		return nil, retryAfter, &HttpStatusError{StatusCode: resp.StatusCode, Message: errorMessage(raw)}
	}
	vecs, err := h.decode(raw, n)
	return vecs, 0, err
}

// decode checks an embeddings response for n inputs and returns the vectors in input order.
func (h *HttpEmbedder) decode(raw []byte, n int) ([][]float32, error) {
	var res embeddingsResponse
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEmbedderResponse, err)
	}
	if len(res.Data) != n {
		return nil, fmt.Errorf("%w: %d embeddings for %d inputs", ErrEmbedderResponse, len(res.Data), n)
	}
	out := make([][]float32, n)
	for _, d := range res.Data {
		if d.Index < 0 || d.Index >= n || out[d.Index] != nil {
			return nil, fmt.Errorf("%w: index %d out of range or repeated", ErrEmbedderResponse, d.Index)
		}
		if len(d.Embedding) != h.cfg.Dim {
			return nil, fmt.Errorf("%w: the server returned %d dimensions, configured %d", ErrDimensionMismatch, len(d.Embedding), h.cfg.Dim)
		}
		out[d.Index] = Normalize(d.Embedding)
	}
	return out, nil
}

// errorMessage extracts a readable message from an error body.
func errorMessage(raw []byte) string {
	var body struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil && len(body.Error) > 0 {
		var obj struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body.Error, &obj) == nil && obj.Message != "" {
			return obj.Message
		}
		var s string
		if json.Unmarshal(body.Error, &s) == nil && s != "" {
			return s
		}
	}
	msg := strings.TrimSpace(string(raw))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}

type embeddingsRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
}

type embeddingsResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}
