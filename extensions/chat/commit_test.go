package chat_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

// TestWSSendsStoredInBatches has 18 members of 3 rooms send at once, so that sends are stored
// several to a transaction, each sender resending one client_id, while each room's owner also
// sends through the records API: every message is stored once,
// every member receives its room's messages in the database's order, and the resend is acked
// with the original message.
func TestWSSendsStoredInBatches(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{})
	const rooms, perRoom, perSender, viaAPI = 3, 6, 8, 8
	var users [][]*core.Record
	var roomIds []string
	for r := range rooms {
		var members []*core.Record
		for m := range perRoom {
			members = append(members, testapp.CreateUser(t, app, fmt.Sprintf("r%dm%d", r, m)))
		}
		users = append(users, members)
		roomIds = append(roomIds, createRoom(t, app, members[0], members[1:]...).Id)
	}
	srv := testapp.Serve(t, app)
	clients := make([][]*client, rooms)
	for r := range rooms {
		for _, u := range users[r] {
			clients[r] = append(clients[r], connect(t, srv.URL, u))
		}
	}

	// the test holds the database's write connection while the sends arrive, so that they
	// queue up and are stored in batches however fast this machine commits
	held, release := make(chan struct{}), make(chan struct{})
	go app.RunInTransaction(func(core.App) error {
		close(held)
		<-release
		return nil
	})
	<-held

	var wg sync.WaitGroup
	for r := range rooms {
		for i, c := range clients[r] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range perSender {
					c.send(map[string]string{"type": "send", "room": roomIds[r], "text": fmt.Sprintf("%d-%d", i, j), "client_id": fmt.Sprintf("c%d", j)})
				}
				c.send(map[string]string{"type": "send", "room": roomIds[r], "text": "resent", "client_id": "c0"})
			}()
		}
	}
	// and the room's owner through the records API at the same time: the room locks keep each
	// room's publish order its database order across both ways in
	for r := range rooms {
		token := testapp.Token(t, users[r][0])
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range viaAPI {
				status, res := testapp.Do(t, srv, http.MethodPost, "/api/collections/chat_messages/records", token,
					map[string]any{"room": roomIds[r], "text": fmt.Sprint("api ", j)})
				if status != http.StatusOK {
					t.Errorf("Expected 200 from the records API, got %d %v", status, res)
				}
			}
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); chat.PendingSends(app) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Expected WebSocket sends waiting for the held database, %d are", chat.PendingSends(app))
		}
	}
	close(release)
	wg.Wait()

	for r := range rooms {
		received := make([][]string, len(clients[r]))
		for i, c := range clients[r] {
			first, resent := "", "" // the acks of c0 and of its resend
			for len(received[i]) < perRoom*perSender+viaAPI || resent == "" {
				f := c.next()
				switch f.str("type") {
				case "message":
					received[i] = append(received[i], f.msg().str("id"))
				case "ack":
					if f.str("client_id") != "c0" {
						break
					}
					if first == "" {
						first = f.msg().str("id")
					} else {
						resent = f.msg().str("id")
					}
				case "error":
					t.Fatalf("room %d member %d: unexpected error %v", r, i, f)
				}
			}
			if resent != first {
				t.Fatalf("room %d member %d: the resend was acked with %s, not the original %s", r, i, resent, first)
			}
		}
		records, err := app.FindRecordsByFilter(collections.ChatMessages, "room = {:room}", "created,id", 0, 0, dbx.Params{"room": roomIds[r]})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, m := range records {
			want = append(want, m.Id)
		}
		if len(want) != perRoom*perSender+viaAPI {
			t.Fatalf("room %d: expected %d stored messages, got %d", r, perRoom*perSender+viaAPI, len(want))
		}
		for i, got := range received {
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("room %d member %d: expected the database order\n%v\ngot\n%v", r, i, want, got)
			}
		}
	}
	if n := chat.MaxCommitBatch(app); n < 2 {
		t.Fatalf("Expected concurrent sends stored several to a transaction, the largest batch was %d", n)
	}
}
