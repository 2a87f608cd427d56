package web_test

import (
	"booksmeta"

	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"booksmeta/internal/accounts"
	"booksmeta/internal/store"
)

var tokenLinkRe = regexp.MustCompile(`/set-password\?token=([A-Za-z0-9_-]+)`)

// issueLink has an admin make a one-time link for u on u's page and returns its token.
func issueLink(t *testing.T, a *browser, u *booksmeta.User) string {
	t.Helper()
	id := itoa(u.ID)
	p := a.submit("/admin/users/"+id, "/admin/users/"+id+"/link", nil)
	m := tokenLinkRe.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("issue link: %d\n%s", p.Status, p.Body)
	}
	return m[1]
}

func linkWorks(t *testing.T, b *browser, tok string) bool {
	t.Helper()
	p := b.get("/set-password?token=" + tok)
	if p.Status != http.StatusOK && p.Status != http.StatusForbidden {
		t.Fatalf("set-password page: %d", p.Status)
	}
	return p.Status == http.StatusOK
}

func signedIn(t *testing.T, b *browser) bool {
	t.Helper()
	return b.get("/profile").Status == http.StatusOK
}

// TestWelcomeLinkDeadAfterEmailCorrected: a link that went to a mistyped
// address stops working when the admin corrects the email, and a welcome
// mail still queued for the old address is not given a new link.
func TestWelcomeLinkDeadAfterEmailCorrected(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.super)
	tok := issueLink(t, a, f.student)
	if !linkWorks(t, newBrowser(t, f.srv), tok) {
		t.Fatal("a fresh link does not work")
	}
	id := itoa(f.student.ID)
	p := a.submit("/admin/users/"+id, "/admin/users/"+id, url.Values{"email": {"corrected@example.com"},
		"first_name": {""}, "last_name": {""}, "phone": {""}, "booking_limit": {"3"}, "paid": {"on"}, "active": {"on"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("correct email: %d\n%s", p.Status, p.Body)
	}
	if linkWorks(t, newBrowser(t, f.srv), tok) {
		t.Fatal("the link mailed to the old address still works after the email was corrected")
	}
	// The queued welcome mail was addressed to the old email: no link for it.
	_, err := f.srv.Accounts.IssueLinkTo(context.Background(), f.student.ID, "student@example.com", store.TokenSetPassword, accounts.WelcomeLinkTTL)
	if !errors.Is(err, accounts.ErrRecipientChanged) {
		t.Fatalf("link for a mail to the old address: %v", err)
	}
	if _, err := f.srv.Accounts.IssueLinkTo(context.Background(), f.student.ID, "corrected@example.com", store.TokenSetPassword, accounts.WelcomeLinkTTL); err != nil {
		t.Fatalf("link for the corrected address: %v", err)
	}
}

// TestDeactivationKillsLinks: a deactivated account's open links stop working.
func TestDeactivationKillsLinks(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.super)
	tok := issueLink(t, a, f.student)
	id := itoa(f.student.ID)
	if p := a.submit("/admin/users/"+id, "/admin/users/"+id+"/active", url.Values{"active": {"0"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", p.Status)
	}
	if p := a.submit("/admin/users/"+id, "/admin/users/"+id+"/active", url.Values{"active": {"1"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("reactivate: %d", p.Status)
	}
	if linkWorks(t, newBrowser(t, f.srv), tok) {
		t.Fatal("a link survived deactivation")
	}
}

// TestAdminSetPasswordRevokes: an admin setting a password kills the
// user's links and sessions; setting their own keeps only the session they
// did it from.
func TestAdminSetPasswordRevokes(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.super)
	stud := f.as(t, f.student)
	tok := issueLink(t, a, f.student)
	id := itoa(f.student.ID)
	pw := url.Values{"password": {"brand new pass 1"}, "password2": {"brand new pass 1"}}
	if p := a.submit("/admin/users/"+id, "/admin/users/"+id+"/password", pw); p.Status != http.StatusSeeOther {
		t.Fatalf("set password: %d\n%s", p.Status, p.Body)
	}
	if linkWorks(t, newBrowser(t, f.srv), tok) {
		t.Fatal("a link survived a password set by an admin")
	}
	if signedIn(t, stud) {
		t.Fatal("the student's session survived a password set by an admin")
	}

	me := itoa(f.super.ID)
	other := f.as(t, f.super)
	ownTok := issueLink(t, a, f.super)
	if p := a.submit("/admin/users/"+me, "/admin/users/"+me+"/password", pw); p.Status != http.StatusSeeOther {
		t.Fatalf("own password: %d\n%s", p.Status, p.Body)
	}
	if !signedIn(t, a) {
		t.Fatal("setting one's own password signed out the session it was done from")
	}
	if signedIn(t, other) {
		t.Fatal("another session survived the own password change")
	}
	if linkWorks(t, newBrowser(t, f.srv), ownTok) {
		t.Fatal("an own link survived the own password change")
	}
}

// TestProfilePasswordChangeRevokes: changing one's password on the profile
// page ends the other sessions, keeps this one, and kills open links.
func TestProfilePasswordChangeRevokes(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.super)
	here, there := f.as(t, f.student), f.as(t, f.student)
	tok := issueLink(t, a, f.student)
	p := here.submit("/profile", "/profile/password", url.Values{"current_password": {testPassword},
		"password": {"brand new pass 2"}, "password2": {"brand new pass 2"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("change password: %d\n%s", p.Status, p.Body)
	}
	if !signedIn(t, here) {
		t.Fatal("the session the password was changed from ended")
	}
	if signedIn(t, there) {
		t.Fatal("another session survived the password change")
	}
	if linkWorks(t, newBrowser(t, f.srv), tok) {
		t.Fatal("a link survived the password change")
	}
}

// TestResetLinkEndsSessions: setting a password through an emailed link
// ends every session of the user and uses up their other links, and gives
// the browser that used it a device cookie.
func TestResetLinkEndsSessions(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.super)
	stud := f.as(t, f.student)
	older := issueLink(t, a, f.student)
	tok := issueLink(t, a, f.student)
	b := newBrowser(t, f.srv)
	p := b.post("/set-password", url.Values{"token": {tok}, "password": {"brand new pass 3"}, "password2": {"brand new pass 3"}})
	expect(t, p, http.StatusOK, "Пароль сохранён")
	if signedIn(t, stud) {
		t.Fatal("a session opened with the old password survived a reset through the link")
	}
	if linkWorks(t, newBrowser(t, f.srv), older) || linkWorks(t, newBrowser(t, f.srv), tok) {
		t.Fatal("a link survived the reset")
	}
	device := false
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		device = device || (c.Name == "booksmeta_device" && c.Value != "")
	}
	if !device {
		t.Fatal("the browser that used the link got no device cookie")
	}
}
