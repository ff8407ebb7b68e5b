package benchkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// Build builds the tangerine binary of the module at repo into out (static, no VCS stamp).
func Build(repo, out string) error {
	t := time.Now()
	build := exec.Command("go", "build", "-o", out, ".")
	build.Dir = repo
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return err
	}
	log.Printf("built tangerine in %s", time.Since(t).Round(time.Millisecond))
	return nil
}

// Get fetches u into buf with token (none when empty) as the Authorization header and returns
// the status code.
func Get(ctx context.Context, c *http.Client, u, token string, buf *bytes.Buffer) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = io.Copy(buf, resp.Body)
	return resp.StatusCode, err
}

var nextCursorKey = []byte(`"next_cursor":"`)

// NextCursor finds a page's next_cursor without decoding the page (it is the last key of the
// body); "" when there is none.
func NextCursor(body []byte) string {
	i := bytes.LastIndex(body, nextCursorKey)
	if i < 0 {
		return ""
	}
	rest := body[i+len(nextCursorKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// CountItems returns how many items a page holds.
func CountItems(body []byte) int {
	var v struct {
		Items []json.RawMessage `json:"items"`
	}
	_ = json.Unmarshal(body, &v)
	return len(v.Items)
}
