package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"

	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/extensions/chat/pulsarbroker"
	"github.com/tangerine-market/tangerine/extensions/imageproc"
	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/extensions/recommend/milvusstore"
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
		// the hub names its topic ("tangerine-chat"); the prefix only places it in Pulsar
		b, err := pulsarbroker.New(pulsarbroker.Config{URL: c.pulsarURL, TopicPrefix: "persistent://public/default/"})
		if err != nil {
			log.Fatalf("Failed to connect to Pulsar at %q: %v", c.pulsarURL, err)
		}
		return b, "pulsar"
	default:
		log.Fatalf("TANGERINE_BROKER must be memory or pulsar, got %q", c.brokerKind)
		return nil, ""
	}
}

// recommend picks the embedder (TANGERINE_EMBEDDER) and the vector store (TANGERINE_VECTORS).
func (c *config) recommend() recommend.Config {
	var rc recommend.Config
	switch strings.ToLower(strings.TrimSpace(c.embedderKind)) {
	case "", "hash":
	case "http":
		emb, err := recommend.NewHttpEmbedder(recommend.HttpEmbedderConfig{
			URL: c.embedderURL, Model: c.embedderModel, Dim: c.embedderDim,
		})
		if err != nil {
			log.Fatalf("Invalid TANGERINE_EMBEDDER_* configuration: %v", err)
		}
		rc.Embedder, rc.EmbedderId = emb, "http:"+c.embedderModel
	default:
		log.Fatalf("TANGERINE_EMBEDDER must be hash or http, got %q", c.embedderKind)
	}
	switch strings.ToLower(strings.TrimSpace(c.vectorsKind)) {
	case "", "embedded":
	case "milvus":
		dim := recommend.DefaultHashDim
		if rc.Embedder != nil {
			dim = rc.Embedder.Dim()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := milvusstore.New(ctx, milvusstore.Config{Addr: c.milvusAddr, Dim: dim})
		if err != nil {
			log.Fatalf("Failed to connect to Milvus at %q: %v", c.milvusAddr, err)
		}
		rc.Store, rc.StoreKind = st, "milvus"
	default:
		log.Fatalf("TANGERINE_VECTORS must be embedded or milvus, got %q", c.vectorsKind)
	}
	return rc
}

// reindexCommand is `tangerine reindex`: rebuild the recommendation and search index of every
// post, product and user, for example after changing the embedder.
func reindexCommand(app core.App, rec *recommend.Plugin) *cobra.Command {
	return &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the recommendation and search index of every post, product and user",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := app.RunAllMigrations(); err != nil {
				return err
			}
			ctx, cancel := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer cancel()
			return rec.Reindex(ctx)
		},
	}
}
