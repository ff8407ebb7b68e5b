package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/extensions/chat/pulsarbroker"
	"github.com/tangerine-market/tangerine/extensions/imageproc"
	"github.com/tangerine-market/tangerine/extensions/uploads"
	"github.com/tangerine-market/tangerine/extensions/uploads/s3presign"
)

// imageProcessor lets the direct-upload attach route share the records API's image pool, so
// that every upload path is bound by the same memory limit. Extensions do not import each
// other; this adapter is where the two meet.
type imageProcessor struct{ pool *imageproc.Pool }

// Process implements [uploads.Processor].
func (p imageProcessor) Process(ctx context.Context, r io.Reader) ([]byte, string, error) {
	res, err := p.pool.Process(ctx, r)
	if err == nil {
		return res.Data, res.Format.Ext(), nil
	}
	if errors.Is(err, imageproc.ErrBusy) {
		return nil, "", fmt.Errorf("%w: %w", uploads.ErrBusy, err)
	}
	var perr *imageproc.Error
	if errors.As(err, &perr) {
		return nil, "", &uploads.ImageError{Code: perr.Code(), Message: perr.Error(), Err: err}
	}
	return nil, "", err
}

// presigner builds the direct-upload staging storage from TANGERINE_S3_*; nil without a
// bucket (the upload routes then answer 409). It returns the interface type on purpose: a nil
// *s3presign.Presigner inside the interface would not compare equal to nil.
func (c *config) presigner() uploads.Presigner {
	s3 := c.s3()
	if s3 == nil {
		return nil
	}
	p, err := s3presign.New(s3presign.Config{
		Endpoint: s3.Endpoint, Bucket: s3.Bucket, Region: s3.Region,
		AccessKey: s3.AccessKey, Secret: s3.Secret, ForcePathStyle: s3.ForcePathStyle,
	})
	if err != nil {
		log.Fatalf("Invalid TANGERINE_S3_* configuration: %v", err)
	}
	return p
}

// broker picks the chat fan-out from TANGERINE_BROKER: the in-process broker (default) or
// Apache Pulsar at TANGERINE_PULSAR_URL. It returns the kind for /api/status too.
func (c *config) broker() (chat.Broker, string) {
	switch strings.ToLower(strings.TrimSpace(c.brokerKind)) {
	case "", "memory":
		return chat.NewMemoryBroker(), "memory"
	case "pulsar":
		b, err := pulsarbroker.New(pulsarbroker.Config{URL: c.pulsarURL})
		if err != nil {
			log.Fatalf("Failed to connect to Pulsar at %q: %v", c.pulsarURL, err)
		}
		return b, "pulsar"
	default:
		log.Fatalf("TANGERINE_BROKER must be memory or pulsar, got %q", c.brokerKind)
		return nil, ""
	}
}
