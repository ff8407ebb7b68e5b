package uploads

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

const (
	// cleanupBatch is how many keys one ListOlder call returns.
	cleanupBatch = 100

	// cleanupTimeout bounds one clean-up run; what is left waits for the next hour.
	cleanupTimeout = 10 * time.Minute
)

// runCleanup is the body of the hourly cron job.
func (p *plugin) runCleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()

	deleted, err := p.cleanup(ctx, time.Now())
	if err != nil {
		p.app.Logger().Warn("Failed to clean up stale staged uploads",
			slog.Int("deleted", deleted),
			slog.String("error", err.Error()),
		)
		return
	}
	if deleted > 0 {
		p.app.Logger().Debug("Cleaned up stale staged uploads", slog.Int("deleted", deleted))
	}
}

// cleanup deletes every staged object last modified more than StaleAfter before now and
// returns how many it deleted. It stops at the first error: a key that cannot be deleted would
// otherwise be listed again and again; the next run retries it.
func (p *plugin) cleanup(ctx context.Context, now time.Time) (int, error) {
	before := now.Add(-p.config.StaleAfter)
	deleted := 0
	seen := map[string]struct{}{}
	for {
		keys, err := p.config.Presigner.ListOlder(ctx, p.config.StagingPrefix, before, cleanupBatch)
		if err != nil {
			return deleted, err
		}
		if len(keys) == 0 {
			return deleted, nil
		}
		for _, key := range keys {
			// a storage that lists what it claims to have deleted would keep this loop busy
			// until the timeout
			if _, ok := seen[key]; ok {
				return deleted, fmt.Errorf("uploads: staged object %q listed again after its deletion", key)
			}
			seen[key] = struct{}{}
			if err := p.config.Presigner.Delete(ctx, key); err != nil {
				return deleted, err
			}
			deleted++
		}
	}
}
