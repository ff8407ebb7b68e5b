package pulsarbroker

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestServiceAddrs(t *testing.T) {
	t.Parallel()

	scenarios := []struct {
		url     string
		want    []string
		wantErr bool
	}{
		{"pulsar://127.0.0.1:6650", []string{"127.0.0.1:6650"}, false},
		{"pulsar://broker", []string{"broker:6650"}, false},
		{"pulsar+ssl://broker", []string{"broker:6651"}, false},
		{"pulsar://h1:6650,h2:6651", []string{"h1:6650", "h2:6651"}, false},
		{"http://broker:8080/", []string{"broker:8080"}, false},
		{"pulsar://[::1]", []string{"[::1]:6650"}, false},
		{"broker:6650", nil, true},
		{"ftp://broker", nil, true},
		{"pulsar://", nil, true},
	}

	for i, s := range scenarios {
		t.Run(fmt.Sprintf("%d_%s", i, s.url), func(t *testing.T) {
			got, err := serviceAddrs(s.url)
			if (err != nil) != s.wantErr {
				t.Fatalf("Expected error %v, got %v", s.wantErr, err)
			}
			if !slices.Equal(got, s.want) {
				t.Fatalf("Expected %v, got %v", s.want, got)
			}
		})
	}
}

func TestCappedBackoff(t *testing.T) {
	t.Parallel()

	p := &cappedBackoff{max: time.Second}

	var last time.Duration
	for i := 0; i < 10; i++ {
		d := p.Next()
		if d < 100*time.Millisecond || d > 1200*time.Millisecond {
			t.Fatalf("Expected pause %d within [100ms, 1.2s], got %s", i, d)
		}
		last = d
	}
	if last < time.Second {
		t.Fatalf("Expected the pause to reach the cap, got %s", last)
	}
	if !p.IsMaxBackoffReached() {
		t.Fatal("Expected the cap to be reported as reached")
	}

	p.Reset()
	if d := p.Next(); d > 120*time.Millisecond {
		t.Fatalf("Expected Reset to start over from 100ms, got %s", d)
	}
}
