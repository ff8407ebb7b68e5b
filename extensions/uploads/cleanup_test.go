package uploads

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestCleanupDeletesOnlyStaleStagedObjects(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	fake := fx.presigner

	var wantGone []string
	for i := range 150 { // more than one ListOlder batch
		key := fmt.Sprintf("staging/%s/old%017d", aliceId, i)
		fake.stage(key, []byte("x"), 25*time.Hour)
		wantGone = append(wantGone, key)
	}
	keep := []string{
		"staging/" + bobId + "/fresh0000000000000a",  // an hour old: may still be attached
		"staging/" + bobId + "/almostaday0000000000", // 23 hours old
		"pb_data/posts/abc/photo.jpg",                // PocketBase's own file, older but outside the prefix
		"staging-backup/old",                         // shares the prefix's letters, not its folder
	}
	fake.stage(keep[0], []byte("x"), time.Hour)
	fake.stage(keep[1], []byte("x"), 23*time.Hour)
	fake.stage(keep[2], []byte("x"), 48*time.Hour)
	fake.stage(keep[3], []byte("x"), 48*time.Hour)

	p := &plugin{app: fx.app, config: Config{Presigner: fake, StagingPrefix: DefaultStagingPrefix, StaleAfter: DefaultStaleAfter}}
	deleted, err := p.cleanup(context.Background(), time.Now())
	if err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	if deleted != len(wantGone) {
		t.Errorf("deleted %d, want %d", deleted, len(wantGone))
	}
	left := fake.keys()
	slices.Sort(keep)
	if !slices.Equal(left, keep) {
		t.Errorf("left %v, want exactly %v", left, keep)
	}
}

func TestCleanupStopsAtADeleteError(t *testing.T) {
	fx := newFixture(t, fixtureOptions{})
	fx.presigner.stage("staging/"+aliceId+"/old", []byte("x"), 25*time.Hour)
	fx.presigner.deleteErr = errors.New("storage down")

	p := &plugin{app: fx.app, config: Config{Presigner: fx.presigner, StagingPrefix: DefaultStagingPrefix, StaleAfter: DefaultStaleAfter}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.cleanup(ctx, time.Now()); err == nil {
		t.Fatal("cleanup succeeded although every delete failed")
	}
	if ctx.Err() != nil {
		t.Fatal("cleanup looped until the deadline instead of stopping at the failed delete")
	}
}

func TestCleanupJobIsScheduledHourlyOnlyWithStorage(t *testing.T) {
	withStorage := newFixture(t, fixtureOptions{})
	var found bool
	for _, job := range withStorage.app.Cron().Jobs() {
		if job.Id() == CleanupJobId {
			found = true
			if job.Expression() != "0 * * * *" {
				t.Errorf("%s runs at %q, want hourly (0 * * * *)", CleanupJobId, job.Expression())
			}
		}
	}
	if !found {
		t.Errorf("no %s cron job", CleanupJobId)
	}

	// the job's body deletes through the configured presigner
	withStorage.presigner.stage("staging/"+aliceId+"/old", []byte("x"), 25*time.Hour)
	for _, job := range withStorage.app.Cron().Jobs() {
		if job.Id() == CleanupJobId {
			job.Run()
		}
	}
	if keys := withStorage.presigner.keys(); len(keys) != 0 {
		t.Errorf("after the job ran: %v left", keys)
	}

	without := newFixture(t, fixtureOptions{noPresigner: true})
	for _, job := range without.app.Cron().Jobs() {
		if job.Id() == CleanupJobId {
			t.Errorf("%s scheduled without S3 storage", CleanupJobId)
		}
	}
}

func TestRegisterNeedsProcessorWithPresigner(t *testing.T) {
	fx := newFixture(t, fixtureOptions{noPresigner: true})
	if err := Register(fx.app, Config{Presigner: newFakePresigner()}); err == nil {
		t.Error("Register accepted a Presigner without a Processor")
	}
}
