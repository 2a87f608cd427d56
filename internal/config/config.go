// Package config loads Book Smeta's configuration from the environment and
// an optional .env file. Values saved in the admin panel override these at
// run time; see package settings.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	// The default zone (Europe/Moscow) must load on hosts without the
	// system tz database (slim containers, minimal installs).
	_ "time/tzdata"
)

// Source says where a configuration value came from, so the admin panel can
// show it (SPEC §2).
type Source string

const (
	SourceDefault Source = "default"
	SourceDotenv  Source = "dotenv"
	SourceEnv     Source = "env"
	SourcePanel   Source = "panel"
)

// Config is the process configuration. It is built once at start and passed
// down explicitly; nothing reads the environment after Load.
type Config struct {
	Addr        string
	DatabaseURL string
	BaseURL     string
	Timezone    string
	Location    *time.Location
	SecretKey   string // hex or raw; empty means "use the key file in the data folder"

	GetCourseAccount       string
	GetCourseAPIURL        string
	GetCourseAPIKey        string
	GetCourseWebhookSecret string

	MailHost       string
	MailPort       int
	MailUsername   string
	MailPassword   string
	MailEncryption string
	MailFromEmail  string
	MailFromName   string

	// ServerAPIURL and ServerAPIKey are the school's own access endpoint
	// (SPEC §7, the http provider), under the PHP version's .env names.
	ServerAPIURL string
	ServerAPIKey string

	DefaultBookingLimit int
	SlotDurationMinutes int

	// TrustedProxies are the proxies whose X-Forwarded-For names the client
	// (sign-in throttling keys on it); empty trusts no proxy.
	TrustedProxies []netip.Prefix
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string

	// Warnings are problems that did not stop loading (malformed .env
	// lines); they name a file and line, never a value.
	Warnings []string

	// Sources records, per variable name of SPEC §2, where the value came from.
	Sources map[string]Source
}

// Getenv is os.Getenv's shape; tests pass a map-backed one.
type Getenv func(string) string

// names maps each setting to the variables that may carry it, first wins.
// Aliases keep the PHP version's .env working unchanged.
var names = []struct {
	key     string
	vars    []string
	def     string
	dotOnly bool
}{
	{"BOOKSMETA_ADDR", []string{"BOOKSMETA_ADDR"}, ":8080", false},
	{"BOOKSMETA_DATABASE_URL", []string{"BOOKSMETA_DATABASE_URL"}, "sqlite:data/booksmeta.db", false},
	{"BOOKSMETA_BASE_URL", []string{"BOOKSMETA_BASE_URL", "APP_URL"}, "http://localhost:8080", false},
	{"BOOKSMETA_TIMEZONE", []string{"BOOKSMETA_TIMEZONE", "APP_TIMEZONE"}, "Europe/Moscow", false},
	{"BOOKSMETA_SECRET_KEY", []string{"BOOKSMETA_SECRET_KEY"}, "", false},
	{"GETCOURSE_ACCOUNT", []string{"GETCOURSE_ACCOUNT"}, "", false},
	{"GETCOURSE_API_URL", []string{"GETCOURSE_API_URL"}, "", false},
	{"GETCOURSE_API_KEY", []string{"GETCOURSE_API_KEY", "GETCOURSE_SECRET_KEY"}, "", false},
	{"GETCOURSE_WEBHOOK_SECRET", []string{"GETCOURSE_WEBHOOK_SECRET"}, "", false},
	{"MAIL_HOST", []string{"MAIL_HOST"}, "", false},
	{"MAIL_PORT", []string{"MAIL_PORT"}, "", false},
	{"MAIL_USERNAME", []string{"MAIL_USERNAME"}, "", false},
	{"MAIL_PASSWORD", []string{"MAIL_PASSWORD"}, "", false},
	{"MAIL_ENCRYPTION", []string{"MAIL_ENCRYPTION"}, "", false},
	{"MAIL_FROM_EMAIL", []string{"MAIL_FROM_EMAIL", "MAIL_FROM_ADDRESS"}, "", false},
	{"MAIL_FROM_NAME", []string{"MAIL_FROM_NAME"}, "", false},
	{"SERVER_API_URL", []string{"SERVER_API_URL"}, "", false},
	{"SERVER_API_KEY", []string{"SERVER_API_KEY"}, "", false},
	{"DEFAULT_BOOKING_LIMIT", []string{"DEFAULT_BOOKING_LIMIT"}, "3", false},
	{"SLOT_DURATION_MINUTES", []string{"SLOT_DURATION_MINUTES"}, "60", false},
	{"BOOKSMETA_TRUSTED_PROXIES", []string{"BOOKSMETA_TRUSTED_PROXIES"}, "127.0.0.0/8,::1/128", false},
	{"BOOKSMETA_METRICS_TOKEN", []string{"BOOKSMETA_METRICS_TOKEN"}, "", false},
}

// Load reads configuration: a real environment variable wins over the .env
// file at dotenvPath (missing file is fine), which wins over the default.
// An empty environment variable counts as unset: the PHP installer wrote
// empty keys into .env and its `??` then hid the real value (OLD_PHP §4).
func Load(getenv Getenv, dotenvPath string) (Config, error) {
	dot, warnings, err := readDotenv(dotenvPath)
	if err != nil {
		return Config{}, err
	}
	raw := map[string]string{}
	src := map[string]Source{}
	// from names the variable a value was read from, for error messages
	// ("APP_TIMEZONE in .env", not a name the user never wrote).
	from := map[string]string{}
	envs := mapGetenv(getenv)
	for _, n := range names {
		raw[n.key], src[n.key], from[n.key] = n.def, SourceDefault, n.key
		if v, name, ok := firstNonEmpty(dot, n.vars); ok {
			raw[n.key], src[n.key], from[n.key] = v, SourceDotenv, name+" (в файле "+dotenvPath+")"
		}
		if v, name, ok := firstNonEmpty(envs, n.vars); ok {
			raw[n.key], src[n.key], from[n.key] = v, SourceEnv, name+" (переменная окружения)"
		}
	}
	c := Config{
		Addr:                   raw["BOOKSMETA_ADDR"],
		DatabaseURL:            raw["BOOKSMETA_DATABASE_URL"],
		BaseURL:                strings.TrimRight(raw["BOOKSMETA_BASE_URL"], "/"),
		Timezone:               raw["BOOKSMETA_TIMEZONE"],
		SecretKey:              raw["BOOKSMETA_SECRET_KEY"],
		GetCourseAccount:       raw["GETCOURSE_ACCOUNT"],
		GetCourseAPIURL:        raw["GETCOURSE_API_URL"],
		GetCourseAPIKey:        raw["GETCOURSE_API_KEY"],
		GetCourseWebhookSecret: raw["GETCOURSE_WEBHOOK_SECRET"],
		MailHost:               raw["MAIL_HOST"],
		MailUsername:           raw["MAIL_USERNAME"],
		MailPassword:           raw["MAIL_PASSWORD"],
		MailEncryption:         raw["MAIL_ENCRYPTION"],
		MailFromEmail:          raw["MAIL_FROM_EMAIL"],
		MailFromName:           raw["MAIL_FROM_NAME"],
		MetricsToken:           raw["BOOKSMETA_METRICS_TOKEN"],
		ServerAPIURL:           raw["SERVER_API_URL"],
		ServerAPIKey:           raw["SERVER_API_KEY"],
		Sources:                src,
		Warnings:               warnings,
	}
	var errs []error
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s = %q — такого часового пояса нет; укажите название вроде Europe/Moscow", from["BOOKSMETA_TIMEZONE"], c.Timezone))
	}
	c.Location = loc
	if c.MailPort, err = optionalInt(raw["MAIL_PORT"], from["MAIL_PORT"], 1, 65535); err != nil {
		errs = append(errs, err)
	}
	if c.DefaultBookingLimit, err = optionalInt(raw["DEFAULT_BOOKING_LIMIT"], from["DEFAULT_BOOKING_LIMIT"], 0, 1000); err != nil {
		errs = append(errs, err)
	}
	if c.SlotDurationMinutes, err = optionalInt(raw["SLOT_DURATION_MINUTES"], from["SLOT_DURATION_MINUTES"], 15, 480); err != nil {
		errs = append(errs, err)
	}
	if c.TrustedProxies, err = parseProxies(raw["BOOKSMETA_TRUSTED_PROXIES"], from["BOOKSMETA_TRUSTED_PROXIES"]); err != nil {
		errs = append(errs, err)
	}
	if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, badDatabaseURL(from["BOOKSMETA_DATABASE_URL"], c.DatabaseURL))
	}
	return c, joinErrors(errs)
}

func mapGetenv(g Getenv) map[string]string {
	if g == nil {
		return nil
	}
	m := map[string]string{}
	for _, n := range names {
		for _, v := range n.vars {
			if s := g(v); s != "" {
				m[v] = s
			}
		}
	}
	return m
}

func firstNonEmpty(m map[string]string, vars []string) (value, name string, ok bool) {
	for _, v := range vars {
		if s := strings.TrimSpace(m[v]); s != "" {
			return s, v, true
		}
	}
	return "", "", false
}

// badDatabaseURL explains a database URL this program cannot use, showing
// enough of it to recognise without printing a password: the scheme of a
// URL, or a plain path as it is.
func badDatabaseURL(name, u string) error {
	fix := "укажите sqlite:ПУТЬ (встроенная база, по умолчанию) или postgres://ПОЛЬЗОВАТЕЛЬ:ПАРОЛЬ@ХОСТ/БАЗА"
	if scheme, _, ok := strings.Cut(u, "://"); ok {
		return fmt.Errorf("%s: адрес со схемой %q — такую базу программа не знает; %s", name, scheme, fix)
	}
	if strings.ContainsAny(u, "@:") {
		return fmt.Errorf("%s: значение без sqlite: и без postgres:// — такую базу программа не знает; %s", name, fix)
	}
	return fmt.Errorf("%s = %q: перед путём к файлу нужно sqlite:, например sqlite:%s", name, u, u)
}

// parseProxies reads a list of CIDRs or single addresses separated by
// commas or spaces; "none" trusts no proxy at all.
func parseProxies(s, name string) ([]netip.Prefix, error) {
	out := []netip.Prefix{}
	if strings.EqualFold(strings.TrimSpace(s), "none") {
		return out, nil
	}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%s: %q — не адрес и не диапазон CIDR; напишите, например, 127.0.0.1/32,172.16.0.0/12 (или none, чтобы не доверять никакому прокси)", name, f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func optionalInt(s, name string, lo, hi int) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s = %q — нужно целое число от %d до %d", name, s, lo, hi)
	}
	return n, nil
}

// ReadDotenv parses a .env file in the dialect PHP's vlucas/phpdotenv
// accepted: KEY=VALUE lines, `export ` prefixes, # comments (whole-line, or
// after a value following whitespace), single or double quotes (escapes in
// double quotes). Like the old PHP loader, a line without "=" is skipped and
// a UTF-8 byte order mark is ignored, so every .env the PHP version read
// works unchanged. A missing file is not an error.
func ReadDotenv(path string) (map[string]string, error) {
	out, _, err := readDotenv(path)
	return out, err
}

// readDotenv is ReadDotenv that also reports the lines it could not use.
// A warning names the file and line only: a malformed line may well be a
// pasted secret, so no part of it is repeated.
func readDotenv(path string) (map[string]string, []string, error) {
	out := map[string]string{}
	var warnings []string
	if path == "" {
		return out, nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil, nil
	}
	if err != nil {
		return nil, nil, readError(path, err)
	}
	warn := func(line int, what string) {
		warnings = append(warnings, fmt.Sprintf("%s, строка %d: %s", path, line, what))
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	first := true
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if first {
			s, first = strings.TrimPrefix(s, "\ufeff"), false
		}
		s = strings.TrimSpace(s)
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(s, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			s = strings.TrimSpace(rest)
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			warn(line, "нет знака «=» (нужно ИМЯ=ЗНАЧЕНИЕ), строка пропущена")
			continue
		}
		k = strings.TrimSpace(k)
		if !validName(k) {
			warn(line, "перед «=» стоит не имя переменной (нужны латинские буквы, цифры и _), строка пропущена")
			continue
		}
		v = strings.TrimSpace(v)
		if q := firstQuote(v); q != 0 && !closedQuote(v, q) {
			warn(line, k+": кавычка не закрыта, значение взято как написано; закройте кавычку")
		}
		out[k] = dotenvValue(v)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, readError(path, err)
	}
	return out, warnings, nil
}

// readError says in Russian why a .env file could not be read, keeping the
// cause for errors.Is; only a rare other reason shows the system's words.
func readError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return reason{"нет прав на чтение файла " + path + ": дайте их пользователю, от имени которого запущен booksmeta", err}
	case errors.Is(err, syscall.EISDIR):
		return reason{path + " — папка, а не файл .env: уберите её или задайте настройки переменными окружения", err}
	case errors.Is(err, bufio.ErrTooLong):
		return reason{"в файле " + path + " строка длиннее 1 МБ: это точно файл настроек .env?", err}
	}
	return fmt.Errorf("не удалось прочитать файл %s: %w", path, err)
}

// reason is a message for people that still unwraps to its cause.
type reason struct {
	msg string
	err error
}

func (r reason) Error() string { return r.msg }
func (r reason) Unwrap() error { return r.err }

// loadErrors are all the mistakes of one Load, so one start shows them all;
// "; " keeps them apart when the command line prints them on one line.
type loadErrors []error

func (l loadErrors) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (l loadErrors) Unwrap() []error { return l }

func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return loadErrors(errs)
}

func validName(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func firstQuote(v string) byte {
	if v != "" && (v[0] == '"' || v[0] == '\'') {
		return v[0]
	}
	return 0
}

// closedQuote reports whether a value opening with quote q has its closing quote.
func closedQuote(v string, q byte) bool {
	for i := 1; i < len(v); i++ {
		if q == '"' && v[i] == '\\' {
			i++
			continue
		}
		if v[i] == q {
			return true
		}
	}
	return false
}

var unescapeDQ = strings.NewReplacer(`\n`, "\n", `\"`, `"`, `\\`, `\`)

// dotenvValue unquotes one value.
func dotenvValue(v string) string {
	if v == "" {
		return v
	}
	if q := v[0]; q == '"' || q == '\'' {
		// A quoted value ends at its closing quote; only a comment may follow.
		for i := 1; i < len(v); i++ {
			if q == '"' && v[i] == '\\' {
				i++
				continue
			}
			if v[i] != q {
				continue
			}
			if rest := strings.TrimSpace(v[i+1:]); rest == "" || rest[0] == '#' {
				if q == '"' {
					return unescapeDQ.Replace(v[1:i])
				}
				return v[1:i]
			}
			break
		}
		// Not a clean quoted value: the PHP loader stripped quotes at both ends.
		if len(v) >= 2 && v[len(v)-1] == q {
			return v[1 : len(v)-1]
		}
	}
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && (v[i-1] == ' ' || v[i-1] == '\t') {
			return strings.TrimSpace(v[:i])
		}
	}
	return v
}

// SQLitePath returns the file path of a sqlite: URL, or "" for PostgreSQL.
func (c Config) SQLitePath() string {
	p, ok := strings.CutPrefix(c.DatabaseURL, "sqlite:")
	if !ok {
		return ""
	}
	return strings.TrimPrefix(p, "//")
}
