package s3presign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tangerine-market/tangerine/extensions/uploads"
)

// These tests run the S3 client against canned answers from an httptest server to check how
// the Presigner maps them (not found, paging, timeouts). Real S3 behaviour is checked by the
// integration tests against versitygw.

func TestNewValidatesConfigAndFillsDefaults(t *testing.T) {
	scenarios := []struct {
		name string
		cfg  Config
	}{
		{"no bucket", Config{AccessKey: "a", Secret: "s"}},
		{"no access key", Config{Bucket: "b", Secret: "s"}},
		{"no secret", Config{Bucket: "b", AccessKey: "a"}},
		{"endpoint without scheme", Config{Endpoint: "127.0.0.1:7070", Bucket: "b", AccessKey: "a", Secret: "s"}},
		{"endpoint with another scheme", Config{Endpoint: "ftp://host", Bucket: "b", AccessKey: "a", Secret: "s"}},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			if _, err := New(s.cfg); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}

	p, err := New(Config{Bucket: "b", AccessKey: "a", Secret: "s"})
	if err != nil {
		t.Fatalf("New with defaults: %v", err)
	}
	if p.region != DefaultRegion || p.timeout != DefaultTimeout {
		t.Fatalf("defaults: region %q timeout %s, want %q %s", p.region, p.timeout, DefaultRegion, DefaultTimeout)
	}
}

// fakeS3 answers path-style requests for bucket "tangerine" from a handler per test.
func fakeS3(t *testing.T, timeout time.Duration, h http.HandlerFunc) *Presigner {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	p, err := New(Config{
		Endpoint:       srv.URL,
		Bucket:         "tangerine",
		AccessKey:      "a",
		Secret:         "s",
		ForcePathStyle: true,
		Timeout:        timeout,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func writeS3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>m</Message></Error>`, code)
}

func TestOpenReturnsBodyAndInfo(t *testing.T) {
	modified := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := fakeS3(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/tangerine/staging/u1/a" {
			writeS3Error(w, http.StatusBadRequest, "Unexpected")
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", "5")
		w.Header().Set("Last-Modified", modified.Format(http.TimeFormat))
		io.WriteString(w, "hello")
	})

	rc, info, err := p.Open(context.Background(), "staging/u1/a")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(data) != "hello" {
		t.Errorf("body = %q", data)
	}
	want := uploads.ObjectInfo{Size: 5, ContentType: "image/png", LastModified: modified}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("info = %+v, want %+v", info, want)
	}
}

func TestOpenMapsMissingObjectToErrNotFound(t *testing.T) {
	scenarios := []struct {
		code         string
		wantNotFound bool
	}{
		{"NoSuchKey", true},
		// A missing bucket is a misconfiguration, which must not read as "upload expired".
		{"NoSuchBucket", false},
	}
	for _, s := range scenarios {
		t.Run(s.code, func(t *testing.T) {
			p := fakeS3(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
				writeS3Error(w, http.StatusNotFound, s.code)
			})
			_, _, err := p.Open(context.Background(), "staging/missing")
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if got := errors.Is(err, uploads.ErrNotFound); got != s.wantNotFound {
				t.Fatalf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, s.wantNotFound)
			}
		})
	}
}

func TestDeleteIsIdempotent(t *testing.T) {
	scenarios := []struct {
		name    string
		status  int
		code    string
		wantErr bool
	}{
		{"deleted", http.StatusNoContent, "", false},
		{"missing answered with 404", http.StatusNotFound, "NoSuchKey", false},
		{"access denied", http.StatusForbidden, "AccessDenied", true},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			p := fakeS3(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodDelete || r.URL.Path != "/tangerine/staging/x" {
					writeS3Error(w, http.StatusBadRequest, "Unexpected")
					return
				}
				if s.code == "" {
					w.WriteHeader(s.status)
					return
				}
				writeS3Error(w, s.status, s.code)
			})
			err := p.Delete(context.Background(), "staging/x")
			if (err != nil) != s.wantErr {
				t.Fatalf("Delete err = %v, want error %v", err, s.wantErr)
			}
		})
	}
}

func TestListOlderFiltersByAgeAcrossPagesAndStopsAtLimit(t *testing.T) {
	cutoff := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	old := cutoff.Add(-time.Hour).Format(time.RFC3339)
	fresh := cutoff.Add(time.Hour).Format(time.RFC3339)
	pages := map[string]string{
		"":   listPage("p2", "staging/a", old, "staging/b", fresh),
		"p2": listPage("p3", "staging/c", fresh, "staging/d", old),
		"p3": listPage("", "staging/e", old, "staging/f", old),
	}
	var requests []string
	p := fakeS3(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("list-type") != "2" || q.Get("prefix") != "staging/" || q.Get("max-keys") != "2" {
			writeS3Error(w, http.StatusBadRequest, "Unexpected")
			return
		}
		token := q.Get("continuation-token")
		requests = append(requests, token)
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, pages[token])
	})
	p.pageSize = 2

	scenarios := []struct {
		limit     int
		want      []string
		wantPages []string
	}{
		{10, []string{"staging/a", "staging/d", "staging/e", "staging/f"}, []string{"", "p2", "p3"}},
		// Stopping at the limit must not fetch pages it does not need.
		{2, []string{"staging/a", "staging/d"}, []string{"", "p2"}},
	}
	for _, s := range scenarios {
		t.Run(fmt.Sprintf("limit %d", s.limit), func(t *testing.T) {
			requests = nil
			got, err := p.ListOlder(context.Background(), "staging/", cutoff, s.limit)
			if err != nil {
				t.Fatalf("ListOlder: %v", err)
			}
			if !reflect.DeepEqual(got, s.want) {
				t.Errorf("keys = %v, want %v", got, s.want)
			}
			if !reflect.DeepEqual(requests, s.wantPages) {
				t.Errorf("pages fetched = %q, want %q", requests, s.wantPages)
			}
		})
	}
}

func TestListOlderRefusesEmptyPrefixAndLimit(t *testing.T) {
	p := fakeS3(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
	})
	if _, err := p.ListOlder(context.Background(), "", time.Now(), 10); err == nil {
		t.Error("empty prefix accepted: a clean-up could sweep the whole bucket")
	}
	if _, err := p.ListOlder(context.Background(), "staging/", time.Now(), 0); err == nil {
		t.Error("zero limit accepted")
	}
}

// listPage renders a ListObjectsV2 page of (key, last-modified) pairs.
func listPage(next string, keysAndTimes ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>tangerine</Name><Prefix>staging/</Prefix>`)
	fmt.Fprintf(&b, "<KeyCount>%d</KeyCount><MaxKeys>2</MaxKeys>", len(keysAndTimes)/2)
	if next != "" {
		fmt.Fprintf(&b, "<IsTruncated>true</IsTruncated><NextContinuationToken>%s</NextContinuationToken>", next)
	} else {
		b.WriteString("<IsTruncated>false</IsTruncated>")
	}
	for i := 0; i+1 < len(keysAndTimes); i += 2 {
		fmt.Fprintf(&b, "<Contents><Key>%s</Key><LastModified>%s</LastModified><Size>1</Size></Contents>", keysAndTimes[i], keysAndTimes[i+1])
	}
	b.WriteString("</ListBucketResult>")
	return b.String()
}

func TestPingChecksBucket(t *testing.T) {
	var status int
	p := fakeS3(t, time.Second, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead || r.URL.Path != "/tangerine" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
	})

	status = http.StatusOK
	if err := p.Ping(context.Background()); err != nil {
		t.Fatalf("Ping with bucket: %v", err)
	}
	status = http.StatusNotFound
	if err := p.Ping(context.Background()); err == nil {
		t.Fatal("Ping without bucket succeeded")
	}
}

func TestCallsAreBoundedByTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })

	p := fakeS3(t, timeout, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "" {
			// Open: answer the headers, then stall in the middle of the body.
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "12345")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})

	calls := map[string]func(ctx context.Context) error{
		"Ping":   p.Ping,
		"Delete": func(ctx context.Context) error { return p.Delete(ctx, "staging/x") },
		"ListOlder": func(ctx context.Context) error {
			_, err := p.ListOlder(ctx, "staging/", time.Now(), 1)
			return err
		},
		"Open (whole read)": func(ctx context.Context) error {
			rc, _, err := p.Open(ctx, "staging/x")
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.ReadAll(rc)
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := call(context.Background())
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("call against a stalled server succeeded")
			}
			if elapsed > 10*timeout {
				t.Fatalf("call took %s, timeout is %s", elapsed, timeout)
			}
		})
	}
}
