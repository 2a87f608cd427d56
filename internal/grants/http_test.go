package grants_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"booksmeta"
	"booksmeta/internal/access"
	"booksmeta/internal/access/accesstest"
	"booksmeta/internal/apptest"
	"booksmeta/internal/store"
)

// A school day with the http provider against a receiver that verifies
// every signature: a grant that fails first is answered 409 access_pending
// and retried with the same webhook-id; a booking whose window is not open
// gets nothing; a refund, an admin's cancellation and the slot's end each
// revoke; in the end every grant has its revoke and nothing is open.
func TestHTTPEveryGrantHasItsRevoke(t *testing.T) {
	const key = "school-access-key-0123456789"
	rc := &accesstest.Receiver{Key: []byte(key)}
	api := httptest.NewServer(rc)
	defer api.Close()
	s := start(t, map[string]string{access.KeyProvider: access.HTTP, "server_api_url": api.URL + "/booksmeta", "server_api_key": key})
	ctx := context.Background()
	now := s.Clock.Now()
	a := slot(t, s, now.Add(5*time.Minute), time.Hour, 3)
	later := slot(t, s, now.Add(3*time.Hour), time.Hour, 3)

	anna := student(t, s, "anna@example.ru", true)
	annaC := s.NewClient(t)
	annaC.Login(anna.Email, pw)

	// The school's server is down at first: the student is told access is
	// being prepared, and the retries carry one webhook-id.
	rc.Answer("/grant", func(w http.ResponseWriter) { http.Error(w, "restarting", http.StatusServiceUnavailable) })
	annaA := book(t, annaC, a)
	apptest.WaitFor(t, 15*time.Second, "failed grant attempts", func() bool {
		return strings.Count(attemptsText(t, s, annaA), "grant ok=false") >= 2
	})
	if st, m := accessOf(t, annaC, annaA); st != http.StatusConflict || m["error"] != booksmeta.CodeAccessPending || !strings.Contains(fmt.Sprint(m["message"]), "готовится") {
		t.Fatalf("access while the grant fails: %d %v", st, m)
	}
	g, _ := s.Store.LatestGrant(ctx, annaA)
	if !strings.Contains(g.LastError, "временно") {
		t.Fatalf("the admin's reason for the failing grant: %q", g.LastError)
	}
	rc.Answer("/grant", nil)
	got := waitAccess(t, annaC, annaA)
	if got["password"] != "Pw-"+access.WebhookID("grant", annaA, 0) || got["host"] != "rdp.school.example" {
		t.Fatalf("access shown: %v", got)
	}
	for _, d := range rc.Deliveries() {
		if strings.HasSuffix(d.Path, "/grant") && d.ID != access.WebhookID("grant", annaA, 0) {
			t.Fatalf("a retry of one grant changed its webhook-id: %s", d.ID)
		}
	}

	// Booked, but the window opens in hours: nothing is granted yet.
	annaLater := book(t, annaC, later)

	// Boris paid in GetCourse, Vera too; both book.
	boris := student(t, s, "boris@example.ru", false)
	deal(t, s, 501, boris.Email, "payed")
	waitPaid(t, s, boris.ID, true)
	borisC := s.NewClient(t)
	borisC.Login(boris.Email, pw)
	borisA := book(t, borisC, a)
	waitAccess(t, borisC, borisA)
	vera := student(t, s, "vera@example.ru", true)
	veraC := s.NewClient(t)
	veraC.Login(vera.Email, pw)
	veraA := book(t, veraC, a)
	waitAccess(t, veraC, veraA)

	// During the slot Boris's payment is refunded: access ends at once.
	s.Clock.Advance(10 * time.Minute)
	deal(t, s, 501, boris.Email, "cancelled")
	waitState(t, s, borisA, booksmeta.GrantRevoked)
	if st, m := accessOf(t, borisC, borisA); st == http.StatusOK {
		t.Fatalf("a refunded student still gets access: %v", m)
	}

	// An admin cancels Vera's booking during the slot: revoked at once.
	if st, m := admin(t, s).Do("POST", fmt.Sprintf("/api/v1/admin/bookings/%d/cancel", veraA), map[string]string{"reason": "Сервер на обслуживании"}); st != http.StatusOK {
		t.Fatalf("admin cancel: %d %v", st, m)
	}
	waitState(t, s, veraA, booksmeta.GrantRevoked)

	if open := rc.Open(); len(open) != 1 || open[0] != fmt.Sprint(annaA) {
		t.Fatalf("open at the receiver before the slot ends: %v", open)
	}
	// The slot ends: the revoke queued for its end runs, no periodic run
	// or explicit sync needed.
	s.Clock.Set(a.EndsAt.Add(time.Second))
	waitState(t, s, annaA, booksmeta.GrantRevoked)
	if open := rc.Open(); len(open) != 0 {
		t.Fatalf("still open at the receiver after the slot: %v", open)
	}
	if st := grantState(t, s, annaLater); st != "none" {
		t.Fatalf("the later booking was granted before its window: %s", st)
	}
	// Its window opens: the sync queued for that moment grants it.
	s.Clock.Set(later.StartsAt.Add(-15*time.Minute + time.Second))
	waitState(t, s, annaLater, booksmeta.GrantGranted)
	s.Clock.Set(later.EndsAt)
	waitState(t, s, annaLater, booksmeta.GrantRevoked)

	// Every grant the receiver saw has its revoke, signed with the stable
	// id of that action.
	granted, revoked := map[string]bool{}, map[string]bool{}
	for _, d := range rc.Deliveries() {
		b := fmt.Sprint(d.Body["booking_id"])
		switch {
		case strings.HasSuffix(d.Path, "/grant"):
			granted[b] = true
		case strings.HasSuffix(d.Path, "/revoke"):
			revoked[b] = true
			if id := fmt.Sprint(d.Body["booking_id"]); d.ID != "booksmeta_revoke_"+id {
				t.Errorf("revoke of %s carries webhook-id %s", id, d.ID)
			}
		}
	}
	for b := range granted {
		if !revoked[b] {
			t.Errorf("booking %s was granted and never revoked", b)
		}
	}
	if len(granted) != 4 {
		t.Errorf("grants for %d bookings, want 4 (anna's two, boris, vera)", len(granted))
	}
	// The admin sees the history: the failed grants, the grant, the revoke.
	boss := admin(t, s)
	if st, page := boss.Page(fmt.Sprintf("/admin/access/bookings/%d", annaA)); st != http.StatusOK ||
		!strings.Contains(page, "не удалось") || !strings.Contains(page, "Доступ выдан") || !strings.Contains(page, "Время брони закончилось") {
		t.Fatalf("booking's access history: %d\n%s", st, page)
	}
	if st, page := boss.Page("/admin/access"); st != http.StatusOK || !strings.Contains(page, fmt.Sprintf("/admin/access/bookings/%d", veraA)) {
		t.Fatalf("access page lists no grants: %d\n%s", st, page)
	}
	st, hist := boss.Do("GET", fmt.Sprintf("/api/v1/admin/bookings/%d/access-history", annaA), nil)
	if st != http.StatusOK || len(hist["grants"].([]any)) != 1 || len(hist["attempts"].([]any)) < 3 {
		t.Fatalf("API access history: %d %v", st, hist)
	}
	if strings.Contains(fmt.Sprint(hist), "Pw-") {
		t.Fatal("the history carries the password")
	}
	if st, v := boss.Do("POST", "/api/v1/admin/access/check", nil); st != http.StatusOK || v["ok"] != true || v["provider"] != "http" {
		t.Fatalf("API check: %d %v", st, v)
	}
	// The audit trail tells the same: four grants, four revokes.
	for action, want := range map[string]int{"access.grant": 4, "access.revoke": 4} {
		if _, n, err := s.Audit.List(ctx, store.AuditFilter{Action: action, Limit: 50}); err != nil || n != want {
			t.Errorf("audit %s: %d entries (%v), want %d", action, n, err, want)
		}
	}
	for _, id := range []int64{annaA, borisA, veraA} {
		h := attemptsText(t, s, id)
		if !strings.Contains(h, "grant ok=true") || !strings.Contains(h, "revoke ok=true") {
			t.Errorf("history of booking %d lacks its grant or revoke:\n%s", id, h)
		}
	}
}

// The static provider behaves as before providers existed: the shared
// account is shown in the window and nothing is recorded as a grant.
func TestStaticShowsTheSharedAccount(t *testing.T) {
	s := start(t, map[string]string{"server_host": "rdp.school.ru", "server_login": "student", "server_password": "Shared-Pass-1"})
	now := s.Clock.Now()
	a := slot(t, s, now.Add(5*time.Minute), time.Hour, 2)
	anna := student(t, s, "anna@example.ru", true)
	c := s.NewClient(t)
	c.Login(anna.Email, pw)
	id := book(t, c, a)
	st, m := accessOf(t, c, id)
	if st != http.StatusOK || m["login"] != "student" || m["password"] != "Shared-Pass-1" || m["host"] != "rdp.school.ru" {
		t.Fatalf("static access: %d %v", st, m)
	}
	if err := s.Grants.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := grantState(t, s, id); st != "none" {
		t.Fatalf("static access recorded a grant: %s", st)
	}
}

// The student's page follows the grant: "being prepared" (with the address
// the page polls) while the school's server fails, the credentials once it
// answers, and why access closed after a refund.
func TestStudentPageFollowsTheGrant(t *testing.T) {
	const key = "school-access-key-0123456789"
	rc := &accesstest.Receiver{Key: []byte(key)}
	api := httptest.NewServer(rc)
	defer api.Close()
	s := start(t, map[string]string{access.KeyProvider: access.HTTP, "server_api_url": api.URL, "server_api_key": key})
	a := slot(t, s, s.Clock.Now().Add(5*time.Minute), time.Hour, 1)
	anna := student(t, s, "anna@example.ru", false)
	deal(t, s, 77, anna.Email, "payed")
	waitPaid(t, s, anna.ID, true)
	c := s.NewClient(t)
	c.Login(anna.Email, pw)

	rc.Answer("/grant", func(w http.ResponseWriter) { http.Error(w, "down", http.StatusBadGateway) })
	id := book(t, c, a)
	apptest.WaitFor(t, 15*time.Second, "a failed grant", func() bool { return strings.Contains(attemptsText(t, s, id), "grant ok=false") })
	st, page := c.Page("/bookings")
	if st != http.StatusOK || !strings.Contains(page, "готовится") || !strings.Contains(page, fmt.Sprintf(`data-access-poll="/api/v1/bookings/%d/access"`, id)) {
		t.Fatalf("page while access is prepared: %d\n%s", st, page)
	}
	if strings.Contains(page, `id="access-password"`) || strings.Contains(page, "Доступ к серверу открыт") {
		t.Fatal("a password field, or «open», is shown before the grant")
	}

	rc.Answer("/grant", nil)
	got := waitAccess(t, c, id)
	_, page = c.Page("/bookings")
	if !strings.Contains(page, `id="access-password"`) || !strings.Contains(page, fmt.Sprint(got["password"])) {
		t.Fatalf("page after the grant lacks the password:\n%s", page)
	}

	s.Clock.Advance(10 * time.Minute)
	deal(t, s, 77, anna.Email, "cancelled")
	waitState(t, s, id, booksmeta.GrantRevoked)
	_, page = c.Page("/bookings")
	if strings.Contains(page, fmt.Sprint(got["password"])) || !strings.Contains(page, "закрыт") {
		t.Fatalf("the page after the refund shows the password or does not say access closed:\n%s", page)
	}
}

// A revoke that keeps failing is the dangerous case: the admins get one
// mail, the student no longer sees the credentials, and the revoke goes on
// being retried until the school's server takes it.
func TestFailingRevokeAlertsOnceAndKeepsTrying(t *testing.T) {
	const key = "school-access-key-0123456789"
	rc := &accesstest.Receiver{Key: []byte(key)}
	api := httptest.NewServer(rc)
	defer api.Close()
	s := start(t, map[string]string{access.KeyProvider: access.HTTP, "server_api_url": api.URL, "server_api_key": key})
	ctx := context.Background()
	admin(t, s)
	boss, err := s.Store.UserByEmail(ctx, "boss@school.example")
	if err != nil {
		t.Fatal(err)
	}
	a := slot(t, s, s.Clock.Now().Add(5*time.Minute), time.Hour, 1)
	anna := student(t, s, "anna@example.ru", true)
	c := s.NewClient(t)
	c.Login(anna.Email, pw)
	id := book(t, c, a)
	waitAccess(t, c, id)

	rc.Answer("/revoke", func(w http.ResponseWriter) { http.Error(w, "net user failed", http.StatusInternalServerError) })
	if st, m := admin(t, s).Do("POST", fmt.Sprintf("/api/v1/admin/bookings/%d/cancel", id), map[string]string{"reason": "тест"}); st != http.StatusOK {
		t.Fatalf("cancel: %d %v", st, m)
	}
	apptest.WaitFor(t, 15*time.Second, "five failed revokes", func() bool {
		return strings.Count(attemptsText(t, s, id), "revoke ok=false") >= 5
	})
	if st, _ := accessOf(t, c, id); st == http.StatusOK {
		t.Fatal("credentials shown while the revoke fails")
	}
	mails, _ := s.Store.MailByUser(ctx, boss.ID)
	alerts := 0
	for _, m := range mails {
		if m.Kind == "access_alert" {
			alerts++
			if !strings.Contains(m.Data, `"action":"revoke"`) || !strings.Contains(m.Data, "код 500") {
				t.Errorf("alert data: %s", m.Data)
			}
		}
	}
	if alerts != 1 {
		t.Fatalf("%d access alerts, want 1", alerts)
	}
	rc.Answer("/revoke", nil)
	waitState(t, s, id, booksmeta.GrantRevoked)
	if open := rc.Open(); len(open) != 0 {
		t.Fatalf("open after the revoke went through: %v", open)
	}
}

// The school switches from its own API back to the shared account during a
// booking: the grant is revoked at the school's server and the student is
// shown the shared account, as static always did.
func TestSwitchingProviderClosesTheOldGrant(t *testing.T) {
	const key = "school-access-key-0123456789"
	rc := &accesstest.Receiver{Key: []byte(key)}
	api := httptest.NewServer(rc)
	defer api.Close()
	s := start(t, map[string]string{access.KeyProvider: access.HTTP, "server_api_url": api.URL, "server_api_key": key,
		"server_host": "rdp.school.ru", "server_login": "student", "server_password": "Shared-Pass-1"})
	ctx := context.Background()
	a := slot(t, s, s.Clock.Now().Add(5*time.Minute), time.Hour, 1)
	anna := student(t, s, "anna@example.ru", true)
	c := s.NewClient(t)
	c.Login(anna.Email, pw)
	id := book(t, c, a)
	if got := waitAccess(t, c, id); got["password"] == "Shared-Pass-1" {
		t.Fatalf("the http grant shows the shared password: %v", got)
	}
	if err := s.Settings.Put(ctx, map[string]string{access.KeyProvider: access.Static}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Grants.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, id, booksmeta.GrantRevoked)
	if open := rc.Open(); len(open) != 0 {
		t.Fatalf("still open at the school's server: %v", open)
	}
	g, _ := s.Store.LatestGrant(ctx, id)
	if !strings.Contains(g.RevokeReason, "static") {
		t.Fatalf("revoke reason: %q", g.RevokeReason)
	}
	st, m := accessOf(t, c, id)
	if st != http.StatusOK || m["password"] != "Shared-Pass-1" || m["login"] != "student" {
		t.Fatalf("access after the switch to static: %d %v", st, m)
	}
}
