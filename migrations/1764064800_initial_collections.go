package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Rule fragments. Migrations are frozen history, so they spell names out instead of importing
// the collections package.
const (
	ruleAuthed     = `@request.auth.id != ""`
	ruleActive     = `@request.auth.id != "" && @request.auth.status = "active"`
	ruleModerator  = `@request.auth.role = "moderator"`
	ruleSeeContent = `status = "published" || user = @request.auth.id || @request.auth.role = "moderator"`
	ruleOwnOrMod   = `user = @request.auth.id || @request.auth.role = "moderator"`
	ruleRoomMember = `room.chat_members_via_room.user ?= @request.auth.id`
)

const (
	maxImageBytes  = 15 << 20
	maxAvatarBytes = 5 << 20
)

var (
	imageMimeTypes = []string{"image/jpeg", "image/png", "image/webp", "image/gif"}
	imageThumbs    = []string{"100x100", "320x0", "1080x0"}
	contentStatus  = []string{"published", "hidden", "removed"}
)

func init() {
	m.Register(createInitialCollections, dropInitialCollections)
}

func createInitialCollections(app core.App) error {
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		return err
	}
	if err := extendUsers(app, users); err != nil {
		return err
	}

	for _, build := range []func(app core.App, users *core.Collection) (*core.Collection, error){
		newCategories, newPosts, newPostTags, newComments, newFollows, newPostLikes,
		newCommentLikes, newProducts, newPostViews, newReports, newModerationLog,
		newChatRooms, newChatMembers, newChatMessages,
	} {
		c, err := build(app, users)
		if err != nil {
			return err
		}
		if err := app.Save(c); err != nil {
			return err
		}
	}

	// The view de-duplication marks of POST /api/posts/{id}/views: internal, never exposed
	// through the records API, pruned by a cron job.
	_, err = app.DB().NewQuery(`
		CREATE TABLE IF NOT EXISTS {{_view_marks}} (
			[[post]]   TEXT NOT NULL,
			[[viewer]] TEXT NOT NULL,
			[[at]]     INTEGER NOT NULL,
			PRIMARY KEY ([[post]], [[viewer]])
		) WITHOUT ROWID;
		CREATE INDEX IF NOT EXISTS idx_view_marks_at ON {{_view_marks}} ([[at]]);
	`).Execute()
	return err
}

func dropInitialCollections(app core.App) error {
	if _, err := app.DB().NewQuery("DROP TABLE IF EXISTS {{_view_marks}}").Execute(); err != nil {
		return err
	}
	for _, name := range []string{
		"chat_messages", "chat_members", "chat_rooms", "moderation_log", "reports", "post_views",
		"products", "comment_likes", "post_likes", "follows", "comments", "post_tags", "posts",
		"categories",
	} {
		c, err := app.FindCollectionByNameOrId(name)
		if err != nil {
			continue
		}
		if err := app.Delete(c); err != nil {
			return err
		}
	}
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		return err
	}
	for _, f := range []string{"handle", "bio", "link_1", "link_2", "is_public", "role", "status",
		"followers_count", "following_count", "posts_count", "products_count"} {
		users.Fields.RemoveByName(f)
	}
	users.RemoveIndex("idx_users_handle")
	users.ListRule, users.ViewRule = nil, nil
	users.AuthRule = types.Pointer("")
	return app.Save(users)
}

// ---------------------------------------------------------------

func counter(name string) *core.NumberField {
	return &core.NumberField{Name: name, OnlyInt: true, Min: types.Pointer(0.0)}
}

func autodates() []core.Field {
	return []core.Field{
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	}
}

func ownerField(users *core.Collection, name string) *core.RelationField {
	return &core.RelationField{Name: name, CollectionId: users.Id, MaxSelect: 1, Required: true, CascadeDelete: true}
}

func statusField() *core.SelectField {
	return &core.SelectField{Name: "status", MaxSelect: 1, Values: contentStatus}
}

func extendUsers(app core.App, users *core.Collection) error {
	if f, ok := users.Fields.GetByName("name").(*core.TextField); ok {
		f.Max = 50
	}
	if f, ok := users.Fields.GetByName("avatar").(*core.FileField); ok {
		f.MaxSize = maxAvatarBytes
		f.MimeTypes = imageMimeTypes
		f.Thumbs = imageThumbs
	}
	users.Fields.Add(
		&core.TextField{Name: "handle", Required: true, Min: 3, Max: 30, Pattern: `^[a-z0-9_.]{3,30}$`, Presentable: true},
		&core.TextField{Name: "bio", Max: 500},
		&core.URLField{Name: "link_1"},
		&core.URLField{Name: "link_2"},
		&core.BoolField{Name: "is_public"},
		&core.SelectField{Name: "role", MaxSelect: 1, Values: []string{"member", "moderator"}},
		&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{"active", "suspended"}},
		counter("followers_count"),
		counter("following_count"),
		counter("posts_count"),
		counter("products_count"),
	)
	users.AddIndex("idx_users_handle", true, "handle", "")

	users.ListRule = types.Pointer(ruleAuthed)
	users.ViewRule = types.Pointer("")
	users.CreateRule = types.Pointer("")
	users.UpdateRule = types.Pointer("id = @request.auth.id")
	users.DeleteRule = types.Pointer("id = @request.auth.id")
	// suspended users cannot authenticate with any method
	users.AuthRule = types.Pointer(`status = "active"`)
	users.PasswordAuth.Enabled = true
	users.PasswordAuth.IdentityFields = []string{"email", "handle"}
	users.OAuth2.MappedFields.Name = "name"
	users.OAuth2.MappedFields.AvatarURL = "avatar"
	return app.Save(users)
}

func newCategories(app core.App, users *core.Collection) (*core.Collection, error) {
	c := core.NewBaseCollection("categories")
	c.Fields.Add(ownerField(users, "user"), &core.TextField{Name: "name", Required: true, Min: 1, Max: 50, Presentable: true})
	c.Fields.Add(autodates()...)
	c.AddIndex("idx_categories_user_name", true, "user, name", "")
	c.ListRule = types.Pointer("")
	c.ViewRule = types.Pointer("")
	c.CreateRule = types.Pointer(ruleActive)
	c.UpdateRule = types.Pointer("user = @request.auth.id")
	c.DeleteRule = types.Pointer("user = @request.auth.id")
	return c, nil
}

func newPosts(app core.App, users *core.Collection) (*core.Collection, error) {
	categories, err := app.FindCollectionByNameOrId("categories")
	if err != nil {
		return nil, err
	}
	c := core.NewBaseCollection("posts")
	c.Fields.Add(
		ownerField(users, "user"),
		&core.TextField{Name: "text", Required: true, Min: 1, Max: 5000, Presentable: true},
		&core.JSONField{Name: "tags", MaxSize: 4096},
		&core.FileField{Name: "images", MaxSelect: 10, MaxSize: maxImageBytes, MimeTypes: imageMimeTypes, Thumbs: imageThumbs},
		&core.RelationField{Name: "category", CollectionId: categories.Id, MaxSelect: 1},
		statusField(),
		counter("likes_count"),
		counter("comments_count"),
		counter("views_count"),
	)
	c.Fields.Add(autodates()...)
	c.AddIndex("idx_posts_status_created", false, "status, created, id", "")
	c.AddIndex("idx_posts_user_created", false, "user, created, id", "")
	c.ListRule = types.Pointer(ruleSeeContent)
	c.ViewRule = types.Pointer(ruleSeeContent)
	c.CreateRule = types.Pointer(ruleActive)
	c.UpdateRule = types.Pointer(ruleOwnOrMod)
	c.DeleteRule = types.Pointer(ruleOwnOrMod)
	return c, nil
}

func newPostTags(app core.App, users *core.Collection) (*core.Collection, error) {
	posts, err := app.FindCollectionByNameOrId("posts")
	if err != nil {
		return nil, err
	}
	c := core.NewBaseCollection("post_tags")
	c.Fields.Add(
		&core.RelationField{Name: "post", CollectionId: posts.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
		&core.TextField{Name: "tag", Required: true, Min: 1, Max: 30, Presentable: true},
		// the post's own created time, so that the tag feed pages on this table alone
		&core.DateField{Name: "created"},
	)
	c.AddIndex("idx_post_tags_post_tag", true, "post, tag", "")
	c.AddIndex("idx_post_tags_tag_created", false, "tag, created, post", "")
	see := `post.status = "published" || post.user = @request.auth.id || @request.auth.role = "moderator"`
	c.ListRule = types.Pointer(see)
	c.ViewRule = types.Pointer(see)
	return c, nil
}

func newComments(app core.App, users *core.Collection) (*core.Collection, error) {
	posts, err := app.FindCollectionByNameOrId("posts")
	if err != nil {
		return nil, err
	}
	c := core.NewBaseCollection("comments")
	c.Fields.Add(
		&core.RelationField{Name: "post", CollectionId: posts.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
		ownerField(users, "user"),
		&core.TextField{Name: "content", Required: true, Min: 1, Max: 1000, Presentable: true},
		statusField(),
		counter("likes_count"),
		counter("replies_count"),
	)
	c.Fields.Add(autodates()...)
	// the self relation needs the collection id, so it is added after the first save
	if err := app.Save(c); err != nil {
		return nil, err
	}
	c.Fields.Add(&core.RelationField{Name: "parent", CollectionId: c.Id, MaxSelect: 1, CascadeDelete: true})
	c.AddIndex("idx_comments_post_created", false, "post, created", "")
	c.AddIndex("idx_comments_parent", false, "parent", "")
	c.AddIndex("idx_comments_user", false, "user", "")
	see := `(status = "published" || user = @request.auth.id || @request.auth.role = "moderator") && ` +
		`(post.status = "published" || post.user = @request.auth.id || @request.auth.role = "moderator")`
	c.ListRule = types.Pointer(see)
	c.ViewRule = types.Pointer(see)
	c.CreateRule = types.Pointer(ruleActive)
	c.UpdateRule = types.Pointer(ruleOwnOrMod)
	c.DeleteRule = types.Pointer(`user = @request.auth.id || post.user = @request.auth.id || @request.auth.role = "moderator"`)
	return c, nil
}

func newFollows(app core.App, users *core.Collection) (*core.Collection, error) {
	c := core.NewBaseCollection("follows")
	c.Fields.Add(ownerField(users, "follower"), ownerField(users, "following"))
	c.Fields.Add(autodates()...)
	c.AddIndex("idx_follows_pair", true, "follower, following", "")
	c.AddIndex("idx_follows_following", false, "following, created", "")
	c.ListRule = types.Pointer(ruleAuthed)
	c.ViewRule = types.Pointer(ruleAuthed)
	c.CreateRule = types.Pointer(ruleActive)
	c.DeleteRule = types.Pointer("follower = @request.auth.id || following = @request.auth.id")
	return c, nil
}

func newPostLikes(app core.App, users *core.Collection) (*core.Collection, error) {
	return newLikes(app, users, "post_likes", "posts", "post")
}

func newCommentLikes(app core.App, users *core.Collection) (*core.Collection, error) {
	return newLikes(app, users, "comment_likes", "comments", "comment")
}

func newLikes(app core.App, users *core.Collection, name, target, field string) (*core.Collection, error) {
	targets, err := app.FindCollectionByNameOrId(target)
	if err != nil {
		return nil, err
	}
	c := core.NewBaseCollection(name)
	c.Fields.Add(
		ownerField(users, "user"),
		&core.RelationField{Name: field, CollectionId: targets.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
	)
	c.Fields.Add(autodates()...)
	c.AddIndex("idx_"+name+"_pair", true, "user, "+field, "")
	c.AddIndex("idx_"+name+"_target", false, field, "")
	c.ListRule = types.Pointer(ruleAuthed)
	c.ViewRule = types.Pointer(ruleAuthed)
	c.CreateRule = types.Pointer(ruleActive)
	c.DeleteRule = types.Pointer("user = @request.auth.id")
	return c, nil
}

func newProducts(app core.App, users *core.Collection) (*core.Collection, error) {
	c := core.NewBaseCollection("products")
	c.Fields.Add(
		ownerField(users, "user"),
		&core.TextField{Name: "name", Required: true, Min: 2, Max: 100, Presentable: true},
		&core.TextField{Name: "description", Max: 2000},
		&core.NumberField{Name: "price", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(1e12)},
		&core.SelectField{Name: "currency", MaxSelect: 1, Values: []string{"KRW", "USD", "EUR", "JPY"}},
		&core.FileField{Name: "image", MaxSelect: 1, MaxSize: maxImageBytes, MimeTypes: imageMimeTypes, Thumbs: imageThumbs},
		&core.URLField{Name: "image_url"},
		&core.URLField{Name: "link", Required: true},
		&core.JSONField{Name: "tags", MaxSize: 4096},
		statusField(),
		counter("views_count"),
	)
	c.Fields.Add(autodates()...)
	c.AddIndex("idx_products_user_created", false, "user, created", "")
	c.AddIndex("idx_products_status_created", false, "status, created", "")
	c.ListRule = types.Pointer(ruleSeeContent)
	c.ViewRule = types.Pointer(ruleSeeContent)
	c.CreateRule = types.Pointer(ruleActive)
	c.UpdateRule = types.Pointer(ruleOwnOrMod)
	c.DeleteRule = types.Pointer(ruleOwnOrMod)
	return c, nil
}

func newPostViews(app core.App, users *core.Collection) (*core.Collection, error) {
	posts, err := app.FindCollectionByNameOrId("posts")
	if err != nil {
		return nil, err
	}
	c := core.NewBaseCollection("post_views")
	c.Fields.Add(
		ownerField(users, "user"),
		&core.RelationField{Name: "post", CollectionId: posts.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
		&core.NumberField{Name: "dwell_ms", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(3_600_000.0)},
	)
	c.Fields.Add(autodates()...)
	c.AddIndex("idx_post_views_user_created", false, "user, created", "")
	c.AddIndex("idx_post_views_post", false, "post", "")
	c.ListRule = types.Pointer("user = @request.auth.id")
	c.ViewRule = types.Pointer("user = @request.auth.id")
	return c, nil
}

func newReports(app core.App, users *core.Collection) (*core.Collection, error) {
	c := core.NewBaseCollection("reports")
	c.Fields.Add(
		ownerField(users, "reporter"),
		&core.SelectField{Name: "target_type", Required: true, MaxSelect: 1, Values: []string{"user", "post", "comment", "product", "chat_message"}},
		&core.TextField{Name: "target_id", Required: true, Max: 15, Presentable: true},
		&core.RelationField{Name: "target_user", CollectionId: users.Id, MaxSelect: 1},
		&core.SelectField{Name: "reason", Required: true, MaxSelect: 1, Values: []string{"spam", "abuse", "fraud", "inappropriate", "other"}},
		&core.TextField{Name: "description", Max: 1000},
		&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{"pending", "reviewing", "resolved", "dismissed"}},
		&core.SelectField{Name: "action", MaxSelect: 1, Values: []string{"none", "hide_content", "remove_content", "suspend_user"}},
		&core.RelationField{Name: "moderator", CollectionId: users.Id, MaxSelect: 1},
		&core.TextField{Name: "moderator_note", Max: 1000},
		&core.DateField{Name: "resolved_at"},
	)
	c.Fields.Add(autodates()...)
	c.AddIndex("idx_reports_target", false, "target_type, target_id, status", "")
	c.AddIndex("idx_reports_reporter", false, "reporter, created", "")
	c.AddIndex("idx_reports_status_created", false, "status, created", "")
	c.AddIndex("idx_reports_target_user", false, "target_user, created", "")
	c.ListRule = types.Pointer("reporter = @request.auth.id || " + ruleModerator)
	c.ViewRule = types.Pointer("reporter = @request.auth.id || " + ruleModerator)
	c.CreateRule = types.Pointer(ruleActive)
	c.UpdateRule = types.Pointer(ruleModerator)
	return c, nil
}

func newModerationLog(app core.App, users *core.Collection) (*core.Collection, error) {
	reports, err := app.FindCollectionByNameOrId("reports")
	if err != nil {
		return nil, err
	}
	c := core.NewBaseCollection("moderation_log")
	c.Fields.Add(
		&core.RelationField{Name: "report", CollectionId: reports.Id, MaxSelect: 1},
		&core.TextField{Name: "target_type", Max: 20},
		&core.TextField{Name: "target_id", Max: 15},
		&core.TextField{Name: "actor", Max: 64},
		&core.TextField{Name: "from_status", Max: 20},
		&core.TextField{Name: "to_status", Max: 20},
		&core.TextField{Name: "action", Max: 20},
		&core.TextField{Name: "note", Max: 1000},
		&core.AutodateField{Name: "created", OnCreate: true},
	)
	c.AddIndex("idx_moderation_log_report", false, "report", "")
	c.AddIndex("idx_moderation_log_created", false, "created", "")
	c.ListRule = types.Pointer(ruleModerator)
	c.ViewRule = types.Pointer(ruleModerator)
	return c, nil
}

func newChatRooms(app core.App, users *core.Collection) (*core.Collection, error) {
	c := core.NewBaseCollection("chat_rooms")
	c.Fields.Add(
		&core.TextField{Name: "name", Max: 100, Presentable: true},
		&core.RelationField{Name: "owner", CollectionId: users.Id, MaxSelect: 1},
		&core.BoolField{Name: "is_direct"},
		&core.DateField{Name: "last_message_at"},
		&core.TextField{Name: "last_message_text", Max: 140},
	)
	c.Fields.Add(autodates()...)
	c.AddIndex("idx_chat_rooms_last_message", false, "last_message_at", "")
	// rules referencing chat_members are set once that collection exists (newChatMembers)
	c.UpdateRule = types.Pointer("owner = @request.auth.id")
	c.DeleteRule = types.Pointer("owner = @request.auth.id")
	return c, nil
}

func newChatMembers(app core.App, users *core.Collection) (*core.Collection, error) {
	rooms, err := app.FindCollectionByNameOrId("chat_rooms")
	if err != nil {
		return nil, err
	}
	c := core.NewBaseCollection("chat_members")
	c.Fields.Add(
		&core.RelationField{Name: "room", CollectionId: rooms.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
		ownerField(users, "user"),
		&core.SelectField{Name: "role", MaxSelect: 1, Values: []string{"owner", "member"}},
		&core.DateField{Name: "last_read_at"},
		&core.AutodateField{Name: "created", OnCreate: true},
	)
	c.AddIndex("idx_chat_members_pair", true, "room, user", "")
	c.AddIndex("idx_chat_members_user", false, "user", "")
	c.ListRule = types.Pointer(ruleRoomMember)
	c.ViewRule = types.Pointer(ruleRoomMember)
	if err := app.Save(c); err != nil {
		return nil, err
	}
	rooms.ListRule = types.Pointer("chat_members_via_room.user ?= @request.auth.id")
	rooms.ViewRule = types.Pointer("chat_members_via_room.user ?= @request.auth.id")
	if err := app.Save(rooms); err != nil {
		return nil, err
	}
	return c, nil
}

func newChatMessages(app core.App, users *core.Collection) (*core.Collection, error) {
	rooms, err := app.FindCollectionByNameOrId("chat_rooms")
	if err != nil {
		return nil, err
	}
	c := core.NewBaseCollection("chat_messages")
	c.Fields.Add(
		&core.RelationField{Name: "room", CollectionId: rooms.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
		// not required and no cascade: a deleted account leaves its messages with sender emptied
		&core.RelationField{Name: "sender", CollectionId: users.Id, MaxSelect: 1},
		&core.TextField{Name: "text", Required: true, Min: 1, Max: 2000, Presentable: true},
		&core.TextField{Name: "client_id", Max: 64},
		&core.AutodateField{Name: "created", OnCreate: true},
	)
	c.AddIndex("idx_chat_messages_room_created", false, "room, created, id", "")
	c.AddIndex("idx_chat_messages_client_id", true, "room, sender, client_id", "client_id != ''")
	// members read their rooms; a moderator may read a message that was reported (report
	// target ids are record ids, unique across collections in practice)
	read := ruleRoomMember + ` || (` + ruleModerator + ` && @collection.reports.target_id ?= id)`
	c.ListRule = types.Pointer(read)
	c.ViewRule = types.Pointer(read)
	c.CreateRule = types.Pointer(ruleActive + " && " + ruleRoomMember)
	return c, nil
}
