package chat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
	"github.com/tangerine-market/tangerine/extensions/chat"
	"github.com/tangerine-market/tangerine/internal/testapp"
)

func TestWSAuth(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{AuthTimeout: 300 * time.Millisecond})
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	room := createRoom(t, app, alice, bob)
	srv := testapp.Serve(t, app)

	t.Run("header", func(t *testing.T) {
		c := dial(t, srv.URL, testapp.Token(t, alice))
		f := c.expect("ready")
		rooms, _ := f["rooms"].([]any)
		if f.str("user") != alice.Id || len(rooms) != 1 || rooms[0] != room.Id {
			t.Fatalf("Expected ready for alice with her room, got %v", f)
		}
	})
	t.Run("bearer header", func(t *testing.T) {
		c := dial(t, srv.URL, "Bearer "+testapp.Token(t, bob))
		if f := c.expect("ready"); f.str("user") != bob.Id {
			t.Fatalf("Expected ready for bob, got %v", f)
		}
	})
	t.Run("first frame", func(t *testing.T) {
		c := dial(t, srv.URL, "")
		c.send(map[string]string{"type": "auth", "token": testapp.Token(t, bob)})
		if f := c.expect("ready"); f.str("user") != bob.Id {
			t.Fatalf("Expected ready for bob, got %v", f)
		}
	})

	closed := []struct {
		name   string
		header string
		frame  any
	}{
		{"bad header token", "not-a-token", nil},
		{"expired header token", expiredToken(t, alice), nil},
		{"bad token in auth frame", "", map[string]string{"type": "auth", "token": "nope"}},
		{"expired token in auth frame", "", map[string]string{"type": "auth", "token": expiredToken(t, alice)}},
		{"first frame not auth", "", map[string]string{"type": "ping"}},
		{"no auth frame in time", "", nil},
	}
	for i, s := range closed {
		t.Run(fmt.Sprintf("%d_%s", i, s.name), func(t *testing.T) {
			c := dial(t, srv.URL, s.header)
			if s.frame != nil {
				c.send(s.frame)
			}
			before := c.expectClose(4001)
			if len(before) != 1 || before[0].str("code") != "unauthorized" {
				t.Fatalf("Expected one unauthorized error frame before the close, got %v", before)
			}
		})
	}
}

func TestWSSend(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{})
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	carol := testapp.CreateUser(t, app, "carol")
	room := createRoom(t, app, alice, bob)
	other := createRoom(t, app, carol)
	srv := testapp.Serve(t, app)
	a := connect(t, srv.URL, alice)
	b := connect(t, srv.URL, bob)

	t.Run("spoofed sender is ignored", func(t *testing.T) {
		a.send(map[string]string{"type": "send", "room": room.Id, "text": "hi", "client_id": "c1", "sender": bob.Id})
		got := map[string]frame{}
		for len(got) < 2 {
			f := a.next()
			got[f.str("type")] = f
		}
		ack := got["ack"]
		if ack.str("client_id") != "c1" || ack.msg().str("sender") != alice.Id || ack.msg().str("text") != "hi" {
			t.Fatalf("Expected an ack of alice's message, got %v", ack)
		}
		if got["message"].msg().str("id") != ack.msg().str("id") {
			t.Fatalf("Expected the sender to receive her message too, got %v", got)
		}
		if m := b.expect("message").msg(); m.str("sender") != alice.Id || m.str("id") != ack.msg().str("id") {
			t.Fatalf("Expected bob to receive alice's message, got %v", m)
		}
	})

	t.Run("not a member", func(t *testing.T) {
		for _, roomId := range []string{other.Id, "nosuchroom12345"} {
			a.send(map[string]string{"type": "send", "room": roomId, "text": "hi", "client_id": "nm"})
			if f := a.skipTo("error"); f.str("code") != "not_member" || f.str("ref") != "nm" {
				t.Fatalf("Expected not_member, got %v", f)
			}
		}
	})

	t.Run("membership is checked in the database at the send", func(t *testing.T) {
		// dave's membership row goes away by plain SQL: no event reaches the hub, whose view
		// of his rooms still holds the room; the send is refused all the same
		dave := testapp.CreateUser(t, app, "dave")
		r := createRoom(t, app, dave, alice)
		d := connect(t, srv.URL, dave)
		if _, err := app.DB().NewQuery("DELETE FROM chat_members WHERE room = {:room} AND user = {:user}").
			Bind(dbx.Params{"room": r.Id, "user": dave.Id}).Execute(); err != nil {
			t.Fatal(err)
		}
		d.send(map[string]string{"type": "send", "room": r.Id, "text": "hi", "client_id": "gone"})
		if f := d.skipTo("error"); f.str("code") != "not_member" || f.str("ref") != "gone" {
			t.Fatalf("Expected not_member, got %v", f)
		}
		if n, err := app.CountRecords(collections.ChatMessages, dbx.HashExp{"room": r.Id}); err != nil || n != 0 {
			t.Fatalf("Expected nothing stored, got %d (%v)", n, err)
		}
	})

	t.Run("a suspended sender is refused and disconnected", func(t *testing.T) {
		// erin is suspended by plain SQL, so that her token stays valid until the next ping:
		// the send itself finds her status
		erin := testapp.CreateUser(t, app, "erin")
		r := createRoom(t, app, erin, alice)
		e := connect(t, srv.URL, erin)
		if _, err := app.DB().NewQuery("UPDATE users SET status = 'suspended' WHERE id = {:id}").
			Bind(dbx.Params{"id": erin.Id}).Execute(); err != nil {
			t.Fatal(err)
		}
		e.send(map[string]string{"type": "send", "room": r.Id, "text": "hi", "client_id": "sus"})
		before := e.expectClose(4001)
		if len(before) != 1 || before[0].str("code") != "unauthorized" || before[0].str("ref") != "sus" {
			t.Fatalf("Expected one unauthorized error frame before the close, got %v", before)
		}
		if n, err := app.CountRecords(collections.ChatMessages, dbx.HashExp{"room": r.Id}); err != nil || n != 0 {
			t.Fatalf("Expected nothing stored, got %d (%v)", n, err)
		}
	})

	t.Run("an id that is taken is replaced", func(t *testing.T) {
		taken := testapp.Create(t, app, collections.ChatMessages, map[string]any{"room": room.Id, "sender": bob.Id, "text": "first"})
		ids := []string{taken.Id}
		chat.SetMessageIds(app, func() string {
			if len(ids) > 0 {
				id := ids[0]
				ids = ids[1:]
				return id
			}
			return "zzzzzzzzzzzzzzz"
		})
		defer chat.SetMessageIds(app, func() string { return "" })
		a.send(map[string]string{"type": "send", "room": room.Id, "text": "second", "client_id": "taken-id"})
		ack := a.skipTo("ack")
		if ack.msg().str("id") != "zzzzzzzzzzzzzzz" || ack.msg().str("text") != "second" {
			t.Fatalf("Expected the send stored under a new id, got %v", ack)
		}
		if got := testapp.Reload(t, app, taken); got.GetString("text") != "first" {
			t.Fatalf("Expected the message that had the id untouched, got %q", got.GetString("text"))
		}
		for _, want := range []string{"first", "second"} {
			if m := b.expect("message").msg(); m.str("text") != want {
				t.Fatalf("Expected bob to get %q, got %v", want, m)
			}
		}
	})

	t.Run("duplicate client_id stores one message", func(t *testing.T) {
		a.send(map[string]string{"type": "send", "room": room.Id, "text": "once", "client_id": "dup"})
		a.send(map[string]string{"type": "send", "room": room.Id, "text": "once", "client_id": "dup"})
		var acks []string
		for _, f := range a.barrier() {
			if f.str("type") == "ack" {
				acks = append(acks, f.msg().str("id"))
			}
		}
		if len(acks) != 2 || acks[0] != acks[1] {
			t.Fatalf("Expected two acks of one message, got %v", acks)
		}
		n, err := app.CountRecords(collections.ChatMessages, dbx.HashExp{"client_id": "dup"})
		if err != nil || n != 1 {
			t.Fatalf("Expected 1 stored message, got %d (%v)", n, err)
		}
		// a later message is the barrier: bob gets the duplicate once, before it
		a.send(map[string]string{"type": "send", "room": room.Id, "text": "after", "client_id": "after-dup"})
		var texts []string
		for {
			m := b.expect("message").msg()
			texts = append(texts, m.str("text"))
			if m.str("text") == "after" {
				break
			}
		}
		if strings.Join(texts, ",") != "once,after" {
			t.Fatalf("Expected bob to get once,after, got %v", texts)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for i, f := range []map[string]string{
			{"type": "send", "room": room.Id, "text": "", "client_id": "b1"},
			{"type": "send", "room": room.Id, "text": strings.Repeat("x", 2001), "client_id": "b2"},
			{"type": "send", "room": room.Id, "text": "x", "client_id": strings.Repeat("x", 65)},
			{"type": "send", "text": "x", "client_id": "b4"},
		} {
			a.send(f)
			if e := a.skipTo("error"); e.str("code") != "bad_request" {
				t.Fatalf("%d: expected bad_request, got %v", i, e)
			}
		}
	})
}

func TestWSOrderUnderConcurrentSenders(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{})
	owner := testapp.CreateUser(t, app, "owner")
	var others []*core.Record
	for i := 1; i < 4; i++ {
		others = append(others, testapp.CreateUser(t, app, fmt.Sprintf("user%d", i)))
	}
	room := createRoom(t, app, owner, others...)
	srv := testapp.Serve(t, app)
	users := []*client{connect(t, srv.URL, owner)}
	for _, u := range others {
		users = append(users, connect(t, srv.URL, u))
	}

	const perSender = 15
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perSender {
				u.send(map[string]string{"type": "send", "room": room.Id, "text": fmt.Sprintf("%d-%d", i, j), "client_id": fmt.Sprintf("%d-%d", i, j)})
			}
		}()
	}
	wg.Wait()

	total := perSender * len(users)
	received := make([][]string, len(users))
	for i, u := range users {
		for len(received[i]) < total {
			if f := u.next(); f.str("type") == "message" {
				received[i] = append(received[i], f.msg().str("id"))
			}
		}
	}
	var want []string
	records, err := app.FindRecordsByFilter(collections.ChatMessages, "room = {:room}", "created,id", 0, 0, dbx.Params{"room": room.Id})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		want = append(want, r.Id)
	}
	if len(want) != total {
		t.Fatalf("Expected %d stored messages, got %d", total, len(want))
	}
	for i, got := range received {
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("user %d: expected the database order\n%v\ngot\n%v", i, want, got)
		}
	}
}

func TestWSTypingAndRead(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{})
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	room := createRoom(t, app, alice, bob)
	srv := testapp.Serve(t, app)
	a := connect(t, srv.URL, alice)
	b := connect(t, srv.URL, bob)

	a.send(map[string]string{"type": "typing", "room": room.Id})
	if f := b.expect("typing"); f.str("room") != room.Id || f.str("user") != alice.Id {
		t.Fatalf("Expected alice typing in the room, got %v", f)
	}

	a.send(map[string]string{"type": "send", "room": room.Id, "text": "read me", "client_id": "r1"})
	m := b.expect("message").msg()
	b.send(map[string]string{"type": "read", "room": room.Id, "message": m.str("id")})
	var read frame
	for read == nil {
		if f := a.next(); f.str("type") == "read" {
			read = f
		} else if f.str("type") == "typing" {
			t.Fatalf("Expected no typing frame of one's own, got %v", f)
		}
	}
	if read.str("user") != bob.Id || read.str("message") != m.str("id") || read.str("room") != room.Id {
		t.Fatalf("Expected bob's read of the message, got %v", read)
	}
	member, err := app.FindFirstRecordByFilter(collections.ChatMembers, "room = {:r} && user = {:u}", dbx.Params{"r": room.Id, "u": bob.Id})
	if err != nil {
		t.Fatal(err)
	}
	if got := member.GetDateTime("last_read_at").String(); got != m.str("created") {
		t.Fatalf("Expected last_read_at %q, got %q", m.str("created"), got)
	}

	b.send(map[string]string{"type": "read", "room": room.Id, "message": "nosuchmessage12"})
	if f := b.expect("error"); f.str("code") != "bad_request" {
		t.Fatalf("Expected bad_request for an unknown message, got %v", f)
	}
}

func TestWSMembershipChanges(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{})
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	side := createRoom(t, app, alice, bob) // a second room, used as an ordering barrier
	srv := testapp.Serve(t, app)
	a := connect(t, srv.URL, alice)
	b := connect(t, srv.URL, bob)

	// room_joined without reconnect
	status, res := testapp.Do(t, srv, http.MethodPost, "/api/chat/rooms", testapp.Token(t, alice),
		map[string]any{"name": "new", "members": []string{bob.Id}})
	if status != http.StatusOK {
		t.Fatalf("Expected 200, got %d %v", status, res)
	}
	roomId, _ := res["id"].(string)
	if f := b.expect("room_joined"); frame(f["room"].(map[string]any)).str("id") != roomId {
		t.Fatalf("Expected room_joined of the new room, got %v", f)
	}
	if f := a.expect("room_joined"); frame(f["room"].(map[string]any)).str("id") != roomId {
		t.Fatalf("Expected the creator to get room_joined too, got %v", f)
	}
	a.send(map[string]string{"type": "send", "room": roomId, "text": "welcome", "client_id": "w"})
	for {
		f := b.next()
		if f.str("type") == "message" && f.msg().str("text") == "welcome" {
			break
		}
		if f.str("type") != "member_joined" {
			t.Fatalf("Expected the welcome message, got %v", f)
		}
	}

	// kicked: room_left, then nothing of that room
	status, _ = testapp.Do(t, srv, http.MethodDelete, "/api/chat/rooms/"+roomId+"/members/"+bob.Id, testapp.Token(t, alice), nil)
	if status != http.StatusNoContent {
		t.Fatalf("Expected 204, got %d", status)
	}
	if f := b.expect("room_left"); f.str("room") != roomId {
		t.Fatalf("Expected room_left, got %v", f)
	}
	a.send(map[string]string{"type": "send", "room": roomId, "text": "secret", "client_id": "s"})
	a.send(map[string]string{"type": "typing", "room": roomId})
	a.send(map[string]string{"type": "send", "room": side.Id, "text": "barrier", "client_id": "b"})
	for {
		f := b.next()
		if f.str("room") == roomId || f.msg().str("room") == roomId {
			t.Fatalf("Expected nothing more of the room after the kick, got %v", f)
		}
		if f.str("type") == "message" && f.msg().str("text") == "barrier" {
			break
		}
	}
	b.send(map[string]string{"type": "send", "room": roomId, "text": "let me in", "client_id": "x"})
	if f := b.expect("error"); f.str("code") != "not_member" {
		t.Fatalf("Expected not_member after the kick, got %v", f)
	}
}

func TestWSBadFrames(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{})
	alice := testapp.CreateUser(t, app, "alice")
	srv := testapp.Serve(t, app)

	t.Run("malformed JSON and unknown type keep the connection", func(t *testing.T) {
		c := connect(t, srv.URL, alice)
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := c.ws.Write(ctx, websocket.MessageText, []byte(`{"type":`)); err != nil {
			t.Fatal(err)
		}
		if f := c.expect("error"); f.str("code") != "bad_request" {
			t.Fatalf("Expected bad_request, got %v", f)
		}
		c.send(map[string]string{"type": "dance"})
		if f := c.expect("error"); f.str("code") != "bad_request" || f.str("ref") != "dance" {
			t.Fatalf("Expected bad_request for the unknown type, got %v", f)
		}
		c.send(map[string]string{"type": "ping"})
		c.expect("pong")
	})

	t.Run("17 KiB frame", func(t *testing.T) {
		c := connect(t, srv.URL, alice)
		big := fmt.Sprintf(`{"type":"ping","pad":%q}`, strings.Repeat("x", 17<<10))
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := c.ws.Write(ctx, websocket.MessageText, []byte(big)); err != nil {
			t.Fatal(err)
		}
		before := c.expectClose(websocket.StatusMessageTooBig)
		if len(before) != 1 || before[0].str("code") != "too_large" {
			t.Fatalf("Expected a too_large error before the close, got %v", before)
		}
	})

	t.Run("binary frame", func(t *testing.T) {
		c := connect(t, srv.URL, alice)
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := c.ws.Write(ctx, websocket.MessageBinary, []byte(`{"type":"ping"}`)); err != nil {
			t.Fatal(err)
		}
		c.expectClose(websocket.StatusUnsupportedData)
	})
}

func TestWSRateLimit(t *testing.T) {
	t.Parallel()
	// a refill too slow to matter within the test, so the count is exact however slow the
	// machine is (the default 20/s burst 40 is checked in TestTokenBucket and TestConfigDefaults)
	app := newApp(t, chat.Config{SendRate: 0.001, SendBurst: 5})
	alice := testapp.CreateUser(t, app, "alice")
	room := createRoom(t, app, alice)
	srv := testapp.Serve(t, app)
	a := connect(t, srv.URL, alice)

	const sent = 8
	for i := range sent {
		a.send(map[string]string{"type": "send", "room": room.Id, "text": "x", "client_id": fmt.Sprint(i)})
	}
	a.send(map[string]string{"type": "typing", "room": room.Id})
	acks, limited := 0, 0
	for acks+limited < sent+1 {
		switch f := a.next(); {
		case f.str("type") == "ack":
			acks++
		case f.str("code") == "rate_limited":
			limited++
		}
	}
	if acks != 5 || limited != 4 {
		t.Fatalf("Expected 5 acks and 4 rate_limited (3 sends, 1 typing), got %d acks, %d limited", acks, limited)
	}
	a.send(map[string]string{"type": "ping"})
	a.skipTo("pong") // the connection stays open
}

// TestWSStuckWriteClosed: a peer that stops reading while its queue has room (the TCP window
// full, the write blocked) is disconnected by the write guard after WriteTimeout, instead of
// holding its writer forever.
func TestWSStuckWriteClosed(t *testing.T) {
	t.Parallel()
	broker := chat.NewMemoryBroker()
	app := newApp(t, chat.Config{Broker: broker, QueueSize: 100_000, WriteTimeout: 300 * time.Millisecond})
	alice := testapp.CreateUser(t, app, "alice")
	room := createRoom(t, app, alice)
	srv := testapp.Serve(t, app)

	ws := dialRaw(t, srv.URL, testapp.Token(t, alice)) // does not read for now
	big := map[string]any{"id": "x", "room": room.Id, "text": strings.Repeat("가", 20000)}
	const frames = 400 // 24 MB: far more than the socket buffers hold; the queue holds them all
	for range frames {
		if err := broker.Publish(context.Background(), "tangerine-chat", chat.MessageEnvelope(room.Id, big)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // > WriteTimeout: the blocked write expires
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()
	got := 0
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("Expected the server to drop the connection; it was still open after %d frames", got)
			}
			break
		}
		got++
	}
	if got >= frames {
		t.Fatalf("Expected the connection dropped before all %d frames, got them all", frames)
	}
}

func TestWSSlowConsumerClosed4008(t *testing.T) {
	t.Parallel()
	broker := chat.NewMemoryBroker()
	app := newApp(t, chat.Config{Broker: broker, QueueSize: 8})
	alice := testapp.CreateUser(t, app, "alice")
	room := createRoom(t, app, alice)
	srv := testapp.Serve(t, app)

	ws := dialRaw(t, srv.URL, testapp.Token(t, alice)) // never reads until the end
	big := map[string]any{"id": "x", "room": room.Id, "text": strings.Repeat("가", 20000)}
	// 400 frames of 60 KB: far more than the socket buffers and the queue of 8 hold
	for range 400 {
		if err := broker.Publish(context.Background(), "tangerine-chat", chat.MessageEnvelope(room.Id, big)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			if got := websocket.CloseStatus(err); got != 4008 {
				t.Fatalf("Expected close code 4008, got %d (%v)", got, err)
			}
			return
		}
	}
}

// TestWSSendFollowsTheCollection: a WebSocket send is saved without PocketBase's validation
// pass, but a field rule tightened in the dashboard still holds for it (bad_request naming the
// field, nothing stored), and a hook that fails after the commit does not turn a stored
// message into an error.
func TestWSSendFollowsTheCollection(t *testing.T) {
	t.Parallel()
	app := newApp(t, chat.Config{})
	alice := testapp.CreateUser(t, app, "alice")
	bob := testapp.CreateUser(t, app, "bob")
	room := createRoom(t, app, alice, bob)
	coll, err := app.FindCollectionByNameOrId(collections.ChatMessages)
	if err != nil {
		t.Fatal(err)
	}
	coll.Fields.GetByName("text").(*core.TextField).Max = 5
	if err := app.Save(coll); err != nil {
		t.Fatal(err)
	}
	app.OnRecordAfterCreateSuccess(collections.ChatMessages).BindFunc(func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		return errors.New("a hook that fails after the commit")
	})
	srv := testapp.Serve(t, app)
	a := connect(t, srv.URL, alice)

	a.send(map[string]string{"type": "send", "room": room.Id, "text": "too long", "client_id": "long"})
	if f := a.skipTo("error"); f.str("code") != "bad_request" || !strings.HasPrefix(f.str("message"), "text: ") || f.str("ref") != "long" {
		t.Fatalf("Expected a bad_request naming text, got %v", f)
	}
	// (no client_id: with one, a failed send would look its message up and ack that)
	a.send(map[string]string{"type": "send", "room": room.Id, "text": "short"})
	if f := a.skipTo("ack"); f.msg().str("text") != "short" {
		t.Fatalf("Expected the stored message acked, got %v", f)
	}
	n, err := app.CountRecords(collections.ChatMessages, dbx.HashExp{"room": room.Id})
	if err != nil || n != 1 {
		t.Fatalf("Expected only the short message stored, got %d (%v)", n, err)
	}
}
