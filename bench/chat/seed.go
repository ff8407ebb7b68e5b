package main

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite"
)

// benchUser is a seeded user with a minted auth token and the one room it is in.
type benchUser struct {
	id, token, room string
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomId(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[rng.IntN(len(idAlphabet))]
	}
	return string(b)
}

// seed writes n users (rounded down to whole rooms), rooms of roomSize consecutive users and
// their memberships into the migrated data.db, and returns the rooms as lists of user indexes.
// The first member of each room owns it. Every user has the same password hash (made once:
// nobody signs in with it, the tokens are minted).
func seed(dbPath string, n, roomSize int) ([][]int, error) {
	rng := rand.New(rand.NewPCG(1, 0xc4a7))
	now := time.Now().UTC().Format(types.DefaultDateLayout)
	db, err := sql.Open("sqlite", dbPath+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(OFF)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	hash, err := bcrypt.GenerateFromPassword([]byte("bench-password-123"), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	insUser, err := tx.Prepare(`INSERT INTO users (id, email, emailVisibility, verified, password, tokenKey, name, avatar, handle, bio, link_1, link_2, is_public, role, status, followers_count, following_count, posts_count, products_count, created, updated)
		VALUES (?, ?, false, true, ?, ?, ?, '', ?, '', '', '', true, 'member', 'active', 0, 0, 0, 0, ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	insRoom, err := tx.Prepare(`INSERT INTO chat_rooms (id, name, owner, is_direct, last_message_at, last_message_text, created, updated)
		VALUES (?, ?, ?, false, '', '', ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("chat_rooms: %w", err)
	}
	insMember, err := tx.Prepare(`INSERT INTO chat_members (id, room, user, role, last_read_at, created) VALUES (?, ?, ?, ?, '', ?)`)
	if err != nil {
		return nil, fmt.Errorf("chat_members: %w", err)
	}

	nRooms := n / roomSize
	ids := make([]string, nRooms*roomSize)
	for i := range ids {
		ids[i] = randomId(rng, 15)
		handle := fmt.Sprintf("bench_chat_%06d", i)
		if _, err := insUser.Exec(ids[i], handle+"@bench.tangerine.test", string(hash), randomId(rng, 50),
			fmt.Sprintf("Bench Chat %d", i), handle, now, now); err != nil {
			return nil, fmt.Errorf("insert user: %w", err)
		}
	}
	rooms := make([][]int, nRooms)
	for r := range rooms {
		roomId := randomId(rng, 15)
		owner := r * roomSize
		if _, err := insRoom.Exec(roomId, fmt.Sprintf("bench room %d", r), ids[owner], now, now); err != nil {
			return nil, fmt.Errorf("insert room: %w", err)
		}
		for k := range roomSize {
			u := owner + k
			role := "member"
			if k == 0 {
				role = "owner"
			}
			if _, err := insMember.Exec(randomId(rng, 15), roomId, ids[u], role, now); err != nil {
				return nil, fmt.Errorf("insert member: %w", err)
			}
			rooms[r] = append(rooms[r], u)
		}
		roomIdsByUser[owner] = roomId
	}
	return rooms, tx.Commit()
}

// roomIdsByUser maps a room's first user index to the room id (filled by seed).
var roomIdsByUser = map[int]string{}

// mintTokens mints an auth token for every seeded user, with PocketBase's own code (the
// collection's secret and each user's tokenKey), in user order.
func mintTokens(dir string, rooms [][]int) ([]benchUser, error) {
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir})
	if err := app.Bootstrap(); err != nil {
		return nil, err
	}
	defer app.ResetBootstrapState()

	var out []benchUser
	for _, members := range rooms {
		roomId := roomIdsByUser[members[0]]
		for _, u := range members {
			handle := fmt.Sprintf("bench_chat_%06d", u)
			rec, err := app.FindFirstRecordByData("users", "handle", handle)
			if err != nil {
				return nil, fmt.Errorf("user %s: %w", handle, err)
			}
			tok, err := rec.NewAuthToken()
			if err != nil {
				return nil, err
			}
			out = append(out, benchUser{id: rec.Id, token: tok, room: roomId})
		}
	}
	return out, nil
}
