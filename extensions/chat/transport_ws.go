package chat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

var errNotChatUser = errors.New("chat: not an active user")

// clientFrame is any client -> server frame; fields a type does not use are ignored (a
// "sender" among them: the sender is always the authenticated user).
type clientFrame struct {
	Type     string `json:"type"`
	Token    string `json:"token"`
	Room     string `json:"room"`
	Text     string `json:"text"`
	ClientId string `json:"client_id"`
	Message  string `json:"message"`
	Since    string `json:"since"`
}

// chatConnect upgrades GET /api/chat/ws and serves the connection until it closes.
func (p *plugin) chatConnect(e *core.RequestEvent) error {
	// a hijacked connection keeps the server's read and write deadlines (minutes in
	// apis.Serve), which would cut every WebSocket after that long
	rc := http.NewResponseController(e.Response)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})

	ws, err := websocket.Accept(e.Response, e.Request, &websocket.AcceptOptions{
		// note: any origin, like the records API: auth is a token sent by the client, never a
		// cookie, so a foreign page cannot ride on a user's session
		InsecureSkipVerify: true,
	})
	if err != nil {
		// Accept has answered the request already
		e.App.Logger().Debug("Failed to accept a chat WebSocket", "error", err)
		return nil
	}
	ws.SetReadLimit(int64(p.cfg.MaxFrame) + 1024)

	// note: served on a goroutine of its own, and the handler returns: the handler's
	// goroutine has the deep stack of the router and its middlewares, which a connection
	// that stays open for hours would keep (about 16 KiB per connection); the hijacked
	// connection no longer belongs to the HTTP server, and e is not used past this point
	c := newConn(p, ws)
	go p.serveConn(c, headerToken(e.Request))
	return nil
}

func headerToken(r *http.Request) string {
	token := r.Header.Get("Authorization")
	if len(token) > 7 && strings.EqualFold(token[:7], "Bearer ") {
		return token[7:]
	}
	return token
}

// serveConn authenticates c and registers it with the hub, then hands it to its read loop.
func (p *plugin) serveConn(c *conn, token string) {
	reading := false
	defer func() {
		if !reading {
			c.cancel()
		}
	}()
	if token == "" {
		token = c.readAuth()
		if token == "" {
			return
		}
	}
	user, err := authenticate(p.app, token)
	if err != nil {
		c.writeNow(errorFrame(codeUnauthorized, "Invalid or expired token.", "auth"))
		c.close(statusUnauthorized, "unauthorized")
		return
	}
	c.user, c.token = user.Id, token

	if !p.hub.register(c) {
		c.close(statusGoingAway, "server shutting down")
		return
	}

	var rooms []string
	err = p.app.DB().Select("room").From(collections.ChatMembers).
		Where(dbx.HashExp{"user": c.user}).Column(&rooms)
	if err != nil {
		p.hub.unregister(c)
		p.app.Logger().Error("Failed to load the chat rooms of a user", "error", err, "user", c.user)
		c.close(websocket.StatusInternalError, "internal error")
		return
	}
	p.hub.activate(c, rooms) // queues ready, which starts the writer
	c.startPings()

	// note: the read loop starts on a fresh goroutine, with a small stack: this one's grew
	// during the set-up (token check, SQL), and an idle connection would keep it for hours
	reading = true
	go c.readLoop()
}

// readLoop reads and handles c's frames until the connection closes, then unregisters it.
func (c *conn) readLoop() {
	defer c.cancel()
	defer c.p.hub.unregister(c)
	defer c.stopPings()
	for {
		f, ok := c.readFrame()
		if !ok {
			return
		}
		if f != nil {
			c.dispatch(f)
		}
	}
}

// readAuth waits AuthTimeout for the first frame, which must be an auth frame, and returns
// its token; on anything else it closes the connection with 4001 and returns "".
func (c *conn) readAuth() string {
	timer := time.AfterFunc(c.p.cfg.AuthTimeout, func() {
		c.writeNow(errorFrame(codeUnauthorized, "No auth frame in time.", "auth"))
		c.close(statusUnauthorized, "auth timeout")
	})
	defer timer.Stop()
	for {
		f, ok := c.readFrame()
		if !ok || c.ctx.Err() != nil {
			return ""
		}
		if f == nil {
			continue // malformed, answered with bad_request
		}
		if f.Type != "auth" || f.Token == "" {
			c.writeNow(errorFrame(codeUnauthorized, "The first frame must be an auth frame with a token.", f.Type))
			c.close(statusUnauthorized, "unauthorized")
			return ""
		}
		return f.Token
	}
}

// readFrame reads one client frame. ok is false once the connection is done; a nil frame
// with ok true was malformed and has been answered with a bad_request error.
func (c *conn) readFrame() (f *clientFrame, ok bool) {
	// note: a background context, because cancelling a read closes the connection at once,
	// without the close frame that close sends
	typ, r, err := c.ws.Reader(context.Background())
	if err != nil {
		c.cancel()
		return nil, false
	}
	if typ != websocket.MessageText {
		c.close(statusUnsupported, "binary frames are not supported")
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(c.p.cfg.MaxFrame)+1))
	if err != nil {
		c.cancel()
		return nil, false
	}
	if len(data) > c.p.cfg.MaxFrame {
		c.writeNow(errorFrame(codeTooLarge, "Frames are at most 16 KiB.", ""))
		c.close(statusTooBig, "frame too large")
		return nil, false
	}
	f = &clientFrame{}
	if err := json.Unmarshal(data, f); err != nil {
		c.enqueue(outItem{data: errorFrame(codeBadRequest, "Malformed JSON frame.", "")})
		return nil, true
	}
	return f, true
}

// dispatch answers one frame of an authenticated connection.
func (c *conn) dispatch(f *clientFrame) {
	switch f.Type {
	case "ping":
		c.enqueue(outItem{data: pongFrame})
	case "auth":
		c.reply(codeBadRequest, "Already authenticated.", "auth")
	case "send":
		c.handleSend(f)
	case "read":
		c.handleRead(f)
	case "typing":
		c.handleTyping(f)
	case "sync":
		if !c.syncing.CompareAndSwap(false, true) {
			c.reply(codeBadRequest, "A sync is already running.", "sync")
			return
		}
		go c.runSync(f.Since)
	default:
		c.reply(codeBadRequest, "Unknown frame type.", f.Type)
	}
}

func (c *conn) reply(code, message, ref string) {
	c.enqueue(outItem{data: errorFrame(code, message, ref)})
}

func (c *conn) handleSend(f *clientFrame) {
	ref := f.ClientId
	if ref == "" {
		ref = "send"
	}
	if !c.lim.allow(time.Now()) {
		c.reply(codeRateLimited, "Too many frames; slow down.", ref)
		return
	}
	switch n := utf8.RuneCountInString(f.Text); {
	case f.Room == "":
		c.reply(codeBadRequest, "room is required.", ref)
		return
	case strings.TrimSpace(f.Text) == "" || n > maxMessageText:
		c.reply(codeBadRequest, "text must be 1 to 2000 characters.", ref)
		return
	case len(f.ClientId) > maxClientId:
		c.reply(codeBadRequest, "client_id is at most 64 characters.", ref)
		return
	}
	raw, err := c.p.sendMessage(f.Room, c.user, f.Text, f.ClientId)
	switch {
	case errors.Is(err, errNotMember):
		c.reply(codeNotMember, "Not a member of this room.", ref)
		return
	case errors.As(err, new(invalidFieldsError)):
		c.reply(codeBadRequest, err.Error(), ref)
		return
	case errors.Is(err, errNotChatUser):
		// suspended (or deleted) since the last token check: as the next ping would
		c.writeNow(errorFrame(codeUnauthorized, "The account is no longer active.", ref))
		c.close(statusUnauthorized, "token no longer valid")
		return
	case err != nil:
		c.p.app.Logger().Error("Failed to store a chat message", "error", err, "room", f.Room, "user", c.user)
		c.reply(codeInternal, "Failed to store the message.", ref)
		return
	}
	c.enqueue(outItem{data: ackFrame(f.ClientId, raw)})
}

func (c *conn) handleRead(f *clientFrame) {
	if !c.lim.allow(time.Now()) {
		c.reply(codeRateLimited, "Too many frames; slow down.", "read")
		return
	}
	if f.Room == "" || f.Message == "" {
		c.reply(codeBadRequest, "room and message are required.", "read")
		return
	}
	ok, err := isMember(c.p.app, f.Room, c.user)
	if err != nil {
		c.reply(codeInternal, "Failed to move the read cursor.", "read")
		return
	}
	if !ok {
		c.reply(codeNotMember, "Not a member of this room.", "read")
		return
	}
	switch err := c.p.markRead(f.Room, c.user, f.Message); {
	case errors.Is(err, errUnknownMessage):
		c.reply(codeBadRequest, "message must be the id of a message of this room.", "read")
	case err != nil:
		c.reply(codeInternal, "Failed to move the read cursor.", "read")
	}
}

func (c *conn) handleTyping(f *clientFrame) {
	if !c.lim.allow(time.Now()) {
		c.reply(codeRateLimited, "Too many frames; slow down.", "typing")
		return
	}
	if f.Room == "" {
		c.reply(codeBadRequest, "room is required.", "typing")
		return
	}
	// note: the hub's view of the membership, not the database: typing is frequent and
	// nothing is stored
	if !c.p.hub.inRoom(c, f.Room) {
		c.reply(codeNotMember, "Not a member of this room.", "typing")
		return
	}
	c.p.publish(event{Kind: eventTyping, Room: f.Room, User: c.user})
}
