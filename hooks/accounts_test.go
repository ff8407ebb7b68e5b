package hooks_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/auth"
	"golang.org/x/oauth2"

	"github.com/tangerine-market/tangerine/internal/testapp"
)

func TestPasswordChangeNeedsOldPasswordAndKillsTokens(t *testing.T) {
	app := testapp.New(t)
	srv := testapp.Serve(t, app)
	alice := testapp.CreateUser(t, app, "alice")
	token := testapp.Token(t, alice)
	path := "/api/collections/users/records/" + alice.Id

	status, body := testapp.Do(t, srv, http.MethodPatch, path, token,
		map[string]any{"password": "new-password-1", "passwordConfirm": "new-password-1"})
	if status != http.StatusBadRequest || fieldCode(body, "oldPassword") == "" {
		t.Fatalf("Expected 400 naming oldPassword without the old password, got %d %v", status, body)
	}
	status, body = testapp.Do(t, srv, http.MethodPatch, path, token,
		map[string]any{"oldPassword": "wrong-password", "password": "new-password-1", "passwordConfirm": "new-password-1"})
	if status != http.StatusBadRequest || fieldCode(body, "oldPassword") == "" {
		t.Fatalf("Expected 400 naming oldPassword with a wrong old password, got %d %v", status, body)
	}
	status, _ = testapp.Do(t, srv, http.MethodPatch, path, token,
		map[string]any{"oldPassword": testapp.Password, "password": "new-password-1", "passwordConfirm": "new-password-1"})
	if status != http.StatusOK {
		t.Fatalf("Expected the password change to succeed, got %d", status)
	}
	if status, _ := testapp.Do(t, srv, http.MethodPost, "/api/collections/users/auth-refresh", token, nil); status != http.StatusUnauthorized {
		t.Fatalf("Expected the old token to be refused after a password change, got %d", status)
	}
	status, _ = testapp.Do(t, srv, http.MethodPost, "/api/collections/users/auth-with-password", "",
		map[string]any{"identity": "alice", "password": "new-password-1"})
	if status != http.StatusOK {
		t.Fatalf("Expected log-in by handle with the new password, got %d", status)
	}
}

func TestSuspendedUserCannotAuthenticateAndTokensDie(t *testing.T) {
	app := testapp.New(t)
	srv := testapp.Serve(t, app)
	bob := testapp.CreateUser(t, app, "bob")
	token := testapp.Token(t, bob)
	if status, _ := testapp.Do(t, srv, http.MethodPost, "/api/collections/users/auth-refresh", token, nil); status != http.StatusOK {
		t.Fatalf("Expected a working token before suspension, got %d", status)
	}

	bob.Set("status", "suspended")
	if err := app.Save(bob); err != nil {
		t.Fatal(err)
	}

	if status, _ := testapp.Do(t, srv, http.MethodPost, "/api/collections/users/auth-refresh", token, nil); status != http.StatusUnauthorized {
		t.Fatalf("Expected the suspended user's token to be refused, got %d", status)
	}
	status, _ := testapp.Do(t, srv, http.MethodPost, "/api/collections/posts/records", token, map[string]any{"text": "still here"})
	if status == http.StatusOK {
		t.Fatal("Expected a suspended user's old token not to create posts")
	}
	status, _ = testapp.Do(t, srv, http.MethodPost, "/api/collections/users/auth-with-password", "",
		map[string]any{"identity": "bob@example.com", "password": testapp.Password})
	if status == http.StatusOK {
		t.Fatal("Expected a suspended user not to log in")
	}
}

// fakeProvider is an OAuth2 provider that answers with a fixed identity, standing in for
// Google in tests.
type fakeProvider struct {
	auth.BaseProvider
	user *auth.AuthUser
}

func (p *fakeProvider) FetchToken(code string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	if code == "" {
		return nil, errors.New("no code")
	}
	return &oauth2.Token{AccessToken: "token-" + code}, nil
}

func (p *fakeProvider) FetchAuthUser(token *oauth2.Token) (*auth.AuthUser, error) {
	u := *p.user
	return &u, nil
}

func enableFakeProvider(t *testing.T, app core.App, user *auth.AuthUser) {
	t.Helper()
	auth.Providers["fake"] = func() auth.Provider { return &fakeProvider{user: user} }
	t.Cleanup(func() { delete(auth.Providers, "fake") })
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	users.OAuth2.Enabled = true
	users.OAuth2.Providers = []core.OAuth2ProviderConfig{{Name: "fake", ClientId: "id", ClientSecret: "secret"}}
	if err := app.Save(users); err != nil {
		t.Fatal(err)
	}
}

func TestOAuth2PreAccountTakeoverGuard(t *testing.T) {
	app := testapp.New(t)
	srv := testapp.Serve(t, app)

	// the attacker signs up first with the victim's email and a password they know
	status, body := testapp.Do(t, srv, http.MethodPost, "/api/collections/users/records", "", map[string]any{
		"email": "victim@example.com", "password": "attacker-pass", "passwordConfirm": "attacker-pass",
	})
	if status != http.StatusOK {
		t.Fatalf("Expected the sign-up to succeed, got %d %v", status, body)
	}
	if h, _ := body["handle"].(string); h != "victim" {
		t.Fatalf("Expected the handle generated from the email, got %q", h)
	}

	// the victim signs in with a provider that verified the email
	enableFakeProvider(t, app, &auth.AuthUser{Id: "google-victim", Email: "victim@example.com", Name: "Victim",
		RawUser: map[string]any{"email_verified": true}})
	status, body = testapp.Do(t, srv, http.MethodPost, "/api/collections/users/auth-with-oauth2", "",
		map[string]any{"provider": "fake", "code": "abc", "codeVerifier": "verifier", "redirectURL": "https://example.com/cb"})
	if status != http.StatusOK {
		t.Fatalf("Expected the OAuth2 sign-in to succeed, got %d %v", status, body)
	}

	// the attacker's password no longer opens the account
	status, _ = testapp.Do(t, srv, http.MethodPost, "/api/collections/users/auth-with-password", "",
		map[string]any{"identity": "victim@example.com", "password": "attacker-pass"})
	if status == http.StatusOK {
		t.Fatal("Expected the pre-registered password to be reset when the verified owner linked OAuth2")
	}
}

func TestOAuth2UnverifiedEmailNeverClaimsAnAccount(t *testing.T) {
	app := testapp.New(t)
	srv := testapp.Serve(t, app)
	owner := testapp.CreateUser(t, app, "owner")

	enableFakeProvider(t, app, &auth.AuthUser{Id: "other-identity", Email: owner.Email(), Name: "Mallory",
		RawUser: map[string]any{"email_verified": false}})
	status, body := testapp.Do(t, srv, http.MethodPost, "/api/collections/users/auth-with-oauth2", "",
		map[string]any{"provider": "fake", "code": "abc", "codeVerifier": "verifier", "redirectURL": "https://example.com/cb"})
	if status != http.StatusBadRequest || fieldCode(body, "email") != "validation_unverified_oauth2_email" {
		t.Fatalf("Expected a 400 naming email for an unverified provider email, got %d %v", status, body)
	}
	var users int
	if err := app.DB().Select("count(*)").From("users").Row(&users); err != nil || users != 1 {
		t.Fatalf("Expected no new account, got %d users (%v)", users, err)
	}
	fresh := testapp.Reload(t, app, owner)
	if !fresh.ValidatePassword(testapp.Password) {
		t.Fatal("Expected the existing account to be untouched")
	}
}

// fieldCode returns data.<field>.code of a PocketBase error response.
func fieldCode(body map[string]any, field string) string {
	data, _ := body["data"].(map[string]any)
	f, _ := data[field].(map[string]any)
	code, _ := f["code"].(string)
	return code
}

func TestOAuth2SignUpGeneratesHandleFromName(t *testing.T) {
	app := testapp.New(t)
	srv := testapp.Serve(t, app)
	testapp.CreateUser(t, app, "kim_minji")

	enableFakeProvider(t, app, &auth.AuthUser{Id: "g-1", Email: "someone@example.org", Name: "Kim Minji",
		RawUser: map[string]any{"email_verified": true}})
	status, body := testapp.Do(t, srv, http.MethodPost, "/api/collections/users/auth-with-oauth2", "",
		map[string]any{"provider": "fake", "code": "abc", "codeVerifier": "verifier", "redirectURL": "https://example.com/cb"})
	if status != http.StatusOK {
		t.Fatalf("Expected the OAuth2 sign-up to succeed, got %d %v", status, body)
	}
	record, _ := body["record"].(map[string]any)
	if h, _ := record["handle"].(string); h != "kim_minji2" {
		t.Fatalf("Expected a handle from the OAuth2 name with a numeric suffix on clash, got %q", h)
	}
	if record["is_public"] != true || record["role"] != "member" || record["status"] != "active" {
		t.Fatalf("Expected the defaults on an OAuth2 sign-up, got %v", record)
	}
}
