// Package audit is the trail of what admins changed and what the system did
// (SPEC's admin panel, issue 17): who, when, which action on what, and a
// Russian sentence saying what changed. Secrets never enter it: a changed
// secret setting is written as «изменено», without a value.
//
// Callers record after the action succeeded, with one line:
//
//	s.Audit.Record(ctx, audit.By(admin, audit.UserUpdate, audit.User(id), "…"))
//	s.Audit.Record(ctx, audit.System(audit.AccessGrant, audit.Booking(id), "…"))
//
// A failed record is logged by Log and returned, never fatal to the action.
// Entries are kept a year (Keep); PruneJob removes older ones daily.
package audit

import (
	"booksmeta"

	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"booksmeta/internal/store"
)

// Entry is one thing that happened.
type Entry struct {
	At        time.Time // zero: now
	Actor     int64     // user id; 0 is the system
	ActorName string    // as the actor was called then («Анна Смирнова (ann@…)», «система»)
	Action    string    // a stable code below, e.g. "setting.update"
	Target    string    // what it was done to: "user:12", "booking:7", "settings"
	Summary   string    // Russian, for people; never a secret value
}

// Recorder writes entries. Record must not be called inside a store
// transaction on SQLite (it would wait for the connection the transaction
// holds); use Log.RecordTx there.
type Recorder interface {
	Record(ctx context.Context, e Entry) error
}

// Actions. The codes are stable (filters and links use them); the Russian
// name of each is Label.
const (
	SettingUpdate = "setting.update"
	SecretReveal  = "setting.reveal"

	UserCreate   = "user.create"
	UserUpdate   = "user.update"
	UserPassword = "user.password"
	UserLink     = "user.link"
	UserDelete   = "user.delete"

	SlotCreate   = "slot.create"
	SlotUpdate   = "slot.update"
	SlotDelete   = "slot.delete"
	SlotGenerate = "slot.generate"
	SlotClose    = "slot.close"

	BookingCancel = "booking.cancel"
	BookingUpdate = "booking.update"
	BookingDelete = "booking.delete"

	OfferCreate    = "offer.create"
	OfferUpdate    = "offer.update"
	OfferDelete    = "offer.delete"
	OfferRecompute = "offer.recompute"

	MailTemplateUpdate = "mail_template.update"
	MailResend         = "mail.resend"
	MailTest           = "mail.test"

	WebhookRerun = "webhook.rerun"
	WebhookPrune = "webhook.prune"

	BackupRun    = "backup.run"
	BackupFailed = "backup.failed"

	SyncRequest = "sync.request"
	SyncRun     = "sync.run"
	SyncFailed  = "sync.failed"

	AccessGrant  = "access.grant"
	AccessRevoke = "access.revoke"
	AccessFailed = "access.failed"

	LoginOK     = "auth.login"
	LoginFailed = "auth.login_failed"

	AuditPrune = "audit.prune"
)

var labels = map[string]string{
	SettingUpdate:      "изменение настроек",
	SecretReveal:       "показ секрета webhook",
	UserCreate:         "создание пользователя",
	UserUpdate:         "изменение пользователя",
	UserPassword:       "смена пароля",
	UserLink:           "ссылка для пароля",
	UserDelete:         "удаление пользователя",
	SlotCreate:         "создание слота",
	SlotUpdate:         "изменение слота",
	SlotDelete:         "удаление слота",
	SlotGenerate:       "слоты по расписанию",
	SlotClose:          "закрытие слотов",
	BookingCancel:      "отмена бронирования",
	BookingUpdate:      "изменение бронирования",
	BookingDelete:      "удаление бронирования",
	OfferCreate:        "создание тарифа",
	OfferUpdate:        "изменение тарифа",
	OfferDelete:        "удаление тарифа",
	OfferRecompute:     "пересчёт тарифов",
	MailTemplateUpdate: "изменение шаблона письма",
	MailResend:         "повторная отправка письма",
	MailTest:           "проверочное письмо",
	WebhookRerun:       "повторная обработка события",
	WebhookPrune:       "очистка журнала webhook",
	BackupRun:          "резервная копия",
	BackupFailed:       "резервная копия: ошибка",
	SyncRequest:        "запуск синхронизации",
	SyncRun:            "синхронизация GetCourse",
	SyncFailed:         "синхронизация GetCourse: ошибка",
	AccessGrant:        "выдача доступа к серверу",
	AccessRevoke:       "отзыв доступа к серверу",
	AccessFailed:       "доступ к серверу: ошибка",
	LoginOK:            "вход администратора",
	LoginFailed:        "неудачный вход администратора",
	AuditPrune:         "очистка журнала действий",
}

// Label is the Russian name of an action (the code itself when unknown).
func Label(action string) string {
	if l, ok := labels[action]; ok {
		return l
	}
	return action
}

// Kind is a group of actions for the page's filter; Prefix ends in ".".
type Kind struct{ Prefix, Label string }

// Kinds lists the groups in the order the filter shows them.
var Kinds = []Kind{
	{"setting.", "Настройки"},
	{"user.", "Пользователи"},
	{"slot.", "Слоты"},
	{"booking.", "Бронирования"},
	{"offer.", "Тарифы"},
	{"mail", "Письма и шаблоны"},
	{"webhook.", "Журнал webhook"},
	{"backup.", "Резервные копии"},
	{"sync.", "Синхронизация GetCourse"},
	{"access.", "Доступ к серверу"},
	{"auth.", "Входы администраторов"},
	{"audit.", "Журнал действий"},
}

// Nop records nothing: for tools and tests that run parts without a trail.
var Nop Recorder = nop{}

type nop struct{}

func (nop) Record(context.Context, Entry) error { return nil }

// Targets.
func User(id int64) string            { return "user:" + strconv.FormatInt(id, 10) }
func Slot(id int64) string            { return "slot:" + strconv.FormatInt(id, 10) }
func Booking(id int64) string         { return "booking:" + strconv.FormatInt(id, 10) }
func Offer(id int64) string           { return "offer:" + strconv.FormatInt(id, 10) }
func Webhook(id int64) string         { return "webhook:" + strconv.FormatInt(id, 10) }
func Mail(id int64) string            { return "mail:" + strconv.FormatInt(id, 10) }
func MailTemplate(kind string) string { return "mail_template:" + kind }

// Settings is the target of a settings change.
const Settings = "settings"

// SystemName is the actor name of what the system does by itself.
const SystemName = "система"

// By starts an entry for what an admin did.
func By(u *booksmeta.User, action, target, summary string) Entry {
	e := Entry{Action: action, Target: target, Summary: summary}
	if u != nil {
		e.Actor, e.ActorName = u.ID, Name(u)
	}
	return e
}

// System starts an entry for what the system did by itself.
func System(action, target, summary string) Entry {
	return Entry{ActorName: SystemName, Action: action, Target: target, Summary: summary}
}

// Name is how an actor is written: the name with the email, or the email.
func Name(u *booksmeta.User) string {
	if n := strings.TrimSpace(u.Name()); n != "" && n != u.Email {
		return n + " (" + u.Email + ")"
	}
	return u.Email
}

// Keep is how long entries are kept.
const Keep = 365 * 24 * time.Hour

// PruneJob is the daily job that removes entries older than Keep.
const PruneJob = "prune_audit_log"

// Log is the Recorder over the store.
type Log struct {
	Store *store.Store
	Log   *slog.Logger
}

// Record writes e; a failure is logged and returned.
func (l *Log) Record(ctx context.Context, e Entry) error {
	row := e.row()
	err := l.Store.AddAudit(ctx, &row)
	l.failed(e, err)
	return err
}

// RecordTx writes e inside tx, so that it commits or rolls back with the
// change it describes.
func (l *Log) RecordTx(ctx context.Context, tx *store.Tx, e Entry) error {
	row := e.row()
	err := tx.AddAudit(ctx, &row)
	l.failed(e, err)
	return err
}

func (l *Log) failed(e Entry, err error) {
	if err != nil && l.Log != nil {
		l.Log.Error("audit record", "action", e.Action, "target", e.Target, "err", err)
	}
}

// row bounds the texts so that one entry cannot grow the table without
// end (a summary quotes values people typed).
func (e Entry) row() store.AuditEntry {
	return store.AuditEntry{At: e.At, Actor: e.Actor, ActorName: cut(e.ActorName, 200), Action: cut(e.Action, 60),
		Target: cut(e.Target, 200), Summary: cut(e.Summary, 2000)}
}

// List reads entries for the page, newest first, with the total.
func (l *Log) List(ctx context.Context, f store.AuditFilter) ([]Entry, int, error) {
	rows, total, err := l.Store.ListAudit(ctx, f)
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = Entry{At: r.At, Actor: r.Actor, ActorName: r.ActorName, Action: r.Action, Target: r.Target, Summary: r.Summary}
	}
	return out, total, err
}

// Prune removes entries older than Keep and returns how many.
func (l *Log) Prune(ctx context.Context) (int64, error) {
	return l.Store.PruneAudit(ctx, l.Store.Now().Add(-Keep))
}

// HandlePruneJob is PruneJob's handler.
func (l *Log) HandlePruneJob(ctx context.Context, _ *store.Job) error {
	n, err := l.Prune(ctx)
	if err != nil || n == 0 {
		return err
	}
	if l.Log != nil {
		l.Log.Info("audit log pruned", "deleted", n)
	}
	return l.Record(ctx, System(AuditPrune, "audit", "Удалены записи журнала действий старше года: "+strconv.FormatInt(n, 10)+"."))
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
