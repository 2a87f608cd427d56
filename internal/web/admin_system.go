package web

import (
	"booksmeta"

	"errors"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/db"
	"booksmeta/internal/store"
)

// fact is one line of the "about the system" page.
type fact struct {
	Label, Value string
	Warn         bool // shown as needing attention
}

// systemPage answers what an admin or whoever maintains the server asks
// first: which build, which schema, how big, when the last backup was, is
// work piling up, when GetCourse last delivered.
func (s *Server) systemPage(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	ctx := r.Context()
	loc := s.Settings.Location(ctx)
	at := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(loc).Format("02.01.2006 15:04")
	}
	f, err := s.Store.SystemFacts(ctx)
	if err != nil {
		s.internalError(w, r, "read system facts", err)
		return
	}
	now := s.Store.Now()
	build := []fact{{"Версия Book Smeta", s.Version, false}}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, when, dirty string
		for _, st := range bi.Settings {
			switch st.Key {
			case "vcs.revision":
				rev = st.Value
			case "vcs.time":
				when = st.Value
			case "vcs.modified":
				dirty = st.Value
			}
		}
		if rev != "" {
			v := rev[:min(12, len(rev))]
			if t, err := time.Parse(time.RFC3339, when); err == nil {
				v += " от " + at(t)
			}
			if dirty == "true" {
				v += " (с несохранёнными изменениями)"
			}
			build = append(build, fact{"Ревизия кода", v, false})
		} else {
			build = append(build, fact{"Ревизия кода", "не записана при сборке (собрано без git или через go run)", false})
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			build = append(build, fact{"Версия модуля", bi.Main.Version, false})
		}
	}
	build = append(build,
		fact{"Версия Go", runtime.Version(), false},
		fact{"Работает без перезапуска", uptimeText(now.Sub(s.started)) + " (запущен " + at(s.started) + ")", false},
		fact{"Часовой пояс школы", loc.String() + ", сейчас " + at(now), false})

	kind := "SQLite"
	if s.Store.DB().Dialect == db.Postgres {
		kind = "PostgreSQL"
	}
	schema := strconv.Itoa(f.SchemaVersion)
	if f.SchemaName != "" {
		schema += " (" + strings.TrimSuffix(f.SchemaName, ".sql") + ", применена " + at(time.Unix(f.SchemaApplied, 0)) + ")"
	}
	latest := db.LatestVersion(s.Store.DB().Dialect)
	data := []fact{
		{"База данных", kind, false},
		{"Версия схемы", schema, f.SchemaVersion != latest},
		{"Размер базы", humanSize(f.DatabaseBytes) + sizeNote(s.Store.DB().Dialect), false},
	}
	if f.SchemaVersion != latest {
		data = append(data, fact{"Внимание", "эта версия программы знает схему " + strconv.Itoa(latest) + ": выполните booksmeta migrate", true})
	}

	backupFacts, err := s.backupFacts(r, at)
	if err != nil {
		s.internalError(w, r, "read backup facts", err)
		return
	}

	work := []fact{
		// A few due jobs are normal for a moment; many mean the workers fall behind.
		{"Фоновые задачи ждут выполнения", strconv.Itoa(f.JobsPending), f.JobsPending > 20},
		{"Фоновые задачи запланированы на потом", strconv.Itoa(f.JobsScheduled), false},
		{"Фоновые задачи с ошибкой", strconv.Itoa(f.JobsFailed), f.JobsFailed > 0},
		{"Письма ждут отправки", strconv.Itoa(f.MailWaiting), false},
		{"Письма не отправлены (ошибка)", strconv.Itoa(f.MailFailed), f.MailFailed > 0},
		{"Последнее событие от GetCourse", msOrNever(f.LastDelivery, at), false},
		{"Последний запрос на адрес webhook", msOrNever(f.LastRequest, at), false},
	}
	d := s.adminData(r, "О системе", "system")
	d["Build"], d["Data"], d["Backup"], d["Work"] = build, data, backupFacts, work
	s.render(w, http.StatusOK, "admin_system", d)
}

// backupFacts is the last copy and whether the last attempt worked. The
// copy is read from the folder; the outcome from the trail, which records
// failures too.
func (s *Server) backupFacts(r *http.Request, at func(time.Time) string) ([]fact, error) {
	if s.Backups == nil || !s.Backups.Supported() {
		return []fact{{"Резервные копии", "для PostgreSQL их делает pg_dump по расписанию сервера; Book Smeta их не видит. Команда — на странице «Резервные копии».", false}}, nil
	}
	ctx := r.Context()
	out := []fact{}
	cs, err := s.Backups.List(ctx)
	if err != nil {
		out = append(out, fact{"Последняя копия", "папка копий не читается: " + err.Error(), true})
	} else if len(cs) == 0 {
		out = append(out, fact{"Последняя копия", "копий ещё нет: сделайте первую на странице «Резервные копии»", true})
	} else {
		c := cs[0]
		for _, x := range cs[1:] {
			if x.ModTime.After(c.ModTime) {
				c = x
			}
		}
		out = append(out, fact{"Последняя копия", at(c.ModTime) + ", " + humanSize(c.Size) + ", " + c.Name, false})
	}
	last, err := s.Store.LastAudit(ctx, audit.BackupRun, audit.BackupFailed)
	switch {
	case errors.Is(err, store.ErrNotFound):
		out = append(out, fact{"Последняя попытка", "не записана", false})
	case err != nil:
		return nil, err
	case last.Action == audit.BackupFailed:
		out = append(out, fact{"Последняя попытка", at(last.At) + ": ошибка. " + last.Summary, true})
	default:
		out = append(out, fact{"Последняя попытка", at(last.At) + ": успешно", false})
	}
	return out, nil
}

func sizeNote(d db.Dialect) string {
	if d == db.Postgres {
		return " (вся база PostgreSQL, pg_database_size)"
	}
	return " (файл базы вместе с журналом WAL)"
}

func msOrNever(v int64, at func(time.Time) string) string {
	if v == 0 {
		return "ещё не было"
	}
	return at(time.UnixMilli(v))
}

// uptimeText is «3 дн. 4 ч 5 мин».
func uptimeText(d time.Duration) string {
	d = d.Round(time.Minute)
	days, h, m := int(d.Hours())/24, int(d.Hours())%24, int(d.Minutes())%60
	var parts []string
	if days > 0 {
		parts = append(parts, strconv.Itoa(days)+" дн.")
	}
	if h > 0 {
		parts = append(parts, strconv.Itoa(h)+" ч")
	}
	if m > 0 || len(parts) == 0 {
		parts = append(parts, strconv.Itoa(m)+" мин")
	}
	return strings.Join(parts, " ")
}
