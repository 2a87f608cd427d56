// Package legacy brings the data of the old PHP Book Smeta (MySQL) over:
// students and admins, slots with their server credentials (encrypted on the
// way in), bookings with their states, the settings the PHP version really
// read, and its GetCourse log as webhook history.
//
// Every imported row is recorded in legacy_map, so a second run adds
// nothing. A dry run reads everything and writes nothing.
package legacy

import (
	"booksmeta"

	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/password"
	"booksmeta/internal/secretbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// Importer reads a PHP Book Smeta database and writes into the store.
type Importer struct {
	Store    *store.Store
	Settings *settings.Service
	Box      *secretbox.Box
	// Loc is the school zone: the PHP version stored local dates and times.
	Loc *time.Location
	// Out receives one line per notable decision (never a secret).
	Out io.Writer
}

// Counts is what happened to one kind of row.
type Counts struct {
	Added, Already, Skipped int
}

// Summary is the result of a run.
type Summary struct {
	DryRun        bool
	Users         Counts
	Slots         Counts
	Bookings      Counts
	Logs          Counts
	Settings      Counts
	Untrusted     int // users whose password hash was not kept
	WelcomeQueued int
}

// String is the summary printed at the end.
func (s Summary) String() string {
	verb := "перенесено"
	if s.DryRun {
		verb = "будет перенесено"
	}
	line := func(name string, c Counts) string {
		return fmt.Sprintf("  %-22s %s: %d, уже были: %d, пропущено: %d\n", name, verb, c.Added, c.Already, c.Skipped)
	}
	out := "Итог импорта из PHP-версии"
	if s.DryRun {
		out += " (пробный запуск, ничего не записано)"
	}
	out += ":\n" + line("пользователи", s.Users) + line("слоты", s.Slots) + line("бронирования", s.Bookings) +
		line("журнал GetCourse", s.Logs) + line("настройки", s.Settings)
	if s.Untrusted > 0 {
		out += fmt.Sprintf("  паролей не перенесено (MD5 или неизвестный формат): %d; им отправится письмо со ссылкой для нового пароля: %d\n",
			s.Untrusted, s.WelcomeQueued)
	}
	return out
}

func (im *Importer) say(format string, args ...any) {
	if im.Out != nil {
		fmt.Fprintf(im.Out, format+"\n", args...)
	}
}

// Run imports everything from src.
func (im *Importer) Run(ctx context.Context, src *sql.DB, dryRun bool) (Summary, error) {
	sum := Summary{DryRun: dryRun}
	if im.Loc == nil {
		im.Loc = time.UTC
	}
	users, err := readUsers(ctx, src)
	if err != nil {
		return sum, fmt.Errorf("read users: %w", err)
	}
	slots, err := readSlots(ctx, src)
	if err != nil {
		return sum, fmt.Errorf("read server_slots: %w", err)
	}
	bookings, err := readBookings(ctx, src)
	if err != nil {
		return sum, fmt.Errorf("read bookings: %w", err)
	}
	logs, err := readLogs(ctx, src)
	if err != nil {
		return sum, fmt.Errorf("read getcourse_logs: %w", err)
	}
	sets, err := readSettings(ctx, src)
	if err != nil {
		return sum, fmt.Errorf("read system_settings: %w", err)
	}
	// One transaction: a failure half-way leaves nothing behind, and a
	// dry run simply rolls it back.
	errDry := errors.New("dry run")
	err = im.Store.InTx(ctx, func(tx *store.Tx) error {
		userIDs, err := im.importUsers(ctx, tx, users, &sum)
		if err != nil {
			return err
		}
		slotIDs, err := im.importSlots(ctx, tx, slots, &sum)
		if err != nil {
			return err
		}
		if err := im.importBookings(ctx, tx, bookings, userIDs, slotIDs, &sum); err != nil {
			return err
		}
		if err := im.importLogs(ctx, tx, logs, &sum); err != nil {
			return err
		}
		if dryRun {
			return errDry
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDry) {
		return sum, err
	}
	// Settings go through the settings service (validation, encryption),
	// after the data, each on its own.
	im.importSettings(ctx, sets, dryRun, &sum)
	return sum, nil
}

// ---- users

type oldUser struct {
	id                       int64
	email, hash, first, last string
	phone, role              string
	limit                    int
	gcID                     string
	paid, active             bool
	created, lastLogin       time.Time
}

func readUsers(ctx context.Context, src *sql.DB) ([]oldUser, error) {
	rows, err := src.QueryContext(ctx, `SELECT id, email, COALESCE(password_hash,''), COALESCE(first_name,''), COALESCE(last_name,''),
		COALESCE(phone,''), COALESCE(role,'user'), COALESCE(booking_limit,3), COALESCE(CAST(getcourse_user_id AS CHAR),''),
		COALESCE(is_paid_client,0), COALESCE(is_active,1), COALESCE(CAST(created_at AS CHAR),''), COALESCE(CAST(last_login AS CHAR),'')
		FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []oldUser
	for rows.Next() {
		var u oldUser
		var created, last string
		if err := rows.Scan(&u.id, &u.email, &u.hash, &u.first, &u.last, &u.phone, &u.role, &u.limit, &u.gcID,
			&u.paid, &u.active, &created, &last); err != nil {
			return nil, err
		}
		u.created, u.lastLogin = parseStamp(created), parseStamp(last)
		out = append(out, u)
	}
	return out, rows.Err()
}

// knownDefaults are passwords the PHP version shipped or tried; a hash that
// matches one is a door left open, not a password the user chose.
var knownDefaults = []string{"password", "admin123"}

func isBcrypt(h string) bool {
	return strings.HasPrefix(h, "$2y$") || strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$")
}

func (im *Importer) importUsers(ctx context.Context, tx *store.Tx, users []oldUser, sum *Summary) (map[int64]int64, error) {
	ids := map[int64]int64{}
	for _, o := range users {
		if id, ok, err := tx.LegacyMapped(ctx, store.LegacyUser, o.id); err != nil {
			return nil, err
		} else if ok {
			ids[o.id] = id
			sum.Users.Already++
			continue
		}
		email := store.NormalizeEmail(o.email)
		if email == "" || !strings.Contains(email, "@") {
			im.say("пользователь #%d: пропущен, нет адреса почты", o.id)
			sum.Users.Skipped++
			continue
		}
		if u, err := tx.UserByEmail(ctx, email); err == nil {
			// Already here (a webhook or an admin created them): keep what
			// this program knows, only link the old id to it.
			ids[o.id] = u.ID
			if err := tx.PutLegacyMap(ctx, store.LegacyUser, o.id, u.ID); err != nil {
				return nil, err
			}
			im.say("пользователь %s уже есть, данные не менялись", email)
			sum.Users.Already++
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		role := booksmeta.RoleStudent
		switch o.role {
		case "admin":
			role = booksmeta.RoleAdmin
		case "super_admin":
			role = booksmeta.RoleSuperAdmin
		}
		hash, shipped := "", false
		if isBcrypt(o.hash) {
			hash = o.hash
			if role != booksmeta.RoleStudent {
				for _, d := range knownDefaults {
					if password.Verify(hash, d) {
						hash, shipped = "", true
						break
					}
				}
			}
		}
		limit := o.limit
		if limit < 0 || limit > 100 {
			limit = 3
		}
		u := &booksmeta.User{Email: email, FirstName: strings.TrimSpace(o.first), LastName: strings.TrimSpace(o.last),
			Phone: strings.TrimSpace(o.phone), Role: role, PasswordHash: hash, Paid: o.paid, Active: o.active,
			DeactivatedByAdmin: !o.active, BookingLimit: limit, GetCourseUserID: strings.TrimSpace(o.gcID),
			CreatedAt: o.created, LastLoginAt: o.lastLogin}
		if o.gcID == "0" {
			u.GetCourseUserID = ""
		}
		if u.Paid {
			u.PaidAt = o.created
		}
		if shipped {
			// The PHP version's shipped admin with its well-known password:
			// switched off, so neither the old password nor a reset link sent
			// to an address nobody here owns can open it.
			u.Active, u.DeactivatedByAdmin = false, true
			im.say("администратор %s: вход с паролем из поставки PHP-версии закрыт, аккаунт отключён", email)
		}
		if err := tx.InsertLegacyUser(ctx, u); err != nil {
			return nil, fmt.Errorf("user #%d: %w", o.id, err)
		}
		if err := tx.PutLegacyMap(ctx, store.LegacyUser, o.id, u.ID); err != nil {
			return nil, err
		}
		ids[o.id] = u.ID
		sum.Users.Added++
		if hash == "" {
			sum.Untrusted++
			if role != booksmeta.RoleStudent {
				// No emailed link for an admin: an administrator sets their
				// password from the server, where the owner is.
				if u.Active {
					im.say("администратор %s: пароль не перенесён; выдайте ему одноразовую ссылку на его странице в разделе «Пользователи» (суперадминистратору — booksmeta admin create --email %s)", email, email)
				}
			} else if u.Active {
				data, _ := json.Marshal(map[string]string{"first_name": u.FirstName})
				queued, err := tx.QueueMail(ctx, &store.OutboxMail{Kind: "welcome", ToEmail: u.Email, ToName: u.Name(),
					UserID: u.ID, Data: string(data), DedupeKey: "welcome:" + strconv.FormatInt(u.ID, 10)})
				if err != nil {
					return nil, err
				}
				if queued {
					sum.WelcomeQueued++
				}
			}
		}
	}
	return ids, nil
}

// ---- slots

type oldSlot struct {
	id               int64
	date, start, end string
	login, password  string
	available        bool
	maxUsers         int
}

func readSlots(ctx context.Context, src *sql.DB) ([]oldSlot, error) {
	rows, err := src.QueryContext(ctx, `SELECT id, CAST(slot_date AS CHAR), CAST(start_time AS CHAR), CAST(end_time AS CHAR),
		COALESCE(server_login,''), COALESCE(server_password,''), COALESCE(is_available,1), COALESCE(max_users,1)
		FROM server_slots ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []oldSlot
	for rows.Next() {
		var s oldSlot
		if err := rows.Scan(&s.id, &s.date, &s.start, &s.end, &s.login, &s.password, &s.available, &s.maxUsers); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// slotTimes turns the PHP version's local date and times into instants.
func (im *Importer) slotTimes(s oldSlot) (time.Time, time.Time, error) {
	start, err := time.ParseInLocation("2006-01-02 15:04:05", s.date+" "+s.start, im.Loc)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	endClock := s.end
	if strings.HasPrefix(endClock, "24:00") { // MySQL TIME allows 24:00:00 for "midnight at the end"
		endClock = "00:00:00"
	}
	end, err := time.ParseInLocation("2006-01-02 15:04:05", s.date+" "+endClock, im.Loc)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !end.After(start) { // a slot that ends at 24:00 / past midnight
		end = end.AddDate(0, 0, 1)
	}
	return start.UTC(), end.UTC(), nil
}

func (im *Importer) importSlots(ctx context.Context, tx *store.Tx, slots []oldSlot, sum *Summary) (map[int64]int64, error) {
	ids := map[int64]int64{}
	for _, o := range slots {
		if id, ok, err := tx.LegacyMapped(ctx, store.LegacySlot, o.id); err != nil {
			return nil, err
		} else if ok {
			ids[o.id] = id
			sum.Slots.Already++
			continue
		}
		start, end, err := im.slotTimes(o)
		if err != nil {
			im.say("слот #%d: пропущен, не читается дата или время (%s %s–%s)", o.id, o.date, o.start, o.end)
			sum.Slots.Skipped++
			continue
		}
		if id, ok, err := tx.SlotIDAt(ctx, start); err != nil {
			return nil, err
		} else if ok {
			ids[o.id] = id
			if err := tx.PutLegacyMap(ctx, store.LegacySlot, o.id, id); err != nil {
				return nil, err
			}
			im.say("слот %s: на это время уже есть слот, бронирования перенесутся в него", start.In(im.Loc).Format("02.01.2006 15:04"))
			sum.Slots.Already++
			continue
		}
		capacity := o.maxUsers
		if capacity < 1 {
			capacity = 1
		}
		s := &booksmeta.Slot{StartsAt: start, EndsAt: end, Capacity: capacity, Active: o.available,
			ServerLogin: o.login, Note: "перенесён из PHP-версии"}
		if o.password != "" {
			s.ServerPassword = im.Box.Seal(o.password)
		}
		if err := tx.InsertLegacySlot(ctx, s); err != nil {
			return nil, fmt.Errorf("slot #%d: %w", o.id, err)
		}
		if err := tx.PutLegacyMap(ctx, store.LegacySlot, o.id, s.ID); err != nil {
			return nil, err
		}
		ids[o.id] = s.ID
		sum.Slots.Added++
	}
	return ids, nil
}

// ---- bookings

type oldBooking struct {
	id, userID, slotID int64
	status             string
	created, updated   time.Time
}

func readBookings(ctx context.Context, src *sql.DB) ([]oldBooking, error) {
	rows, err := src.QueryContext(ctx, `SELECT id, user_id, slot_id, COALESCE(booking_status,'active'),
		COALESCE(CAST(created_at AS CHAR),''), COALESCE(CAST(updated_at AS CHAR),'') FROM bookings ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []oldBooking
	for rows.Next() {
		var b oldBooking
		var c, u string
		if err := rows.Scan(&b.id, &b.userID, &b.slotID, &b.status, &c, &u); err != nil {
			return nil, err
		}
		b.created, b.updated = parseStamp(c), parseStamp(u)
		out = append(out, b)
	}
	return out, rows.Err()
}

func (im *Importer) importBookings(ctx context.Context, tx *store.Tx, bookings []oldBooking, users, slots map[int64]int64, sum *Summary) error {
	touched := map[int64]bool{}
	for _, o := range bookings {
		if _, ok, err := tx.LegacyMapped(ctx, store.LegacyBookingKind, o.id); err != nil {
			return err
		} else if ok {
			sum.Bookings.Already++
			continue
		}
		uid, uok := users[o.userID]
		sid, sok := slots[o.slotID]
		if !uok || !sok {
			im.say("бронирование #%d: пропущено, нет его ученика или слота", o.id)
			sum.Bookings.Skipped++
			continue
		}
		sl, err := tx.SlotByID(ctx, sid)
		if err != nil {
			return err
		}
		b := &store.LegacyBooking{SlotID: sid, UserID: uid, CreatedAt: o.created, ClosedAt: o.updated}
		if b.CreatedAt.IsZero() {
			b.CreatedAt = tx.Now()
		}
		if b.ClosedAt.IsZero() {
			b.ClosedAt = b.CreatedAt
		}
		switch o.status {
		case "cancelled":
			b.Status, b.Reason = "cancelled", "отменено в PHP-версии"
		case "completed", "expired":
			b.Status, b.ClosedAt = "finished", sl.EndsAt
		default:
			b.Status = "active"
			if !sl.EndsAt.After(tx.Now()) {
				b.Status, b.ClosedAt = "finished", sl.EndsAt
			}
		}
		id, ok, err := tx.InsertLegacyBooking(ctx, b)
		if err != nil {
			return fmt.Errorf("booking #%d: %w", o.id, err)
		}
		if !ok {
			im.say("бронирование #%d: пропущено, у ученика уже есть активная бронь этого слота", o.id)
			sum.Bookings.Skipped++
			continue
		}
		if err := tx.PutLegacyMap(ctx, store.LegacyBookingKind, o.id, id); err != nil {
			return err
		}
		touched[sid] = true
		sum.Bookings.Added++
	}
	ids := make([]int64, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if err := tx.RecountSlotBooked(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// ---- GetCourse log

type oldLog struct {
	id                     int64
	action, email, request string
	status, errMsg         string
	created                time.Time
}

func readLogs(ctx context.Context, src *sql.DB) ([]oldLog, error) {
	rows, err := src.QueryContext(ctx, `SELECT id, COALESCE(action,''), COALESCE(email,''), COALESCE(CAST(request_data AS CHAR),''),
		COALESCE(status,''), COALESCE(error_message,''), COALESCE(CAST(created_at AS CHAR),'') FROM getcourse_logs ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []oldLog
	for rows.Next() {
		var l oldLog
		var c string
		if err := rows.Scan(&l.id, &l.action, &l.email, &l.request, &l.status, &l.errMsg, &c); err != nil {
			return nil, err
		}
		l.created = parseStamp(c)
		out = append(out, l)
	}
	return out, rows.Err()
}

func (im *Importer) importLogs(ctx context.Context, tx *store.Tx, logs []oldLog, sum *Summary) error {
	for _, o := range logs {
		if _, ok, err := tx.LegacyMapped(ctx, store.LegacyLog, o.id); err != nil {
			return err
		} else if ok {
			sum.Logs.Already++
			continue
		}
		body := RedactJSON(o.request)
		e := &booksmeta.WebhookEvent{ReceivedAt: o.created, Method: "POST", Path: "/api/getcourse_webhook.php",
			Body: body, BodySize: len(body), HTTPStatus: 200, Event: o.action, Email: store.NormalizeEmail(o.email),
			Reason: "перенесено из журнала PHP-версии", Result: "PHP-версия: " + o.status}
		if e.ReceivedAt.IsZero() {
			e.ReceivedAt = tx.Now()
		}
		if o.errMsg != "" {
			e.Result += ": " + redactText(o.errMsg)
		}
		if err := tx.InsertLegacyWebhook(ctx, e); err != nil {
			return fmt.Errorf("getcourse_logs #%d: %w", o.id, err)
		}
		if err := tx.PutLegacyMap(ctx, store.LegacyLog, o.id, e.ID); err != nil {
			return err
		}
		sum.Logs.Added++
	}
	return nil
}

// secretWords mark a JSON field whose value must not be kept.
var secretWords = []string{"secret", "password", "passwd", "key", "token", "signature", "hash"}

func isSecretName(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// RedactJSON replaces the values of secret-looking fields, at any depth,
// with "[скрыто]". Text that is not JSON is kept only when it holds none of
// those words.
func RedactJSON(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return redactText(s)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if isSecretName(k) {
					t[k] = "[скрыто]"
				} else {
					t[k] = walk(x)
				}
			}
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
		}
		return v
	}
	b, _ := json.Marshal(walk(v))
	return string(b)
}

func redactText(s string) string {
	if isSecretName(s) {
		return "[скрыто: текст содержал секретные данные]"
	}
	return s
}

// ---- settings

// settingMap is what each key the PHP version actually read means here
// (OLD_PHP_VERSION.md, "Keys actually read").
var settingMap = []struct{ old, new string }{
	{"app_name", "app_name"},
	{"default_booking_limit", settings.DefaultBookingLimit},
	{"smtp_host", settings.MailHost},
	{"smtp_port", settings.MailPort},
	{"smtp_username", settings.MailUsername},
	{"smtp_password", settings.MailPassword},
	{"smtp_encryption", settings.MailEncryption},
	{"from_email", settings.MailFromEmail},
	{"from_name", settings.MailFromName},
	{"getcourse_api_url", settings.GetCourseAPIURL},
	{"getcourse_api_key", settings.GetCourseAPIKey},
}

func readSettings(ctx context.Context, src *sql.DB) (map[string]string, error) {
	rows, err := src.QueryContext(ctx, "SELECT setting_key, COALESCE(setting_value,'') FROM system_settings")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

func (im *Importer) importSettings(ctx context.Context, old map[string]string, dryRun bool, sum *Summary) {
	for _, m := range settingMap {
		v := strings.TrimSpace(old[m.old])
		if v == "" {
			continue
		}
		if !im.Settings.IsKnown(m.new) {
			im.say("настройка %s: в этой версии её нет, пропущена", m.old)
			sum.Settings.Skipped++
			continue
		}
		if _, saved, err := im.Store.Setting(ctx, m.new); err == nil && saved {
			sum.Settings.Already++
			continue
		}
		if _, err := im.Settings.Validate(m.new, v); err != nil {
			_, reason, _ := settings.Refusal(err)
			im.say("настройка %s: не перенесена — %s", m.old, reason)
			sum.Settings.Skipped++
			continue
		}
		if !dryRun {
			if err := im.Settings.Put(ctx, map[string]string{m.new: v}, 0); err != nil {
				im.say("настройка %s: не перенесена — %v", m.old, err)
				sum.Settings.Skipped++
				continue
			}
		}
		sum.Settings.Added++
	}
}

// parseStamp reads a MySQL DATETIME/TIMESTAMP as text; the zero value when empty.
func parseStamp(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "0000") {
		return time.Time{}
	}
	for _, f := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04:05.999999", "2006-01-02"} {
		if t, err := time.Parse(f, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
