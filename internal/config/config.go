// Package config loads Book Smeta's configuration from the environment and
// an optional .env file. Values saved in the admin panel override these at
// run time; see package settings.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
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

	DefaultBookingLimit int
	SlotDurationMinutes int

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
	{"DEFAULT_BOOKING_LIMIT", []string{"DEFAULT_BOOKING_LIMIT"}, "3", false},
	{"SLOT_DURATION_MINUTES", []string{"SLOT_DURATION_MINUTES"}, "60", false},
}

// Load reads configuration: a real environment variable wins over the .env
// file at dotenvPath (missing file is fine), which wins over the default.
// An empty environment variable counts as unset: the PHP installer wrote
// empty keys into .env and its `??` then hid the real value (OLD_PHP §4).
func Load(getenv Getenv, dotenvPath string) (Config, error) {
	dot, err := ReadDotenv(dotenvPath)
	if err != nil {
		return Config{}, err
	}
	raw := map[string]string{}
	src := map[string]Source{}
	for _, n := range names {
		raw[n.key], src[n.key] = n.def, SourceDefault
		if v, ok := firstNonEmpty(dot, n.vars); ok {
			raw[n.key], src[n.key] = v, SourceDotenv
		}
		if v, ok := firstNonEmpty(mapGetenv(getenv), n.vars); ok {
			raw[n.key], src[n.key] = v, SourceEnv
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
		Sources:                src,
	}
	var errs []error
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		errs = append(errs, fmt.Errorf("BOOKSMETA_TIMEZONE=%q is not a known time zone; use a name like Europe/Moscow", c.Timezone))
	}
	c.Location = loc
	if c.MailPort, err = optionalInt(raw["MAIL_PORT"], "MAIL_PORT", 1, 65535); err != nil {
		errs = append(errs, err)
	}
	if c.DefaultBookingLimit, err = optionalInt(raw["DEFAULT_BOOKING_LIMIT"], "DEFAULT_BOOKING_LIMIT", 0, 1000); err != nil {
		errs = append(errs, err)
	}
	if c.SlotDurationMinutes, err = optionalInt(raw["SLOT_DURATION_MINUTES"], "SLOT_DURATION_MINUTES", 15, 480); err != nil {
		errs = append(errs, err)
	}
	if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, fmt.Errorf("BOOKSMETA_DATABASE_URL must start with sqlite: or postgres://"))
	}
	return c, errors.Join(errs...)
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

func firstNonEmpty(m map[string]string, vars []string) (string, bool) {
	for _, v := range vars {
		if s := strings.TrimSpace(m[v]); s != "" {
			return s, true
		}
	}
	return "", false
}

func optionalInt(s, name string, lo, hi int) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s=%q must be a whole number from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

// ReadDotenv parses a .env file in the dialect PHP's vlucas/phpdotenv
// accepted: KEY=VALUE lines, `export ` prefixes, # comments, single or double
// quotes. A missing file is not an error.
func ReadDotenv(path string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		s = strings.TrimPrefix(s, "export ")
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected KEY=VALUE", path, line)
		}
		k = strings.TrimSpace(k)
		v = strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
			v = strings.NewReplacer(`\n`, "\n", `\"`, `"`, `\\`, `\`).Replace(v[1 : len(v)-1])
		case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
			v = v[1 : len(v)-1]
		default:
			if i := strings.Index(v, " #"); i >= 0 {
				v = strings.TrimSpace(v[:i])
			}
		}
		out[k] = v
	}
	return out, sc.Err()
}

// SQLitePath returns the file path of a sqlite: URL, or "" for PostgreSQL.
func (c Config) SQLitePath() string {
	p, ok := strings.CutPrefix(c.DatabaseURL, "sqlite:")
	if !ok {
		return ""
	}
	return strings.TrimPrefix(p, "//")
}
