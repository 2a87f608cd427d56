package legacy_test

import (
	"booksmeta"

	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"booksmeta/internal/apptest"
	"booksmeta/internal/cli"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/legacy"
	"booksmeta/internal/password"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// mysqlRoot is the MariaDB this machine runs (SPEC: root, empty password);
// BOOKSMETA_TEST_MYSQL overrides it.
func mysqlRoot() string {
	if v := os.Getenv("BOOKSMETA_TEST_MYSQL"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// The PHP version's tables as OLD_PHP_VERSION.md describes them (MySQL).
var phpSchema = []string{
	`CREATE TABLE users (
		id INT PRIMARY KEY AUTO_INCREMENT,
		email VARCHAR(255) UNIQUE NOT NULL,
		password_hash VARCHAR(255) NOT NULL,
		first_name VARCHAR(100) NOT NULL,
		last_name VARCHAR(100) NOT NULL,
		phone VARCHAR(20),
		role ENUM('user','admin','super_admin') DEFAULT 'user',
		booking_limit INT DEFAULT 3,
		booking_count INT DEFAULT 0,
		getcourse_user_id INT NULL,
		is_paid_client BOOLEAN DEFAULT FALSE,
		email_verified BOOLEAN DEFAULT FALSE,
		is_active BOOLEAN DEFAULT TRUE,
		created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
		updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
		last_login TIMESTAMP NULL
	) DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE server_slots (
		id INT PRIMARY KEY AUTO_INCREMENT,
		slot_date DATE NOT NULL,
		start_time TIME NOT NULL,
		end_time TIME NOT NULL,
		server_login VARCHAR(100) NOT NULL,
		server_password VARCHAR(255) NOT NULL,
		is_available BOOLEAN DEFAULT TRUE,
		max_users INT DEFAULT 1,
		current_users INT DEFAULT 0,
		created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
		updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
		UNIQUE KEY unique_slot (slot_date, start_time)
	) DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE bookings (
		id INT PRIMARY KEY AUTO_INCREMENT,
		user_id INT NOT NULL,
		slot_id INT NOT NULL,
		booking_status ENUM('active','cancelled','completed','expired') DEFAULT 'active',
		booking_notes TEXT,
		server_access_granted BOOLEAN DEFAULT FALSE,
		access_granted_at TIMESTAMP NULL,
		created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
		updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
		expires_at TIMESTAMP NULL,
		FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
		FOREIGN KEY (slot_id) REFERENCES server_slots(id) ON DELETE CASCADE
	) DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE getcourse_logs (
		id INT PRIMARY KEY AUTO_INCREMENT,
		action VARCHAR(50) NOT NULL,
		getcourse_user_id INT,
		email VARCHAR(255),
		request_data JSON,
		response_data JSON,
		status ENUM('success','error','pending') DEFAULT 'pending',
		error_message TEXT,
		created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
	) DEFAULT CHARSET=utf8mb4`,
	`CREATE TABLE system_settings (
		id INT PRIMARY KEY AUTO_INCREMENT,
		setting_key VARCHAR(100) UNIQUE NOT NULL,
		setting_value TEXT,
		description TEXT,
		created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
		updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
	) DEFAULT CHARSET=utf8mb4`,
}

func phpBcrypt(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return "$2y$" + string(h[4:]) // what PHP's password_hash writes
}

// freshPHPDatabase creates book_smeta_test_<random> with the PHP schema and
// returns its DSN; it is dropped when the test ends.
func freshPHPDatabase(t *testing.T) (string, *sql.DB) {
	t.Helper()
	root, err := sql.Open("mysql", mysqlRoot())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	if err := root.Ping(); err != nil {
		if os.Getenv("CI") != "" || os.Getenv("BOOKSMETA_TEST_MYSQL") != "" {
			t.Fatalf("MariaDB/MySQL not reachable: %v", err)
		}
		t.Skipf("MariaDB/MySQL not reachable at %s: %v", mysqlRoot(), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "book_smeta_test_" + hex.EncodeToString(b)
	if _, err := root.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Exec("DROP DATABASE " + name) })
	dsn := strings.TrimSuffix(mysqlRoot(), "/") + "/" + name
	src, err := legacy.OpenMySQL(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	for _, q := range phpSchema {
		if _, err := src.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return dsn, src
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestImportLegacy loads the PHP version's tables with rows of every kind,
// imports them, and checks each kind, a second run, a dry run, and that
// MD5 passwords and the shipped default admin password are not trusted.
func TestImportLegacy(t *testing.T) {
	dsn, src := freshPHPDatabase(t)
	ctx := context.Background()
	msk, _ := time.LoadLocation("Europe/Moscow")
	future := time.Now().In(msk).AddDate(0, 0, 3).Format("2006-01-02")
	past := time.Now().In(msk).AddDate(0, 0, -5).Format("2006-01-02")

	md5hex := md5.Sum([]byte("md5-pass"))
	users := []struct {
		email, hash, first, role string
		limit                    int
		gc                       any
		paid, active             bool
	}{
		{"Anna@Example.com", phpBcrypt(t, "anna-secret-1"), "Анна", "user", 4, 1001, true, true},  // 1
		{"boris@example.com", hex.EncodeToString(md5hex[:]), "Борис", "user", 3, nil, true, true}, // 2: MD5
		{"admin@book-smeta.com", phpBcrypt(t, "password"), "Super", "super_admin", 999, nil, true, true},
		{"olga@example.com", phpBcrypt(t, "olga-admin-pw"), "Ольга", "admin", 3, nil, false, true}, // 4
		{"ivan@example.com", phpBcrypt(t, "ivan-pw-1234"), "Иван", "user", 2, 1005, false, false},  // 5: blocked
		{"known@example.com", phpBcrypt(t, "known-pw"), "Известный", "user", 3, nil, true, true},   // 6: already here
	}
	for _, u := range users {
		exec(t, src, `INSERT INTO users (email, password_hash, first_name, last_name, phone, role, booking_limit, getcourse_user_id,
			is_paid_client, is_active, created_at, last_login) VALUES (?,?,?,'Фамилия','+79990000000',?,?,?,?,?,'2024-05-01 10:00:00',NULL)`,
			u.email, u.hash, u.first, u.role, u.limit, u.gc, u.paid, u.active)
	}
	exec(t, src, `INSERT INTO server_slots (slot_date, start_time, end_time, server_login, server_password, is_available, max_users) VALUES
		(?, '10:00:00', '11:00:00', 'user_a', 'Srv-Pass-A1', 1, 2),
		(?, '09:00:00', '10:00:00', 'user_b', 'Srv-Pass-B2', 1, 1),
		(?, '12:00:00', '13:00:00', 'user_c', 'Srv-Pass-C3', 0, 1),
		(?, '23:00:00', '24:00:00', 'user_d', 'Srv-Pass-D4', 1, 1)`, future, past, future, future)
	exec(t, src, `INSERT INTO bookings (user_id, slot_id, booking_status, created_at, updated_at) VALUES
		(1, 1, 'active', '2024-05-02 10:00:00', '2024-05-02 10:00:00'),
		(2, 1, 'cancelled', '2024-05-02 11:00:00', '2024-05-03 09:00:00'),
		(1, 2, 'completed', '2024-05-01 11:00:00', '2024-05-01 11:00:00'),
		(2, 2, 'expired', '2024-05-01 12:00:00', '2024-05-01 12:00:00'),
		(6, 1, 'active', '2024-05-02 12:00:00', '2024-05-02 12:00:00')`)
	exec(t, src, `INSERT INTO getcourse_logs (action, email, request_data, status, error_message, created_at) VALUES
		('user_payment', 'anna@example.com', '{"action":"user_payment","secret":"hook-secret-XYZ","user":{"email":"anna@example.com","password":"tmp-pass-QQ"}}', 'success', NULL, '2024-05-01 09:00:00'),
		('sync_user', 'boris@example.com', NULL, 'error', 'Неверный ключ API', '2024-05-01 09:30:00')`)
	exec(t, src, `INSERT INTO system_settings (setting_key, setting_value) VALUES
		('default_booking_limit','5'), ('booking_expire_hours','24'), ('system_maintenance_mode','0'),
		('app_name','Смета Школа'), ('smtp_host','smtp.go1.unisender.ru'), ('smtp_port','587'),
		('smtp_username','project-77'), ('smtp_password','unisender-api-key-123'), ('smtp_encryption','tls'),
		('from_email','school@example.com'), ('from_name','Школа из PHP'),
		('getcourse_api_url','https://school.getcourse.ru/pl/api'), ('getcourse_api_key','gc-api-key-456'),
		('getcourse_api_secret','')`)

	srv := apptest.Start(t, apptest.Options{NoJobs: true, Env: map[string]string{"BOOKSMETA_TIMEZONE": "Europe/Moscow"}})
	// Already in the new program: a student (by webhook) and a panel value.
	known := &booksmeta.User{Email: "known@example.com", FirstName: "Новый", Role: booksmeta.RoleStudent, Paid: true, Active: true, BookingLimit: 3}
	if err := srv.Store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertUser(ctx, known) }); err != nil {
		t.Fatal(err)
	}
	if err := srv.Settings.Put(ctx, map[string]string{settings.MailFromName: "Школа Сметы"}, 0); err != nil {
		t.Fatal(err)
	}

	newImporter := func(out *bytes.Buffer) *legacy.Importer {
		return &legacy.Importer{Store: srv.Store, Settings: srv.Settings, Box: srv.Box, Loc: msk, Out: out}
	}
	counts := func() string {
		var n [4]int
		srv.DB.Read.QueryRow("SELECT COUNT(*) FROM users").Scan(&n[0])
		srv.DB.Read.QueryRow("SELECT COUNT(*) FROM slots").Scan(&n[1])
		srv.DB.Read.QueryRow("SELECT COUNT(*) FROM bookings").Scan(&n[2])
		srv.DB.Read.QueryRow("SELECT COUNT(*) FROM webhook_events").Scan(&n[3])
		var s, m int
		srv.DB.Read.QueryRow("SELECT COUNT(*) FROM settings").Scan(&s)
		srv.DB.Read.QueryRow("SELECT COUNT(*) FROM mail_outbox").Scan(&m)
		return fmt.Sprint(n, s, m)
	}

	// Dry run: tells what it would do, writes nothing.
	before := counts()
	var out bytes.Buffer
	sum, err := newImporter(&out).Run(ctx, src, true)
	if err != nil {
		t.Fatal(err)
	}
	if after := counts(); after != before {
		t.Fatalf("dry run wrote: %s → %s", before, after)
	}
	if sum.Users.Added != 5 || sum.Slots.Added != 4 || sum.Bookings.Added != 5 || sum.Logs.Added != 2 || !strings.Contains(sum.String(), "ничего не записано") {
		t.Fatalf("dry-run summary: %+v\n%s", sum, sum.String())
	}

	out.Reset()
	sum, err = newImporter(&out).Run(ctx, src, false)
	if err != nil {
		t.Fatal(err)
	}
	report := out.String() + sum.String()
	if sum.Users.Added != 5 || sum.Users.Already != 1 || sum.Slots.Added != 4 || sum.Bookings.Added != 5 || sum.Logs.Added != 2 {
		t.Fatalf("summary: %+v\n%s", sum, report)
	}
	for _, secret := range []string{"unisender-api-key-123", "gc-api-key-456", "Srv-Pass", "hook-secret-XYZ", "tmp-pass-QQ", "$2y$"} {
		if strings.Contains(report, secret) {
			t.Fatalf("the import printed a secret (%s):\n%s", secret, report)
		}
	}

	// Users: bcrypt kept and verifying; MD5 and the shipped default dropped.
	anna, err := srv.Store.UserByEmail(ctx, "anna@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !password.Verify(anna.PasswordHash, "anna-secret-1") || anna.Role != booksmeta.RoleStudent || anna.BookingLimit != 4 ||
		!anna.Paid || !anna.Active || anna.GetCourseUserID != "1001" || anna.FirstName != "Анна" {
		t.Fatalf("anna: %+v", anna)
	}
	boris, _ := srv.Store.UserByEmail(ctx, "boris@example.com")
	if boris.PasswordHash != "" || password.Verify(boris.PasswordHash, "md5-pass") {
		t.Fatal("an MD5 password hash was trusted")
	}
	if mails, _ := srv.Store.MailByUser(ctx, boris.ID); len(mails) != 1 || mails[0].Kind != "welcome" {
		t.Fatalf("boris must get a welcome mail with a set-password link: %+v", mails)
	}
	def, _ := srv.Store.UserByEmail(ctx, "admin@book-smeta.com")
	if def.Role != booksmeta.RoleSuperAdmin || def.PasswordHash != "" || password.Verify(def.PasswordHash, "password") || def.Active {
		t.Fatalf("the PHP default admin came over usable: %+v", def)
	}
	if mails, _ := srv.Store.MailByUser(ctx, def.ID); len(mails) != 0 {
		t.Fatal("a set-password link was mailed to the shipped default admin address")
	}
	olga, _ := srv.Store.UserByEmail(ctx, "olga@example.com")
	if olga.Role != booksmeta.RoleAdmin || !password.Verify(olga.PasswordHash, "olga-admin-pw") {
		t.Fatalf("olga: %+v", olga)
	}
	ivan, _ := srv.Store.UserByEmail(ctx, "ivan@example.com")
	if ivan.Active || !ivan.DeactivatedByAdmin || ivan.Paid || ivan.GetCourseUserID != "1005" {
		t.Fatalf("ivan: %+v", ivan)
	}
	if k, _ := srv.Store.UserByEmail(ctx, "known@example.com"); k.ID != known.ID || k.FirstName != "Новый" {
		t.Fatalf("an existing student was overwritten: %+v", k)
	}

	// Slots: local times in the school zone, credentials encrypted, capacity, availability, counters.
	slotAt := func(date, hm string) *booksmeta.Slot {
		t.Helper()
		start, _ := time.ParseInLocation("2006-01-02 15:04", date+" "+hm, msk)
		var sl *booksmeta.Slot
		err := srv.Store.InTx(ctx, func(tx *store.Tx) error {
			id, ok, err := tx.SlotIDAt(ctx, start)
			if err != nil || !ok {
				return fmt.Errorf("no slot at %s: %v", start, err)
			}
			sl, err = tx.SlotByID(ctx, id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return sl
	}
	s1 := slotAt(future, "10:00")
	if s1.EndsAt.Sub(s1.StartsAt) != time.Hour || s1.Capacity != 2 || s1.Booked != 2 || !s1.Active || s1.ServerLogin != "user_a" {
		t.Fatalf("slot 1: %+v", s1)
	}
	if strings.Contains(s1.ServerPassword, "Srv-Pass-A1") {
		t.Fatal("server password stored in plain text")
	}
	if pw, err := srv.Box.Open(s1.ServerPassword); err != nil || pw != "Srv-Pass-A1" {
		t.Fatalf("server password does not decrypt: %q %v", pw, err)
	}
	if s2 := slotAt(past, "09:00"); s2.Booked != 0 || s2.Capacity != 1 {
		t.Fatalf("past slot: %+v", s2)
	}
	if s4 := slotAt(future, "23:00"); s4.EndsAt.Sub(s4.StartsAt) != time.Hour {
		t.Fatalf("a slot ending at 24:00 lasts %v", s4.EndsAt.Sub(s4.StartsAt))
	}
	if s3 := slotAt(future, "12:00"); s3.Active {
		t.Fatal("an unavailable slot came over bookable")
	}

	// Bookings with their states.
	statuses := func(u *booksmeta.User) map[int64]string {
		bs, err := srv.Store.BookingsByUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]string{}
		for _, b := range bs {
			m[b.SlotID] = b.Status
		}
		return m
	}
	s2 := slotAt(past, "09:00")
	if st := statuses(anna); st[s1.ID] != "active" || st[s2.ID] != "finished" {
		t.Fatalf("anna's bookings: %v", st)
	}
	if st := statuses(boris); st[s1.ID] != "cancelled" || st[s2.ID] != "finished" {
		t.Fatalf("boris's bookings: %v", st)
	}
	if st := statuses(known); st[s1.ID] != "active" {
		t.Fatalf("bookings of a student who was already here: %v", st)
	}

	// Settings with their meaning; empty and unknown keys skipped; panel values kept.
	want := map[string]string{settings.MailHost: "smtp.go1.unisender.ru", settings.MailPort: "587", settings.MailUsername: "project-77",
		settings.MailPassword: "unisender-api-key-123", settings.MailEncryption: "tls", settings.MailFromEmail: "school@example.com",
		settings.MailFromName: "Школа Сметы", settings.GetCourseAPIURL: "https://school.getcourse.ru/pl/api",
		settings.GetCourseAPIKey: "gc-api-key-456", settings.DefaultBookingLimit: "5"}
	for k, v := range want {
		if got, err := srv.Settings.String(ctx, k); err != nil || got != v {
			t.Errorf("setting %s = %q (%v), want %q", k, got, err, v)
		}
	}
	for _, k := range []string{settings.MailPassword, settings.GetCourseAPIKey} {
		if st, _, _ := srv.Store.Setting(ctx, k); strings.Contains(st.Value, "123") || strings.Contains(st.Value, "456") {
			t.Errorf("secret %s stored in plain text", k)
		}
	}

	// GetCourse log rows as webhook history: accepted, done, "legacy", secrets redacted.
	hooks, err := srv.Store.ListWebhooks(ctx, store.WebhookFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var legacyRows int
	for _, h := range hooks {
		if h.Auth != "legacy" {
			continue
		}
		legacyRows++
		if h.Outcome != booksmeta.OutcomeAccepted || h.State != booksmeta.StateDone {
			t.Fatalf("legacy log row: %+v", h)
		}
		if strings.Contains(h.Body, "hook-secret-XYZ") || strings.Contains(h.Body, "tmp-pass-QQ") {
			t.Fatalf("a secret from the old log was kept: %s", h.Body)
		}
		if h.Event == "user_payment" && (h.Email != "anna@example.com" || !strings.Contains(h.Body, "anna@example.com")) {
			t.Fatalf("user_payment row: %+v", h)
		}
	}
	if legacyRows != 2 {
		t.Fatalf("%d legacy log rows, want 2", legacyRows)
	}
	var jobs int
	srv.DB.Read.QueryRow("SELECT COUNT(*) FROM jobs WHERE kind = 'process_webhook'").Scan(&jobs)
	if jobs != 0 {
		t.Fatal("history rows were queued for processing")
	}

	// A second run adds nothing.
	before = counts()
	sum, err = newImporter(&bytes.Buffer{}).Run(ctx, src, false)
	if err != nil {
		t.Fatal(err)
	}
	if after := counts(); after != before {
		t.Fatalf("second run wrote: %s → %s", before, after)
	}
	if sum.Users.Added+sum.Slots.Added+sum.Bookings.Added+sum.Logs.Added+sum.Settings.Added != 0 || sum.Users.Already != 6 || sum.Bookings.Already != 5 {
		t.Fatalf("second run summary: %+v", sum)
	}
	if s := slotAt(future, "10:00"); s.Booked != 2 {
		t.Fatalf("second run changed the counter: %d", s.Booked)
	}

	// The command line: dry run, run, second run, on a fresh installation.
	env := map[string]string{"BOOKSMETA_DATABASE_URL": dbtest.URL(t), "BOOKSMETA_SECRET_KEY": "legacy-cli-key", "BOOKSMETA_TIMEZONE": "Europe/Moscow"}
	runCLI := func(args ...string) string {
		t.Helper()
		var o, e bytes.Buffer
		code := cli.Run(ctx, &cli.Env{Args: args, Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""),
			Stdout: &o, Stderr: &e, Dotenv: t.TempDir() + "/absent.env"})
		if code != 0 {
			t.Fatalf("booksmeta %s: exit %d: %s", strings.Join(args, " "), code, e.String())
		}
		if strings.Contains(o.String()+e.String(), "unisender-api-key-123") || strings.Contains(o.String(), "Srv-Pass") {
			t.Fatal("the command printed a secret")
		}
		return o.String()
	}
	if o := runCLI("import-legacy", "--mysql", dsn, "--dry-run"); !strings.Contains(o, "ничего не записано") || !strings.Contains(o, "будет перенесено: 6") {
		t.Fatalf("dry run printed:\n%s", o)
	}
	if o := runCLI("import-legacy", "--mysql", dsn); !strings.Contains(o, "пользователи") || !strings.Contains(o, "перенесено: 6") {
		t.Fatalf("import printed:\n%s", o)
	}
	if o := runCLI("import-legacy", "--mysql", dsn); !strings.Contains(o, "перенесено: 0, уже были: 6") {
		t.Fatalf("second import printed:\n%s", o)
	}
}
