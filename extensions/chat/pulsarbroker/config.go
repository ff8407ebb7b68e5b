package pulsarbroker

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"
)

// Defaults of [Config].
const (
	DefaultURL                 = "pulsar://127.0.0.1:6650"
	DefaultTopicPrefix         = "persistent://public/default/tangerine-"
	DefaultOperationTimeout    = 10 * time.Second
	DefaultConnectionTimeout   = 5 * time.Second
	DefaultPublishTimeout      = 5 * time.Second
	DefaultRedeliveryDelay     = time.Second
	DefaultReconnectMaxBackoff = 5 * time.Second
	DefaultProducerIdleTimeout = 10 * time.Minute
	DefaultReceiverQueueSize   = 1000
)

// Config configures a [Broker]. The zero value connects to a local standalone Pulsar.
type Config struct {
	// URL is the Pulsar service URL, e.g. "pulsar://10.0.0.5:6650" or
	// "pulsar://host1:6650,host2:6650". Default [DefaultURL].
	URL string

	// TopicPrefix is put before every chat topic name to make the full Pulsar topic name; it
	// picks the tenant and namespace, which must exist. Default [DefaultTopicPrefix].
	TopicPrefix string

	// SubscriptionName starts the names of this process's subscriptions; each Subscribe adds
	// "-<n>". NB! It must differ between processes: two processes with the same name would
	// fight over one Exclusive subscription. Default "tangerine-<hostname>-<pid>-<random>".
	SubscriptionName string

	// OperationTimeout bounds the Pulsar client's lookups and producer and consumer creation.
	// Default [DefaultOperationTimeout].
	OperationTimeout time.Duration

	// ConnectionTimeout bounds one TCP connect to a Pulsar broker, and the reachability probe.
	// Default [DefaultConnectionTimeout].
	ConnectionTimeout time.Duration

	// PublishTimeout bounds one Publish whose context has no earlier deadline. Default
	// [DefaultPublishTimeout].
	PublishTimeout time.Duration

	// RedeliveryDelay is how long after a Handler error the envelope is delivered again.
	// Default [DefaultRedeliveryDelay].
	RedeliveryDelay time.Duration

	// ReconnectMaxBackoff caps the delay between the client's attempts to reconnect producers
	// and consumers, so delivery resumes soon after Pulsar comes back (the client's own cap is
	// a minute). Default [DefaultReconnectMaxBackoff].
	ReconnectMaxBackoff time.Duration

	// ProducerIdleTimeout closes the producer of a topic that nothing was published to for
	// this long, so per-room topics don't keep producers open forever. Default
	// [DefaultProducerIdleTimeout].
	ProducerIdleTimeout time.Duration

	// ReceiverQueueSize is how many messages each consumer prefetches. Default
	// [DefaultReceiverQueueSize].
	ReceiverQueueSize int

	// Logger receives the Pulsar client's log lines at ClientLogLevel and above. Default
	// slog.Default().
	Logger *slog.Logger

	// ClientLogLevel is the lowest level of the Pulsar client's lines that reach Logger.
	// Default slog.LevelError: the client logs every connect at info and every failed
	// reconnect attempt at warn, which during an outage would flood a log such as
	// PocketBase's, kept in its database; [ErrUnavailable] already tells about the outage.
	ClientLogLevel slog.Leveler
}

// withDefaults returns cfg with every zero field set to its default.
func (cfg Config) withDefaults() Config {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.TopicPrefix == "" {
		cfg.TopicPrefix = DefaultTopicPrefix
	}
	if cfg.SubscriptionName == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "host"
		}
		cfg.SubscriptionName = fmt.Sprintf("tangerine-%s-%d-%06x", host, os.Getpid(), rand.IntN(1<<24))
	}
	if cfg.OperationTimeout <= 0 {
		cfg.OperationTimeout = DefaultOperationTimeout
	}
	if cfg.ConnectionTimeout <= 0 {
		cfg.ConnectionTimeout = DefaultConnectionTimeout
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = DefaultPublishTimeout
	}
	if cfg.RedeliveryDelay <= 0 {
		cfg.RedeliveryDelay = DefaultRedeliveryDelay
	}
	if cfg.ReconnectMaxBackoff <= 0 {
		cfg.ReconnectMaxBackoff = DefaultReconnectMaxBackoff
	}
	if cfg.ProducerIdleTimeout <= 0 {
		cfg.ProducerIdleTimeout = DefaultProducerIdleTimeout
	}
	if cfg.ReceiverQueueSize <= 0 {
		cfg.ReceiverQueueSize = DefaultReceiverQueueSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClientLogLevel == nil {
		cfg.ClientLogLevel = slog.LevelError
	}
	return cfg
}

// -------------------------------------------------------------------

// levelHandler passes on the lines at min and above only.
type levelHandler struct {
	slog.Handler
	min slog.Leveler
}

// Enabled reports whether level is at least min and enabled by the wrapped handler.
func (h levelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min.Level() && h.Handler.Enabled(ctx, level)
}

// WithAttrs keeps the level filter on derived handlers.
func (h levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelHandler{h.Handler.WithAttrs(attrs), h.min}
}

// WithGroup keeps the level filter on derived handlers.
func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{h.Handler.WithGroup(name), h.min}
}
