package chat

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
)

// hub is the registry of one process's WebSocket connections: by user and by room. It
// receives every chat event from the broker (one subscription per process) and queues the
// matching frames on the local connections of that room; an event of a room without local
// members costs one map look-up.
//
// A connection's room set is the hub's view of its membership. Membership events change it
// at once, and a connection's writer checks it again when it takes a frame of a room off its
// queue, so a removed member gets nothing more of that room, not even frames queued before the
// removal.
type hub struct {
	p      *plugin
	logger func() *slog.Logger

	mu     sync.RWMutex
	users  map[string]map[*conn]struct{} // user id -> local connections
	rooms  map[string]map[*conn]struct{} // room id -> local connections of its members
	closed bool
}

// memberOp is a membership change seen while a connection was loading its rooms.
type memberOp struct {
	room string
	join bool
}

func newHub(p *plugin) *hub {
	return &hub{
		p:      p,
		logger: func() *slog.Logger { return p.app.Logger() },
		users:  make(map[string]map[*conn]struct{}),
		rooms:  make(map[string]map[*conn]struct{}),
	}
}

// handle is the broker Handler: it decodes one event and fans it out locally. It never
// blocks on a connection (queues are bounded, overflow closes the connection) and never asks
// for redelivery: an event it cannot read is dropped.
func (h *hub) handle(_ context.Context, env Envelope) error {
	var ev event
	if err := json.Unmarshal(env.Data, &ev); err != nil || ev.Room == "" {
		h.logger().Debug("Dropped an unreadable chat event", "error", err)
		return nil
	}
	switch ev.Kind {
	case eventMessage:
		h.fanout(ev.Room, messageFrame(ev.Record), "")
	case eventMessageRemoved:
		h.fanout(ev.Room, roomFrame("message_removed", ev.Room, "", ev.Message), "")
	case eventRead:
		h.fanout(ev.Room, roomFrame("read", ev.Room, ev.User, ev.Message), ev.User)
	case eventTyping:
		h.fanout(ev.Room, roomFrame("typing", ev.Room, ev.User, ""), ev.User)
	case eventMemberJoined:
		h.setMember(ev.Room, ev.User, true, roomJoinedFrame(ev.Record))
		h.fanout(ev.Room, roomFrame("member_joined", ev.Room, ev.User, ""), ev.User)
	case eventMemberLeft:
		h.setMember(ev.Room, ev.User, false, roomFrame("room_left", ev.Room, "", ""))
		h.fanout(ev.Room, roomFrame("member_left", ev.Room, ev.User, ""), ev.User)
	case eventRoomDeleted:
		h.dropRoom(ev.Room)
	}
	return nil
}

// fanout queues frame, as a frame of room, on every local connection in room except those of
// the user except.
func (h *hub) fanout(room string, frame []byte, except string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.rooms[room] {
		if c.user != except {
			c.enqueue(outItem{room: room, data: frame})
		}
	}
}

// setMember adds room to (join) or removes it from the connections of user and queues notice
// on them (room_joined or room_left). Connections still loading record the change and apply it
// on top of what they load.
func (h *hub) setMember(room, user string, join bool, notice []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.users[user] {
		if c.loading {
			c.pending = append(c.pending, memberOp{room: room, join: join})
			continue
		}
		_, had := c.rooms[room]
		if join == had {
			continue
		}
		if join {
			h.addRoomLocked(c, room)
		} else {
			h.removeRoomLocked(c, room)
		}
		c.enqueue(outItem{data: notice})
	}
}

// dropRoom removes a deleted room from every local connection, with a room_left each.
func (h *hub) dropRoom(room string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	notice := roomFrame("room_left", room, "", "")
	for c := range h.rooms[room] {
		delete(c.rooms, room)
		c.enqueue(outItem{data: notice})
	}
	delete(h.rooms, room)
	for _, cs := range h.users {
		for c := range cs {
			if c.loading {
				c.pending = append(c.pending, memberOp{room: room})
			}
		}
	}
}

func (h *hub) addRoomLocked(c *conn, room string) {
	c.rooms[room] = struct{}{}
	cs := h.rooms[room]
	if cs == nil {
		cs = make(map[*conn]struct{})
		h.rooms[room] = cs
	}
	cs[c] = struct{}{}
}

func (h *hub) removeRoomLocked(c *conn, room string) {
	delete(c.rooms, room)
	if cs := h.rooms[room]; cs != nil {
		delete(cs, c)
		if len(cs) == 0 {
			delete(h.rooms, room)
		}
	}
}

// register adds an authenticated connection that is about to load its rooms. Membership
// events from now on are kept for it, so that none is lost between the load and activate.
// It returns false once the hub is closed.
func (h *hub) register(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	c.loading = true
	c.rooms = make(map[string]struct{})
	cs := h.users[c.user]
	if cs == nil {
		cs = make(map[*conn]struct{})
		h.users[c.user] = cs
	}
	cs[c] = struct{}{}
	return true
}

// activate sets the connection's rooms to those loaded from the database, applies the
// changes seen meanwhile, queues the ready frame and starts delivery, so that ready is the
// first frame and every later event of those rooms follows it.
func (h *hub) activate(c *conn, loaded []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, room := range loaded {
		h.addRoomLocked(c, room)
	}
	for _, op := range c.pending {
		if op.join {
			h.addRoomLocked(c, op.room)
		} else {
			h.removeRoomLocked(c, op.room)
		}
	}
	c.pending = nil
	c.loading = false
	rooms := make([]string, 0, len(c.rooms))
	for room := range c.rooms {
		rooms = append(rooms, room)
	}
	slices.Sort(rooms)
	c.enqueue(outItem{data: readyFrame(c.user, rooms)})
}

// unregister forgets a closed connection.
func (h *hub) unregister(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for room := range c.rooms {
		h.removeRoomLocked(c, room)
	}
	if cs := h.users[c.user]; cs != nil {
		delete(cs, c)
		if len(cs) == 0 {
			delete(h.users, c.user)
		}
	}
}

// inRoom reports whether c is (still) in room; the writer asks before each frame of a room.
func (h *hub) inRoom(c *conn, room string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	_, ok := c.rooms[room]
	return ok
}

// closeAll closes every connection with 1001 (going away) and refuses new ones.
func (h *hub) closeAll() {
	h.mu.Lock()
	h.closed = true
	var all []*conn
	for _, cs := range h.users {
		for c := range cs {
			all = append(all, c)
		}
	}
	h.mu.Unlock()
	for _, c := range all {
		c.close(statusGoingAway, "server shutting down")
	}
}

// connCount returns the number of registered connections.
func (h *hub) connCount() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, cs := range h.users {
		n += len(cs)
	}
	return n
}
