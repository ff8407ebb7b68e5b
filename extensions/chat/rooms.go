package chat

import (
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

func bindRoomRoutes(p *plugin, se *core.ServeEvent) {
	g := se.Router.Group("/api/chat/rooms")
	g.Bind(apis.RequireAuth(collections.Users))
	g.POST("", p.roomsCreate)
	g.GET("", p.roomsList)
	g.POST("/{id}/members", p.membersAdd)
	g.DELETE("/{id}/members/{userId}", p.membersRemove)
	g.POST("/{id}/leave", p.roomsLeave)
	g.GET("/{id}/messages", p.messagesList)
	g.POST("/{id}/read", p.readCreate)
}

// roomForm is the body of POST /api/chat/rooms.
type roomForm struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
	Direct  bool     `json:"direct"`
}

// Validate checks the name and the shape of members; me is the creator, who need not be
// listed. It leaves in Members the other users, de-duplicated.
func (f *roomForm) Validate(me string) error {
	f.Members = otherIds(f.Members, me)
	if utf8.RuneCountInString(f.Name) > maxRoomName {
		return validation.Errors{"name": validation.NewError("validation_length_too_long", "Must be at most 100 characters.")}
	}
	if f.Direct && len(f.Members) != 1 {
		return validation.Errors{"members": validation.NewError("validation_direct_members", "A direct room takes exactly one other user.")}
	}
	if len(f.Members) > maxListedMembers {
		return validation.Errors{"members": validation.NewError("validation_too_many", "At most 100 users per request.")}
	}
	return nil
}

// otherIds drops empty ids, me and duplicates, keeping the order.
func otherIds(ids []string, me string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && id != me && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// checkActiveUsers returns a 400 naming field unless every id is an existing active user.
func checkActiveUsers(e *core.RequestEvent, field string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	var n int
	err := e.App.DB().Select("count(*)").From(collections.Users).
		Where(dbx.In("id", args...)).AndWhere(dbx.HashExp{"status": collections.UserActive}).Row(&n)
	if err != nil {
		return e.InternalServerError("Failed to check the users.", err)
	}
	if n != len(ids) {
		return e.BadRequestError("Invalid users.", validation.Errors{
			field: validation.NewError("validation_unknown_users", "Every id must be an existing active user."),
		})
	}
	return nil
}

// roomsCreate creates a room owned by the auth user, or returns the existing direct room of
// the pair.
//
// Direct rooms are unique per pair without a schema change: the look-up of an existing
// direct room of both users and the insert run in one transaction. PocketBase sends every
// write through one connection, so in a process the transactions run one after another; and
// across processes sharing the SQLite file (WAL), a transaction whose read was overtaken by
// another writer cannot commit (SQLITE_BUSY_SNAPSHOT), so no second room appears.
func (p *plugin) roomsCreate(e *core.RequestEvent) error {
	var form roomForm
	if err := e.BindBody(&form); err != nil {
		return e.BadRequestError("Failed to read the request body.", err)
	}
	me := e.Auth.Id
	if err := form.Validate(me); err != nil {
		return e.BadRequestError("Invalid room.", err)
	}
	if err := checkActiveUsers(e, "members", form.Members); err != nil {
		return err
	}

	var room *core.Record
	err := e.App.RunInTransaction(func(txApp core.App) error {
		if form.Direct {
			existing, err := findDirectRoom(txApp, me, form.Members[0])
			if err != nil {
				return err
			}
			if existing != nil {
				room = existing
				return nil
			}
		}
		rooms, err := txApp.FindCachedCollectionByNameOrId(collections.ChatRooms)
		if err != nil {
			return err
		}
		room = core.NewRecord(rooms)
		if !form.Direct {
			room.Set("name", form.Name)
		}
		room.Set("owner", me)
		room.Set("is_direct", form.Direct)
		if err := txApp.Save(room); err != nil {
			return err
		}
		if err := addMember(txApp, room.Id, me, "owner"); err != nil {
			return err
		}
		for _, id := range form.Members {
			if err := addMember(txApp, room.Id, id, "member"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return e.InternalServerError("Failed to create the room.", err)
	}
	return p.respondRoom(e, room, maxRoomMembers)
}

// findDirectRoom returns the direct room of users a and b, or nil.
func findDirectRoom(app core.App, a, b string) (*core.Record, error) {
	room := &core.Record{}
	err := app.RecordQuery(collections.ChatRooms).
		InnerJoin("{{chat_members}} ma", dbx.NewExp("[[ma.room]] = [[chat_rooms.id]] AND [[ma.user]] = {:a}", dbx.Params{"a": a})).
		InnerJoin("{{chat_members}} mb", dbx.NewExp("[[mb.room]] = [[chat_rooms.id]] AND [[mb.user]] = {:b}", dbx.Params{"b": b})).
		AndWhere(dbx.HashExp{"chat_rooms.is_direct": true}).
		OrderBy("chat_rooms.created ASC").Limit(1).One(room)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return room, nil
}

// addMember saves a chat_members row; its after-success hook publishes member_joined.
func addMember(app core.App, room, user, role string) error {
	c, err := app.FindCachedCollectionByNameOrId(collections.ChatMembers)
	if err != nil {
		return err
	}
	m := core.NewRecord(c)
	m.Set("room", room)
	m.Set("user", user)
	m.Set("role", role)
	return app.Save(m)
}

// respondRoom answers with the room record plus "members": up to limit members, oldest first,
// as public user records.
func (p *plugin) respondRoom(e *core.RequestEvent, room *core.Record, limit int) error {
	members, err := p.roomMembers(e, []string{room.Id}, limit)
	if err != nil {
		return e.InternalServerError("Failed to load the room.", err)
	}
	room.WithCustomData(true)
	room.Set("members", members[room.Id])
	return e.JSON(http.StatusOK, room)
}

// roomMembers loads up to limit members of each room, oldest first, as public user records
// (enriched like the records API would: emails hidden unless shown).
func (p *plugin) roomMembers(e *core.RequestEvent, rooms []string, limit int) (map[string][]*core.Record, error) {
	out := make(map[string][]*core.Record, len(rooms))
	if len(rooms) == 0 {
		return out, nil
	}
	args := make([]any, len(rooms))
	for i, id := range rooms {
		args[i] = id
		out[id] = []*core.Record{}
	}
	var rows []struct {
		Room string `db:"room"`
		User string `db:"user"`
	}
	err := e.App.DB().NewQuery(`SELECT [[room]], [[user]] FROM (
			SELECT [[room]], [[user]], row_number() OVER (PARTITION BY [[room]] ORDER BY [[created]], rowid) AS [[n]]
			FROM {{chat_members}} WHERE [[room]] IN (SELECT value FROM json_each({:rooms}))
		) WHERE [[n]] <= {:limit}`).
		Bind(dbx.Params{"rooms": jsonList(rooms), "limit": limit}).All(&rows)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.User)
	}
	users, err := e.App.FindRecordsByIds(collections.Users, ids)
	if err != nil {
		return nil, err
	}
	if err := apis.EnrichRecords(e, users); err != nil {
		return nil, err
	}
	byId := make(map[string]*core.Record, len(users))
	for _, u := range users {
		byId[u.Id] = u
	}
	for _, r := range rows {
		if u := byId[r.User]; u != nil {
			out[r.Room] = append(out[r.Room], u)
		}
	}
	return out, nil
}

// memberRoom loads the room of the {id} path parameter; a 404 unless the auth user is a
// member.
func (p *plugin) memberRoom(e *core.RequestEvent) (*core.Record, error) {
	id := e.Request.PathValue("id")
	ok, err := isMember(e.App, id, e.Auth.Id)
	if err != nil {
		return nil, e.InternalServerError("Failed to load the room.", err)
	}
	if !ok {
		return nil, e.NotFoundError("", nil)
	}
	room, err := e.App.FindRecordById(collections.ChatRooms, id)
	if err != nil {
		return nil, e.NotFoundError("", err)
	}
	return room, nil
}

// -------------------------------------------------------------------

// activityExp orders rooms by their latest activity: the last message, or the creation of a
// room without messages.
const activityExp = "COALESCE(NULLIF([[chat_rooms.last_message_at]], ''), [[chat_rooms.created]])"

// roomsList lists the auth user's rooms, most recent activity first, each with unread_count,
// last_message and up to 10 members.
func (p *plugin) roomsList(e *core.RequestEvent) error {
	pg, err := parsePage(e, "cursor")
	if err != nil {
		return err
	}
	me := e.Auth.Id
	q := e.App.RecordQuery(collections.ChatRooms).
		InnerJoin("{{chat_members}} me", dbx.NewExp("[[me.room]] = [[chat_rooms.id]] AND [[me.user]] = {:me}", dbx.Params{"me": me}))
	if pg.after != nil {
		q = q.AndWhere(dbx.NewExp("("+activityExp+" < {:k} OR ("+activityExp+" = {:k} AND [[chat_rooms.id]] < {:id}))",
			dbx.Params{"k": pg.after.Key, "id": pg.after.Id}))
	}
	rooms := []*core.Record{}
	err = q.OrderBy(activityExp+" DESC", "chat_rooms.id DESC").Limit(int64(pg.limit) + 1).All(&rooms)
	if err != nil {
		return e.InternalServerError("Failed to load the rooms.", err)
	}
	var next *string
	if len(rooms) > pg.limit {
		rooms = rooms[:pg.limit]
		last := rooms[len(rooms)-1]
		key := last.GetString("last_message_at")
		if key == "" {
			key = last.GetString("created")
		}
		s := cursor{Key: key, Id: last.Id}.encode()
		next = &s
	}
	if err := p.decorateRooms(e, rooms); err != nil {
		return e.InternalServerError("Failed to load the rooms.", err)
	}
	return e.JSON(http.StatusOK, listResponse{Items: rooms, NextCursor: next})
}

// decorateRooms sets unread_count, last_message and members on each room, with one query
// each for the whole page.
func (p *plugin) decorateRooms(e *core.RequestEvent, rooms []*core.Record) error {
	if len(rooms) == 0 {
		return nil
	}
	ids := make([]string, len(rooms))
	for i, r := range rooms {
		ids[i] = r.Id
	}
	me := e.Auth.Id

	var unread []struct {
		Room string `db:"room"`
		N    int    `db:"n"`
	}
	err := e.App.DB().NewQuery(`SELECT [[mem.room]] AS [[room]], (
			SELECT count(*) FROM {{chat_messages}} m WHERE [[m.room]] = [[mem.room]]
			AND [[m.created]] > COALESCE([[mem.last_read_at]], '') AND [[m.sender]] != {:me}
		) AS [[n]]
		FROM {{chat_members}} mem WHERE [[mem.user]] = {:me} AND [[mem.room]] IN (SELECT value FROM json_each({:rooms}))`).
		Bind(dbx.Params{"me": me, "rooms": jsonList(ids)}).All(&unread)
	if err != nil {
		return err
	}
	counts := make(map[string]int, len(unread))
	for _, u := range unread {
		counts[u.Room] = u.N
	}

	lastMessages := []*core.Record{}
	err = e.App.RecordQuery(collections.ChatMessages).AndWhere(dbx.NewExp(`[[chat_messages.id]] IN (
			SELECT (SELECT [[x.id]] FROM {{chat_messages}} x WHERE [[x.room]] = r.value ORDER BY [[x.created]] DESC, [[x.id]] DESC LIMIT 1)
			FROM json_each({:rooms}) r)`, dbx.Params{"rooms": jsonList(ids)})).All(&lastMessages)
	if err != nil {
		return err
	}
	lastByRoom := make(map[string]*core.Record, len(lastMessages))
	for _, m := range lastMessages {
		lastByRoom[m.GetString("room")] = m
	}

	members, err := p.roomMembers(e, ids, listMembers)
	if err != nil {
		return err
	}
	for _, r := range rooms {
		r.WithCustomData(true)
		r.Set("unread_count", counts[r.Id])
		if m := lastByRoom[r.Id]; m != nil {
			r.Set("last_message", m)
		} else {
			r.Set("last_message", nil)
		}
		r.Set("members", members[r.Id])
	}
	return nil
}

// jsonList encodes ids as a JSON array for json_each, which keeps IN lists to one bound
// parameter.
func jsonList(ids []string) string {
	return string(mustJSON(ids))
}
