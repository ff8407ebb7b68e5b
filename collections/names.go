// Package collections holds the names of Tangerine's collections and fields, and small
// helpers that runtime code (hooks, extensions) shares. Migrations never import it: they are
// frozen history and use literal names.
package collections

// Collection names, as in docs/API.md.
const (
	Users         = "users"
	Superusers    = "_superusers"
	Categories    = "categories"
	Posts         = "posts"
	PostTags      = "post_tags"
	Comments      = "comments"
	Follows       = "follows"
	PostLikes     = "post_likes"
	CommentLikes  = "comment_likes"
	Products      = "products"
	PostViews     = "post_views"
	Reports       = "reports"
	ModerationLog = "moderation_log"
	ChatRooms     = "chat_rooms"
	ChatMembers   = "chat_members"
	ChatMessages  = "chat_messages"
)

// Content statuses shared by posts, comments and products.
const (
	StatusPublished = "published"
	StatusHidden    = "hidden"
	StatusRemoved   = "removed"
)

// User roles and statuses.
const (
	RoleMember    = "member"
	RoleModerator = "moderator"

	UserActive    = "active"
	UserSuspended = "suspended"
)
