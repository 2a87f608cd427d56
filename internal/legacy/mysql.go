package legacy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// OpenMySQL connects to the PHP version's database given a DSN such as
// user:pass@tcp(host:3306)/book_smeta. The session runs in UTC so that
// TIMESTAMP columns read as instants whatever the server's zone.
func OpenMySQL(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(strings.TrimSpace(dsn))
	if err != nil {
		return nil, errors.New("адрес MySQL (--mysql) не читается: укажите его в виде пользователь:пароль@tcp(сервер:3306)/book_smeta")
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.ParseTime = false
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		cfg.Passwd = ""
		return nil, fmt.Errorf("не удалось подключиться к MySQL %s/%s: проверьте адрес, имя базы, пользователя и пароль в --mysql (%v)", cfg.Addr, cfg.DBName, redactErr(err, dsn))
	}
	return db, nil
}

// Describe is the DSN without its password, for messages.
func Describe(dsn string) string {
	cfg, err := mysql.ParseDSN(strings.TrimSpace(dsn))
	if err != nil {
		return "(unreadable MySQL address)"
	}
	return cfg.User + "@" + cfg.Addr + "/" + cfg.DBName
}

func redactErr(err error, dsn string) string {
	s := err.Error()
	if cfg, perr := mysql.ParseDSN(dsn); perr == nil && cfg.Passwd != "" {
		s = strings.ReplaceAll(s, cfg.Passwd, "***")
	}
	return s
}
