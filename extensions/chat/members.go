package chat

import (
	"encoding/json"
	"net/http"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"github.com/tangerine-market/tangerine/collections"
)

// bindMemberHooks publishes membership changes however they happen (the room routes, the
// dashboard, the cascade of a deleted room or account), so that every hub updates its
// connections' rooms.
func bindMemberHooks(p *plugin) {
	p.app.OnRecordAfterCreateSuccess(collections.ChatMembers).BindFunc(func(e *core.RecordEvent) error {
		roomId := e.Record.GetString("room")
		room, err := e.App.FindRecordById(collections.ChatRooms, roomId)
		if err != nil {
			// the room went in the meantime; its deletion is published on its own
			return e.Next()
		}
		raw, err := json.Marshal(room)
		if err != nil {
			p.app.Logger().Error("Failed to encode a chat room", "error", err, "room", roomId)
			return e.Next()
		}
		p.publish(event{Kind: eventMemberJoined, Room: roomId, User: e.Record.GetString("user"), Record: raw})
		return e.Next()
	})
	p.app.OnRecordAfterDeleteSuccess(collections.ChatMembers).BindFunc(func(e *core.RecordEvent) error {
		p.publish(event{Kind: eventMemberLeft, Room: e.Record.GetString("room"), User: e.Record.GetString("user")})
		return e.Next()
	})

	// a room's messages go by one statement instead of a cascade of record deletes, so that
	// deleting a big room neither takes long nor publishes a message_removed per message
	p.app.OnRecordDelete(collections.ChatRooms).BindFunc(func(e *core.RecordEvent) error {
		original := e.App
		defer func() { e.App = original }()
		return e.App.RunInTransaction(func(txApp core.App) error {
			_, err := txApp.DB().Delete(collections.ChatMessages, dbx.HashExp{"room": e.Record.Id}).Execute()
			if err != nil {
				return err
			}
			e.App = txApp
			return e.Next()
		})
	})
	p.app.OnRecordAfterDeleteSuccess(collections.ChatRooms).BindFunc(func(e *core.RecordEvent) error {
		p.publish(event{Kind: eventRoomDeleted, Room: e.Record.Id})
		return e.Next()
	})
}

// membersForm is the body of POST /api/chat/rooms/{id}/members.
type membersForm struct {
	Users []string `json:"users"`
}

// membersAdd adds users to a room; owner only. Users already in the room are skipped.
func (p *plugin) membersAdd(e *core.RequestEvent) error {
	room, err := p.memberRoom(e)
	if err != nil {
		return err
	}
	if room.GetString("owner") != e.Auth.Id {
		return e.ForbiddenError("Only the owner of the room can add members.", nil)
	}
	if room.GetBool("is_direct") {
		return e.BadRequestError("A direct room cannot take more members.", validation.Errors{
			"users": validation.NewError("validation_direct_room", "A direct room cannot take more members."),
		})
	}
	var form membersForm
	if err := e.BindBody(&form); err != nil {
		return e.BadRequestError("Failed to read the request body.", err)
	}
	form.Users = otherIds(form.Users, e.Auth.Id)
	switch {
	case len(form.Users) == 0:
		return e.BadRequestError("Invalid users.", validation.Errors{
			"users": validation.NewError("validation_required", "List at least one user."),
		})
	case len(form.Users) > maxListedMembers:
		return e.BadRequestError("Invalid users.", validation.Errors{
			"users": validation.NewError("validation_too_many", "At most 100 users per request."),
		})
	}
	if err := checkActiveUsers(e, "users", form.Users); err != nil {
		return err
	}

	full := false
	err = e.App.RunInTransaction(func(txApp core.App) error {
		var existing []string
		err := txApp.DB().Select("user").From(collections.ChatMembers).
			Where(dbx.HashExp{"room": room.Id}).Column(&existing)
		if err != nil {
			return err
		}
		isIn := make(map[string]bool, len(existing))
		for _, id := range existing {
			isIn[id] = true
		}
		var add []string
		for _, id := range form.Users {
			if !isIn[id] {
				add = append(add, id)
			}
		}
		if len(existing)+len(add) > maxRoomMembers {
			full = true
			return nil
		}
		for _, id := range add {
			if err := addMember(txApp, room.Id, id, "member"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return e.InternalServerError("Failed to add the members.", err)
	}
	if full {
		return e.BadRequestError("Invalid users.", validation.Errors{
			"users": validation.NewError("validation_room_full", "A room has at most 500 members."),
		})
	}
	return p.respondRoom(e, room, maxRoomMembers)
}

// membersRemove removes a member from a room; owner only. The owner leaves with /leave.
func (p *plugin) membersRemove(e *core.RequestEvent) error {
	room, err := p.memberRoom(e)
	if err != nil {
		return err
	}
	if room.GetString("owner") != e.Auth.Id {
		return e.ForbiddenError("Only the owner of the room can remove members.", nil)
	}
	userId := e.Request.PathValue("userId")
	if userId == e.Auth.Id {
		return e.BadRequestError("Use leave to leave a room.", validation.Errors{
			"userId": validation.NewError("validation_self", "The owner leaves with POST /api/chat/rooms/{id}/leave."),
		})
	}
	m, err := e.App.FindFirstRecordByFilter(collections.ChatMembers, "room = {:room} && user = {:user}",
		dbx.Params{"room": room.Id, "user": userId})
	if err != nil {
		return e.NotFoundError("", err)
	}
	if err := e.App.Delete(m); err != nil {
		return e.InternalServerError("Failed to remove the member.", err)
	}
	return e.NoContent(http.StatusNoContent)
}

// roomsLeave removes the auth user from a room. When the owner leaves, the oldest remaining
// member becomes owner; when the last member leaves, the room and its messages go.
func (p *plugin) roomsLeave(e *core.RequestEvent) error {
	room, err := p.memberRoom(e)
	if err != nil {
		return err
	}
	me := e.Auth.Id
	err = e.App.RunInTransaction(func(txApp core.App) error {
		m, err := txApp.FindFirstRecordByFilter(collections.ChatMembers, "room = {:room} && user = {:user}",
			dbx.Params{"room": room.Id, "user": me})
		if err != nil {
			return err
		}
		if err := txApp.Delete(m); err != nil {
			return err
		}
		// note: rowid breaks ties of members added in the same millisecond by insert order
		heirs := []*core.Record{}
		err = txApp.RecordQuery(collections.ChatMembers).AndWhere(dbx.HashExp{"room": room.Id}).
			OrderBy("created ASC", "rowid ASC").Limit(1).All(&heirs)
		if err != nil {
			return err
		}
		if len(heirs) == 0 {
			return txApp.Delete(room)
		}
		if owner := room.GetString("owner"); owner != "" && owner != me {
			return nil
		}
		heir := heirs[0]
		heir.Set("role", "owner")
		if err := txApp.Save(heir); err != nil {
			return err
		}
		room.Set("owner", heir.GetString("user"))
		return txApp.Save(room)
	})
	if err != nil {
		return e.InternalServerError("Failed to leave the room.", err)
	}
	return e.NoContent(http.StatusNoContent)
}
