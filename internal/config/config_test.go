package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"booksmeta/internal/config"
)

// env is a map-backed Getenv: the tests never read the real environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, e env, dotenv string) config.Config {
	t.Helper()
	c, err := config.Load(e.get, dotenv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// phpDotenv is an .env the way the old PHP installer left it (its
// env.example with the installer's substitutions), plus what people add by
// hand: comments, quotes, `export`, CRLF line ends, a line without "=".
const phpDotenv = "# Настройки базы данных\r\n" +
	`DB_HOST=localhost
DB_NAME=book_smeta
DB_USER=root
DB_PASSWORD=
DB_CHARSET=utf8mb4

# GetCourse API настройки
GETCOURSE_ACCOUNT=smeta-school
GETCOURSE_SECRET_KEY=Zx8kQ2mN5pR7tV9wY1aB3cD5eF7gH9jK
GETCOURSE_WEBHOOK_SECRET="9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c"

# Настройки почты
MAIL_HOST=smtp.yandex.ru
MAIL_PORT=465
MAIL_USERNAME=noreply@smeta-school.ru
MAIL_PASSWORD='p@ss "quoted" #not-a-comment'
MAIL_ENCRYPTION=ssl   # implicit TLS on 465
MAIL_FROM_NAME="Школа сметного дела"
export MAIL_FROM_EMAIL=noreply@smeta-school.ru

# Настройки приложения
APP_NAME="Book Smeta"
APP_URL=https://book.smeta-school.ru/
APP_DEBUG=false
APP_TIMEZONE=Asia/Yekaterinburg

# Безопасность
JWT_SECRET=your_jwt_secret_key_here
ENCRYPTION_KEY=your_encryption_key_here

# Настройки бронирования
DEFAULT_BOOKING_LIMIT=5
BOOKING_EXPIRE_HOURS=24
SLOT_DURATION_MINUTES=90
`

func TestOldPHPDotenvWorksUnchanged(t *testing.T) {
	c := mustLoad(t, env{}, writeFile(t, phpDotenv))
	checks := []struct{ name, got, want string }{
		{"GetCourseAccount", c.GetCourseAccount, "smeta-school"},
		{"GetCourseAPIKey (alias GETCOURSE_SECRET_KEY)", c.GetCourseAPIKey, "Zx8kQ2mN5pR7tV9wY1aB3cD5eF7gH9jK"},
		{"GetCourseWebhookSecret", c.GetCourseWebhookSecret, "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c"},
		{"Timezone (alias APP_TIMEZONE)", c.Timezone, "Asia/Yekaterinburg"},
		{"BaseURL (alias APP_URL, no trailing slash)", c.BaseURL, "https://book.smeta-school.ru"},
		{"MailHost", c.MailHost, "smtp.yandex.ru"},
		{"MailUsername", c.MailUsername, "noreply@smeta-school.ru"},
		{"MailPassword (single quotes keep everything)", c.MailPassword, `p@ss "quoted" #not-a-comment`},
		{"MailEncryption (inline comment dropped)", c.MailEncryption, "ssl"},
		{"MailFromName", c.MailFromName, "Школа сметного дела"},
		{"MailFromEmail (export prefix)", c.MailFromEmail, "noreply@smeta-school.ru"},
		{"DatabaseURL (DB_* of MySQL ignored)", c.DatabaseURL, "sqlite:data/booksmeta.db"},
		{"Addr", c.Addr, ":8080"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if c.MailPort != 465 || c.DefaultBookingLimit != 5 || c.SlotDurationMinutes != 90 {
		t.Errorf("ints: port %d limit %d duration %d", c.MailPort, c.DefaultBookingLimit, c.SlotDurationMinutes)
	}
	if c.Location == nil || c.Location.String() != "Asia/Yekaterinburg" {
		t.Errorf("Location = %v", c.Location)
	}
	for k, want := range map[string]config.Source{
		"GETCOURSE_API_KEY":        config.SourceDotenv,
		"GETCOURSE_WEBHOOK_SECRET": config.SourceDotenv,
		"BOOKSMETA_TIMEZONE":       config.SourceDotenv,
		"BOOKSMETA_BASE_URL":       config.SourceDotenv,
		"MAIL_FROM_EMAIL":          config.SourceDotenv,
		"BOOKSMETA_ADDR":           config.SourceDefault,
		"BOOKSMETA_DATABASE_URL":   config.SourceDefault,
		"GETCOURSE_API_URL":        config.SourceDefault,
	} {
		if got := c.Sources[k]; got != want {
			t.Errorf("Sources[%s] = %q, want %q", k, got, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := mustLoad(t, env{}, filepath.Join(t.TempDir(), "missing.env"))
	if c.Addr != ":8080" || c.DatabaseURL != "sqlite:data/booksmeta.db" || c.BaseURL != "http://localhost:8080" ||
		c.Timezone != "Europe/Moscow" || c.DefaultBookingLimit != 3 || c.SlotDurationMinutes != 60 ||
		c.MailPort != 0 || c.GetCourseAPIKey != "" || c.GetCourseWebhookSecret != "" || c.SecretKey != "" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Location.String() != "Europe/Moscow" {
		t.Fatalf("location %v", c.Location)
	}
	if c.SQLitePath() != "data/booksmeta.db" {
		t.Fatalf("SQLitePath %q", c.SQLitePath())
	}
	for k, s := range c.Sources {
		if s != config.SourceDefault {
			t.Errorf("Sources[%s] = %s, want default", k, s)
		}
	}
	// Every SPEC §2 variable has a recorded source.
	for _, k := range []string{"BOOKSMETA_ADDR", "BOOKSMETA_DATABASE_URL", "BOOKSMETA_BASE_URL", "BOOKSMETA_TIMEZONE",
		"BOOKSMETA_SECRET_KEY", "GETCOURSE_ACCOUNT", "GETCOURSE_API_URL", "GETCOURSE_API_KEY", "GETCOURSE_WEBHOOK_SECRET",
		"MAIL_HOST", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_ENCRYPTION", "MAIL_FROM_EMAIL", "MAIL_FROM_NAME",
		"DEFAULT_BOOKING_LIMIT", "SLOT_DURATION_MINUTES"} {
		if _, ok := c.Sources[k]; !ok {
			t.Errorf("no source recorded for %s", k)
		}
	}
	// No .env path at all is fine too.
	mustLoad(t, env{}, "")
	if _, err := config.Load(nil, ""); err != nil {
		t.Fatalf("nil getenv: %v", err)
	}
}

func TestPrecedenceEnvOverDotenvOverDefault(t *testing.T) {
	dot := writeFile(t, "MAIL_HOST=dot.example.ru\nMAIL_PORT=2525\nGETCOURSE_ACCOUNT=from-dot\n")
	c := mustLoad(t, env{"MAIL_HOST": "env.example.ru", "BOOKSMETA_ADDR": "127.0.0.1:9090"}, dot)
	if c.MailHost != "env.example.ru" || c.Sources["MAIL_HOST"] != config.SourceEnv {
		t.Errorf("MAIL_HOST %q from %s, want env", c.MailHost, c.Sources["MAIL_HOST"])
	}
	if c.MailPort != 2525 || c.Sources["MAIL_PORT"] != config.SourceDotenv {
		t.Errorf("MAIL_PORT %d from %s, want .env", c.MailPort, c.Sources["MAIL_PORT"])
	}
	if c.GetCourseAccount != "from-dot" || c.Sources["GETCOURSE_ACCOUNT"] != config.SourceDotenv {
		t.Errorf("GETCOURSE_ACCOUNT %q from %s", c.GetCourseAccount, c.Sources["GETCOURSE_ACCOUNT"])
	}
	if c.Addr != "127.0.0.1:9090" || c.Sources["BOOKSMETA_ADDR"] != config.SourceEnv {
		t.Errorf("BOOKSMETA_ADDR %q from %s", c.Addr, c.Sources["BOOKSMETA_ADDR"])
	}
	if c.DefaultBookingLimit != 3 || c.Sources["DEFAULT_BOOKING_LIMIT"] != config.SourceDefault {
		t.Errorf("DEFAULT_BOOKING_LIMIT %d from %s", c.DefaultBookingLimit, c.Sources["DEFAULT_BOOKING_LIMIT"])
	}
}

func TestEmptyEnvDoesNotHideDotenv(t *testing.T) {
	// The PHP installer wrote empty keys; a blank variable must not hide a real value.
	dot := writeFile(t, "GETCOURSE_SECRET_KEY=real-key\nMAIL_HOST=smtp.mail.ru\nGETCOURSE_WEBHOOK_SECRET=whsec\n")
	c := mustLoad(t, env{"GETCOURSE_API_KEY": "", "GETCOURSE_SECRET_KEY": "", "MAIL_HOST": "   ", "GETCOURSE_WEBHOOK_SECRET": ""}, dot)
	if c.GetCourseAPIKey != "real-key" || c.Sources["GETCOURSE_API_KEY"] != config.SourceDotenv {
		t.Errorf("API key %q from %s", c.GetCourseAPIKey, c.Sources["GETCOURSE_API_KEY"])
	}
	if c.MailHost != "smtp.mail.ru" || c.Sources["MAIL_HOST"] != config.SourceDotenv {
		t.Errorf("MAIL_HOST %q from %s", c.MailHost, c.Sources["MAIL_HOST"])
	}
	if c.GetCourseWebhookSecret != "whsec" {
		t.Errorf("webhook secret %q", c.GetCourseWebhookSecret)
	}
	// The same within .env: an empty new name does not hide the old alias.
	dot = writeFile(t, "GETCOURSE_API_KEY=\nGETCOURSE_SECRET_KEY=old-name-key\nBOOKSMETA_TIMEZONE=\nAPP_TIMEZONE=Asia/Omsk\n")
	c = mustLoad(t, env{}, dot)
	if c.GetCourseAPIKey != "old-name-key" || c.Timezone != "Asia/Omsk" {
		t.Errorf("key %q tz %q", c.GetCourseAPIKey, c.Timezone)
	}
}

func TestAliases(t *testing.T) {
	c := mustLoad(t, env{"GETCOURSE_SECRET_KEY": "k1", "APP_TIMEZONE": "Asia/Novosibirsk", "APP_URL": "https://school.example/"}, "")
	if c.GetCourseAPIKey != "k1" || c.Sources["GETCOURSE_API_KEY"] != config.SourceEnv {
		t.Errorf("GETCOURSE_SECRET_KEY -> %q (%s)", c.GetCourseAPIKey, c.Sources["GETCOURSE_API_KEY"])
	}
	if c.Timezone != "Asia/Novosibirsk" || c.Location.String() != "Asia/Novosibirsk" || c.Sources["BOOKSMETA_TIMEZONE"] != config.SourceEnv {
		t.Errorf("APP_TIMEZONE -> %q %v (%s)", c.Timezone, c.Location, c.Sources["BOOKSMETA_TIMEZONE"])
	}
	if c.BaseURL != "https://school.example" || c.Sources["BOOKSMETA_BASE_URL"] != config.SourceEnv {
		t.Errorf("APP_URL -> %q (%s)", c.BaseURL, c.Sources["BOOKSMETA_BASE_URL"])
	}

	// The new name wins over the alias from the same place.
	c = mustLoad(t, env{"GETCOURSE_SECRET_KEY": "old", "GETCOURSE_API_KEY": "new", "APP_TIMEZONE": "Asia/Omsk", "BOOKSMETA_TIMEZONE": "Europe/Samara"}, "")
	if c.GetCourseAPIKey != "new" || c.Timezone != "Europe/Samara" {
		t.Errorf("new name should win: key %q tz %q", c.GetCourseAPIKey, c.Timezone)
	}

	// A real environment variable under the alias wins over .env under the new name.
	dot := writeFile(t, "GETCOURSE_API_KEY=from-dot\nBOOKSMETA_TIMEZONE=Europe/Samara\n")
	c = mustLoad(t, env{"GETCOURSE_SECRET_KEY": "from-env", "APP_TIMEZONE": "Asia/Omsk"}, dot)
	if c.GetCourseAPIKey != "from-env" || c.Timezone != "Asia/Omsk" || c.Sources["GETCOURSE_API_KEY"] != config.SourceEnv {
		t.Errorf("env alias vs .env: key %q tz %q", c.GetCourseAPIKey, c.Timezone)
	}
}

func TestDotenvDialect(t *testing.T) {
	dot := writeFile(t, "\ufeff# saved by Windows Notepad with a BOM\n"+
		"  SPACED  =   value with spaces   \n"+
		"export   EXPORTED=yes\n"+
		"DQ=\"line1\\nline2 \\\"q\\\" back\\\\slash\"\n"+
		"SQ='no $expansion \\n here'\n"+
		"HASH=abc#def\n"+
		"HASH2=abc#def #comment\n"+
		"APOS='it's'\n"+
		"TABBED=v\t# tab comment\n"+
		"INLINE=value # comment\n"+
		"QUOTED_COMMENT=\"quoted value\" # a comment after quotes\n"+
		"SQUOTED_COMMENT='single' # another\n"+
		"EMPTY=\n"+
		"EMPTYQ=\"\"\n"+
		"URL=https://example.ru/path?a=1&b=2\n"+
		"   # indented comment\n"+
		"not a setting line\n"+
		"LAST=1")
	m, err := config.ReadDotenv(dot)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"SPACED":          "value with spaces",
		"EXPORTED":        "yes",
		"DQ":              "line1\nline2 \"q\" back\\slash",
		"SQ":              `no $expansion \n here`,
		"HASH":            "abc#def",
		"HASH2":           "abc#def",
		"APOS":            "it's",
		"TABBED":          "v",
		"INLINE":          "value",
		"QUOTED_COMMENT":  "quoted value",
		"SQUOTED_COMMENT": "single",
		"EMPTY":           "",
		"EMPTYQ":          "",
		"URL":             "https://example.ru/path?a=1&b=2",
		"LAST":            "1",
	}
	for k, v := range want {
		got, ok := m[k]
		if !ok || got != v {
			t.Errorf("%s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	for k := range m {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %q = %q", k, m[k])
		}
	}

	if m, err := config.ReadDotenv(filepath.Join(t.TempDir(), "none")); err != nil || len(m) != 0 {
		t.Fatalf("missing file: %v %v", m, err)
	}
	// A directory in place of the file is a real error.
	if _, err := config.ReadDotenv(t.TempDir()); err == nil {
		t.Fatal("reading a directory as .env should fail")
	}
}

func TestBadValuesGiveClearErrors(t *testing.T) {
	cases := []struct {
		name    string
		env     env
		dotenv  string
		wantAll []string
	}{
		{"bad timezone in env", env{"BOOKSMETA_TIMEZONE": "Europe/Moskow"}, "", []string{"BOOKSMETA_TIMEZONE", `"Europe/Moskow"`, "часового пояса", "Europe/Moscow"}},
		{"bad timezone via APP_TIMEZONE in .env", env{}, "APP_TIMEZONE=Moscow\n", []string{"APP_TIMEZONE", `"Moscow"`, "в файле", "часового пояса"}},
		{"MAIL_PORT=abc", env{"MAIL_PORT": "abc"}, "", []string{"MAIL_PORT", `"abc"`, "целое число", "1", "65535"}},
		{"MAIL_PORT out of range", env{"MAIL_PORT": "70000"}, "", []string{"MAIL_PORT", "70000"}},
		{"DEFAULT_BOOKING_LIMIT negative", env{"DEFAULT_BOOKING_LIMIT": "-1"}, "", []string{"DEFAULT_BOOKING_LIMIT", "-1"}},
		{"SLOT_DURATION_MINUTES too short", env{}, "SLOT_DURATION_MINUTES=5\n", []string{"SLOT_DURATION_MINUTES", "15", "480"}},
		{"mysql URL", env{"BOOKSMETA_DATABASE_URL": "mysql://root:hunter2@localhost/book_smeta"}, "", []string{"BOOKSMETA_DATABASE_URL", "mysql", "sqlite:", "postgres://"}},
		{"bare path", env{"BOOKSMETA_DATABASE_URL": "data/booksmeta.db"}, "", []string{"BOOKSMETA_DATABASE_URL", "sqlite:data/booksmeta.db"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.dotenv != "" {
				path = writeFile(t, tc.dotenv)
			}
			_, err := config.Load(tc.env.get, path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wantAll {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the database password: %q", err)
			}
		})
	}

	// Several mistakes are reported together, so one start shows them all.
	_, err := config.Load(env{"MAIL_PORT": "abc", "BOOKSMETA_TIMEZONE": "Nowhere/City"}.get, "")
	if err == nil || !strings.Contains(err.Error(), "MAIL_PORT") || !strings.Contains(err.Error(), "Nowhere/City") || !strings.Contains(err.Error(), "; ") {
		t.Fatalf("joined errors: %v", err)
	}

	// Accepted edges.
	for _, u := range []string{"postgres://u@h/db", "postgresql://u@h/db", "sqlite:/tmp/x.db", "sqlite:///tmp/x.db"} {
		if _, err := config.Load(env{"BOOKSMETA_DATABASE_URL": u}.get, ""); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	c := mustLoad(t, env{"BOOKSMETA_DATABASE_URL": "sqlite:///var/lib/booksmeta/b.db", "DEFAULT_BOOKING_LIMIT": "0"}, "")
	if c.SQLitePath() != "/var/lib/booksmeta/b.db" || c.DefaultBookingLimit != 0 {
		t.Errorf("SQLitePath %q limit %d", c.SQLitePath(), c.DefaultBookingLimit)
	}
	if (config.Config{DatabaseURL: "postgres://x"}).SQLitePath() != "" {
		t.Error("postgres URL has no SQLite path")
	}
}

func TestMalformedDotenvFileIsReported(t *testing.T) {
	// An unreadable .env (permission denied) is an error that names the file.
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	p := writeFile(t, "MAIL_HOST=x\n")
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(env{}.get, p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "нет прав на чтение") || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("want a Russian error naming %s, got %v", p, err)
	}
}
