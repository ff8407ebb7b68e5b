// Command tangerine is the Tangerine backend: PocketBase with Tangerine's collections, hooks
// and routes. Run `tangerine serve` (or `make run`); see README.md for the configuration.
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/plugins/migratecmd"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/osutils"

	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/extensions/feed"
	"github.com/tangerine-market/tangerine/extensions/imageproc"
	"github.com/tangerine-market/tangerine/extensions/moderation"
	"github.com/tangerine-market/tangerine/extensions/recommend"
	"github.com/tangerine-market/tangerine/extensions/status"
	"github.com/tangerine-market/tangerine/extensions/uploads"
	"github.com/tangerine-market/tangerine/hooks"
	"github.com/tangerine-market/tangerine/internal/sqlitedb"
	_ "github.com/tangerine-market/tangerine/migrations"
)

func main() {
	app, err := newApp("", osutils.IsProbablyGoRun())
	if err != nil {
		log.Fatal(err)
	}

	var cfg config
	cfg.bindFlags(app)
	// parse early so that the flags are known before the extensions are registered
	_ = app.RootCmd.ParseFlags(os.Args[1:])

	migratecmd.MustRegister(app, app.RootCmd, migratecmd.Config{
		TemplateLang: migratecmd.TemplateLangGo,
		// automigrate only while developing with `go run`
		Automigrate: osutils.IsProbablyGoRun(),
		Dir:         "migrations",
	})

	hooks.MustRegister(app, hooks.Config{
		RateLimits:         cfg.rateLimits(),
		GoogleClientId:     os.Getenv("GOOGLE_CLIENT_ID"),
		GoogleClientSecret: os.Getenv("GOOGLE_CLIENT_SECRET"),
		S3:                 cfg.s3(),
		ReportThreshold:    cfg.reportThreshold,
	})
	feed.MustRegister(app, feed.Config{ItemCacheMB: cfg.feedItemCacheMB()})
	broker, brokerKind := cfg.broker()
	chat.MustRegister(app, chat.Config{Broker: broker})

	// one pool bounds the memory of every image upload path
	images := imageproc.NewPool(0, imageproc.Options{})
	imageproc.MustRegister(app, imageproc.Config{Pool: images})
	uploads.MustRegister(app, uploads.Config{
		Presigner: cfg.presigner(),
		Processor: imageProcessor{pool: images},
	})

	moderation.MustRegister(app, moderation.Config{})

	rec := recommend.MustRegister(app, cfg.recommend())
	app.RootCmd.AddCommand(reindexCommand(app, rec))
	// the plugin stops its indexer first (bound earlier); the store it was given closes after
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rec.Store().Close(ctx); err != nil {
			e.App.Logger().Warn("Failed to close the vector store", "error", err)
		}
		return e.Next()
	})
	status.MustRegister(app, status.Config{Checks: []status.Check{
		{Name: "broker", Kind: status.Fixed(brokerKind), Ping: broker.Ping},
		{Name: "vectors", Kind: rec.Kind, Ping: rec.Ping, Lag: rec.Lag},
		status.StorageCheck(app),
	}})

	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Func:     servePublic,
		Priority: 999, // after every API route, so that those win
	})

	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}

// newApp is the PocketBase app with Tangerine's database settings; dataDir "" is PocketBase's
// default (--dir, else pb_data beside the binary); dev is PocketBase's dev mode (SQL logged).
func newApp(dataDir string, dev bool) (*pocketbase.PocketBase, error) {
	readConns, err := sqlitedb.ReadConns()
	if err != nil {
		return nil, err
	}
	return pocketbase.NewWithConfig(pocketbase.Config{
		DefaultDev:     dev,
		DefaultDataDir: dataDir,
		DBConnect:      sqlitedb.Connect,
		// one fixed pool: connections are kept, not opened and closed per burst (see ReadConns)
		DataMaxOpenConns: readConns,
		DataMaxIdleConns: readConns,
	}), nil
}

// servePublic serves the web client in pb_public at /.
func servePublic(e *core.ServeEvent) error {
	if !e.Router.HasRoute(http.MethodGet, "/{path...}") {
		e.Router.GET("/{path...}", apis.Static(os.DirFS(publicDir()), true))
	}
	return e.Next()
}

func publicDir() string {
	if d := os.Getenv("TANGERINE_PUBLIC_DIR"); d != "" {
		return d
	}
	return "pb_public"
}

// config holds what main reads from flags and the environment (docs/API.md, Configuration).
type config struct {
	rateLimitsMode  string
	reportThreshold int
	brokerKind      string
	pulsarURL       string
	vectorsKind     string
	milvusAddr      string
	embedderKind    string
	embedderURL     string
	embedderModel   string
	embedderDim     int
	feedCacheMB     int
}

func (c *config) bindFlags(app *pocketbase.PocketBase) {
	app.RootCmd.PersistentFlags().StringVar(&c.rateLimitsMode, "rateLimits",
		envOr("TANGERINE_RATE_LIMITS", "on"), "PocketBase's rate limiter with Tangerine's rules: on or off")
	app.RootCmd.PersistentFlags().StringVar(&c.brokerKind, "broker",
		envOr("TANGERINE_BROKER", "memory"), "chat fan-out: memory (in-process) or pulsar")
	app.RootCmd.PersistentFlags().StringVar(&c.pulsarURL, "pulsarURL",
		envOr("TANGERINE_PULSAR_URL", "pulsar://127.0.0.1:6650"), "Apache Pulsar service URL (with --broker=pulsar)")
	app.RootCmd.PersistentFlags().StringVar(&c.vectorsKind, "vectors",
		envOr("TANGERINE_VECTORS", "embedded"), "vector store: embedded (in-process, persisted in SQLite) or milvus")
	app.RootCmd.PersistentFlags().StringVar(&c.milvusAddr, "milvusAddr",
		envOr("TANGERINE_MILVUS_ADDR", "127.0.0.1:19530"), "Milvus address (with --vectors=milvus)")
	app.RootCmd.PersistentFlags().StringVar(&c.embedderKind, "embedder",
		envOr("TANGERINE_EMBEDDER", "hash"), "text embeddings: hash (built-in) or http (OpenAI-compatible /v1/embeddings)")
	app.RootCmd.PersistentFlags().StringVar(&c.embedderURL, "embedderURL",
		os.Getenv("TANGERINE_EMBEDDER_URL"), "embeddings server base URL (with --embedder=http)")
	app.RootCmd.PersistentFlags().StringVar(&c.embedderModel, "embedderModel",
		os.Getenv("TANGERINE_EMBEDDER_MODEL"), "embeddings model name (with --embedder=http)")
	app.RootCmd.PersistentFlags().IntVar(&c.embedderDim, "embedderDim",
		envInt("TANGERINE_EMBEDDER_DIM", 384), "embedding dimension of the model (with --embedder=http)")
	app.RootCmd.PersistentFlags().IntVar(&c.feedCacheMB, "feedCacheMB",
		envCount("TANGERINE_FEED_CACHE_MB", feed.DefaultItemCacheMB),
		"megabytes of rendered posts and authors the home feed keeps in memory (0: none)")
	app.RootCmd.PersistentFlags().IntVar(&c.reportThreshold, "reportThreshold",
		envInt("TANGERINE_REPORT_THRESHOLD", hooks.DefaultReportThreshold),
		"distinct open reports that hide a post, comment or product at once")
}

// feedItemCacheMB is feed.Config.ItemCacheMB: 0 there is the default, off is negative.
func (c *config) feedItemCacheMB() int {
	if c.feedCacheMB <= 0 {
		return -1
	}
	return c.feedCacheMB
}

func (c *config) rateLimits() bool {
	return !strings.EqualFold(strings.TrimSpace(c.rateLimitsMode), "off")
}

// s3 reads TANGERINE_S3_*; nil when no bucket is configured.
func (c *config) s3() *hooks.S3Config {
	bucket := os.Getenv("TANGERINE_S3_BUCKET")
	if bucket == "" {
		return nil
	}
	return &hooks.S3Config{
		Endpoint:       os.Getenv("TANGERINE_S3_ENDPOINT"),
		Bucket:         bucket,
		Region:         envOr("TANGERINE_S3_REGION", "us-east-1"),
		AccessKey:      os.Getenv("TANGERINE_S3_ACCESS_KEY"),
		Secret:         os.Getenv("TANGERINE_S3_SECRET"),
		ForcePathStyle: isTrue(os.Getenv("TANGERINE_S3_FORCE_PATH_STYLE")),
	}
}

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// envInt reads an integer from the environment; a value that is not one stops the program with
// a message naming the variable rather than silently using the default.
func envInt(key string, def int) int { return envIntFrom(key, def, 1, "a positive integer") }

// envCount is envInt that also accepts 0.
func envCount(key string, def int) int { return envIntFrom(key, def, 0, "a whole number (0 or more)") }

func envIntFrom(key string, def, least int, what string) int {
	v := strings.TrimSpace(os.Getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		log.Fatalf("%s must be %s, got %q", key, what, v)
	}
	return n
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
