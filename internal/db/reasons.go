package db

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// reason is a message for people that still unwraps to its cause, so
// errors.Is and errors.As keep working on what the drivers returned.
type reason struct {
	msg string
	err error
}

func (r reason) Error() string { return r.msg }
func (r reason) Unwrap() error { return r.err }

// osReason words the common operating-system failures in Russian; "" when
// the failure is not one of them.
func osReason(err error) string {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return "нет прав: дайте права на папку и файл пользователю, от имени которого запущен booksmeta"
	case errors.Is(err, syscall.ENOSPC):
		return "на диске не осталось места: освободите место"
	case errors.Is(err, syscall.EROFS):
		return "диск подключён только для чтения: выберите папку, куда можно писать"
	case errors.Is(err, syscall.ENOTDIR):
		return "часть пути — файл, а не папка: исправьте путь"
	case errors.Is(err, syscall.EISDIR):
		return "по этому пути лежит папка, а не файл базы: укажите путь к файлу"
	}
	return ""
}

// withReason is prefix and a Russian reason, or prefix and the cause's own
// words when the failure is a rare one.
func withReason(prefix string, err error) error {
	if r := osReason(err); r != "" {
		return reason{prefix + ": " + r, err}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// sqliteError says what is wrong with the SQLite file at path and what to do.
func sqliteError(path string, err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return withReason("не удалось открыть базу SQLite "+path, err)
	}
	fix := "проверьте путь в BOOKSMETA_DATABASE_URL или верните резервную копию: booksmeta restore --from ФАЙЛ"
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB:
		return reason{path + " — не база SQLite (повреждённый или посторонний файл): " + fix, err}
	case sqlite3.SQLITE_CORRUPT:
		return reason{"база " + path + " повреждена: " + fix, err}
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
		return reason{"не удалось открыть базу " + path + ": проверьте, что папка есть и у пользователя, от имени которого запущен booksmeta, есть права на неё и на файл", err}
	case sqlite3.SQLITE_READONLY:
		return reason{"база " + path + " открыта только для чтения: дайте права на запись на файл и его папку пользователю, от имени которого запущен booksmeta", err}
	case sqlite3.SQLITE_FULL:
		return reason{"на диске с базой " + path + " не осталось места: освободите место", err}
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return reason{"база " + path + " занята другой программой: подождите и повторите", err}
	case sqlite3.SQLITE_IOERR:
		return reason{"ошибка чтения или записи базы " + path + " (диск?): проверьте диск и место на нём", err}
	}
	return fmt.Errorf("ошибка базы SQLite %s: %w", path, err)
}

// postgresError says why PostgreSQL did not answer and what to do; the URL
// is shown without its password.
func postgresError(rawURL string, err error) error {
	where := redactURL(rawURL)
	host := where
	if u, perr := url.Parse(rawURL); perr == nil && u.Host != "" {
		host = u.Host
	}
	var pe *pgconn.PgError
	var dns *net.DNSError
	switch {
	case errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000"):
		return reason{"PostgreSQL " + where + " не принял пользователя или пароль: исправьте их в BOOKSMETA_DATABASE_URL", err}
	case errors.As(err, &pe) && pe.Code == "3D000":
		return reason{"на сервере PostgreSQL " + host + " нет базы из BOOKSMETA_DATABASE_URL (" + where + "): создайте её (createdb) или исправьте имя", err}
	case errors.As(err, &dns):
		return reason{"не найден сервер PostgreSQL «" + dns.Name + "» из BOOKSMETA_DATABASE_URL: проверьте имя хоста", err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return reason{"PostgreSQL по адресу " + host + " не отвечает (соединение отклонено): запустите PostgreSQL или исправьте адрес в BOOKSMETA_DATABASE_URL", err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT):
		return reason{"PostgreSQL по адресу " + host + " не ответил вовремя: проверьте адрес в BOOKSMETA_DATABASE_URL и доступ к серверу по сети", err}
	}
	return fmt.Errorf("не удалось подключиться к PostgreSQL %s: %w", where, err)
}
