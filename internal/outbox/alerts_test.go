package outbox_test

import (
	"booksmeta"

	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/booking"
	"booksmeta/internal/mail/mailtest"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

func kindsOf(t *testing.T, a interface {
	MailByUser(context.Context, int64) ([]*store.OutboxMail, error)
}, userID int64, kind string) []*store.OutboxMail {
	t.Helper()
	all, err := a.MailByUser(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	var out []*store.OutboxMail
	for _, m := range all {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// An event that fails, is rerun by an admin and fails again alerts every
// active administrator once; students and inactive admins get nothing. The
// alert names the event, the reason and links to its log entry, and carries
// no secret.
func TestAdminAlertOncePerEventAndAdmin(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	if err := a.Settings.Put(ctx, map[string]string{booking.ServerPassword: srvPass}, 0); err != nil {
		t.Fatal(err)
	}
	boss, _ := a.Accounts.EnsureSuperAdmin(ctx, "boss@example.ru", "")
	gone, _ := a.Accounts.EnsureSuperAdmin(ctx, "gone@example.ru", "")
	gone.Role, gone.Active = booksmeta.RoleAdmin, false
	if err := a.Store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateUser(ctx, gone) }); err != nil {
		t.Fatal(err)
	}
	stud := newStudent(t, a, "student@example.ru")

	fail := func(name string) {
		status, body := a.Do(t, "POST", "/api/getcourse/webhook", map[string][]string{"Content-Type": {"application/json"}},
			`{"action":"user_payment","user":{"first_name":"`+name+`"}}`)
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		for a.Jobs.RunOne(ctx, "test") {
		}
	}
	fail("Без почты")
	alerts := kindsOf(t, a.Store, boss.ID, "admin_alert")
	if len(alerts) != 1 {
		t.Fatalf("boss got %d alerts", len(alerts))
	}
	var d struct {
		EventID int64 `json:"event_id"`
	}
	if err := json.Unmarshal([]byte(alerts[0].Data), &d); err != nil || d.EventID == 0 {
		t.Fatalf("alert data %q: %v", alerts[0].Data, err)
	}
	if e, err := a.Store.WebhookByID(ctx, d.EventID); err != nil || e.State != booksmeta.StateFailed {
		t.Fatalf("event %d: %+v %v", d.EventID, e, err)
	}

	// The admin reruns the event; it fails the same way: no second alert.
	if err := webhook.Rerun(ctx, a.Store, d.EventID); err != nil {
		t.Fatal(err)
	}
	for a.Jobs.RunOne(ctx, "test") {
	}
	if e, _ := a.Store.WebhookByID(ctx, d.EventID); e.State != booksmeta.StateFailed {
		t.Fatalf("rerun state %q", e.State)
	}
	if err := a.Outbox.QueueAdminAlert(ctx, &booksmeta.WebhookEvent{ID: d.EventID}); err != nil {
		t.Fatal(err)
	}
	if n := len(kindsOf(t, a.Store, boss.ID, "admin_alert")); n != 1 {
		t.Fatalf("boss got %d alerts for one event", n)
	}
	for _, u := range []*booksmeta.User{gone, stud} {
		if n := len(kindsOf(t, a.Store, u.ID, "admin_alert")); n != 0 {
			t.Fatalf("%s got %d alerts", u.Email, n)
		}
	}

	// A second failing event is a new alert.
	fail("Тоже без почты")
	alerts = kindsOf(t, a.Store, boss.ID, "admin_alert")
	if len(alerts) != 2 {
		t.Fatalf("boss got %d alerts for two events", len(alerts))
	}

	var first *store.OutboxMail
	for _, m := range alerts {
		var md struct {
			EventID int64 `json:"event_id"`
		}
		if json.Unmarshal([]byte(m.Data), &md) == nil && md.EventID == d.EventID {
			first = m
		}
	}
	if first == nil {
		t.Fatalf("no alert for event %d among %+v", d.EventID, alerts)
	}
	drain(t, a, first.ID, store.MailSent)
	msg := srv.WaitMessages(1, 5*time.Second)[0]
	noSecrets(t, msg)
	text := msg.Text()
	for _, want := range []string{"https://school.example/admin/webhooks/" + strconv.FormatInt(d.EventID, 10), "user_payment", "Ошибка:", "«Повторить»"} {
		if !strings.Contains(text, want) {
			t.Errorf("alert text lacks %q:\n%s", want, text)
		}
	}
	if msg.To[0] != "boss@example.ru" {
		t.Fatalf("sent to %v", msg.To)
	}
}

// A reminder: the start time in the school's zone, the link to the access
// panel, never the server password; cancelled, started and far bookings get
// none.
func TestReminderContentAndWhoGetsOne(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	if err := a.Settings.Put(ctx, map[string]string{booking.ServerPassword: srvPass, booking.ReminderMinutesBefore: "90"}, 0); err != nil {
		t.Fatal(err)
	}
	boss, _ := a.Accounts.EnsureSuperAdmin(ctx, "boss@example.ru", "")
	u := newStudent(t, a, "remind2@example.ru")
	u.BookingLimit = 10
	a.Store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateUser(ctx, u) })
	slot := func(in time.Duration) (int64, time.Time) {
		st := time.Now().Add(in).Truncate(time.Minute)
		var id int64
		if err := a.DB.Write.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,1,$3,$3) RETURNING id`,
			st.UnixMilli(), st.Add(time.Hour).UnixMilli(), time.Now().UnixMilli()).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id, st
	}
	book := func(slotID int64) *booksmeta.Booking {
		b, err := a.Booking.Book(ctx, u.ID, slotID)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	inWindow, start := slot(80 * time.Minute)
	cancelled, _ := slot(30 * time.Minute)
	far, _ := slot(2 * time.Hour)
	want := book(inWindow)
	c := book(cancelled)
	book(far)
	if _, err := a.Booking.AdminCancel(ctx, boss.ID, c.ID, "Профилактика"); err != nil {
		t.Fatal(err)
	}
	// A booking whose slot already started is not reminded either.
	var started int64
	st := time.Now().Add(-10 * time.Minute).UnixMilli()
	if err := a.DB.Write.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,1,$3,$3) RETURNING id`,
		st, st+3600_000, st).Scan(&started); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.Write.Exec(`INSERT INTO bookings (slot_id, user_id, status, created_at) VALUES ($1,$2,'active',$3)`, started, u.ID, st); err != nil {
		t.Fatal(err)
	}

	if err := a.Outbox.HandleReminders(ctx, &store.Job{}); err != nil {
		t.Fatal(err)
	}
	rems := kindsOf(t, a.Store, u.ID, "reminder")
	if len(rems) != 1 || rems[0].DedupeKey != "reminder:"+strconv.FormatInt(want.ID, 10) {
		t.Fatalf("reminders: %+v", rems)
	}
	drain(t, a, rems[0].ID, store.MailSent)
	var got *mailtest.Received
	for _, m := range srv.WaitMessages(2, 5*time.Second) {
		if strings.Contains(m.Subject(), "апомин") {
			m := m
			got = &m
		}
	}
	if got == nil {
		t.Fatal("no reminder arrived")
	}
	noSecrets(t, *got)
	msk, _ := time.LoadLocation("Europe/Moscow")
	text := got.Text()
	for _, w := range []string{start.In(msk).Format("15:04"), start.In(msk).Format("02.01.2006"), "https://school.example/bookings",
		"№" + strconv.FormatInt(want.ID, 10)} {
		if !strings.Contains(text, w) {
			t.Errorf("reminder lacks %q:\n%s", w, text)
		}
	}
}

func TestPaymentRevokedMailSaysWhatHappened(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	if err := a.Settings.Put(ctx, map[string]string{booking.ServerPassword: srvPass}, 0); err != nil {
		t.Fatal(err)
	}
	u := newStudent(t, a, "revoked2@example.ru")
	id := queue(t, a, &store.OutboxMail{Kind: "payment_revoked", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
		Data: `{"first_name":"Анна","deal":"№78","status":"refunded"}`})
	drain(t, a, id, store.MailSent)
	msg := srv.WaitMessages(1, 5*time.Second)[0]
	noSecrets(t, msg)
	for _, w := range []string{"Анна", "№78", "отменена или возвращена", "будущие бронирования отменены", "напишите в школу"} {
		if !strings.Contains(msg.Text(), w) {
			t.Errorf("text lacks %q:\n%s", w, msg.Text())
		}
	}
	if msg.HTML() == "" || !strings.Contains(msg.HTML(), "№78") {
		t.Fatalf("no HTML part with the deal: %q", msg.HTML())
	}
}

// An admin's HTML template still escapes the student's name; after "reset to
// the built-in text" the next mail uses the built-in subject again.
func TestEditedTemplateEscapesAndResets(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	u := newStudent(t, a, "edited2@example.ru")
	if err := a.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.PutMailTemplate(ctx, store.MailTemplate{Kind: "payment_revoked", Subject: "Школа: {{.Deal}}",
			HTML: "<p>Здравствуйте, {{.Name}}! Заказ {{.Deal}}.</p>", Text: "Здравствуйте, {{.Name}}! Заказ {{.Deal}}."}, 0)
	}); err != nil {
		t.Fatal(err)
	}
	id := queue(t, a, &store.OutboxMail{Kind: "payment_revoked", ToEmail: u.Email, UserID: u.ID,
		Data: `{"first_name":"<script>x</script>","deal":"№9"}`})
	drain(t, a, id, store.MailSent)
	msg := srv.WaitMessages(1, 5*time.Second)[0]
	if msg.Subject() != "Школа: №9" || !strings.Contains(msg.Text(), "Заказ №9.") {
		t.Fatalf("override not used: %q\n%s", msg.Subject(), msg.Text())
	}
	if strings.Contains(msg.HTML(), "<script>") || !strings.Contains(msg.HTML(), "&lt;script&gt;") {
		t.Fatalf("name not escaped in the admin's HTML:\n%s", msg.HTML())
	}
	if err := a.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteMailTemplate(ctx, "payment_revoked") }); err != nil {
		t.Fatal(err)
	}
	id = queue(t, a, &store.OutboxMail{Kind: "payment_revoked", ToEmail: u.Email, UserID: u.ID, Data: `{"deal":"№10"}`})
	drain(t, a, id, store.MailSent)
	msg = srv.WaitMessages(2, 5*time.Second)[1]
	if strings.HasPrefix(msg.Subject(), "Школа:") || !strings.Contains(msg.Text(), "отменена или возвращена") {
		t.Fatalf("after reset: %q\n%s", msg.Subject(), msg.Text())
	}
}
