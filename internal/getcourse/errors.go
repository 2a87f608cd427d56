package getcourse

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Kind classifies a failure by what the administrator has to do about it, not
// by where it happened. The string values are stored in the call log, so they
// must stay stable.
type Kind string

const (
	KindNotConfigured   Kind = "not_configured"   // account/URL or key missing
	KindWrongKey        Kind = "wrong_key"        // 901, 904, "неверный ключ"
	KindRateLimited     Kind = "rate_limited"     // 903: GetCourse's own 100-per-2h limit
	KindExportBusy      Kind = "export_busy"      // 905: another export is being built
	KindNoFilter        Kind = "no_filter"        // 908
	KindNotReady        Kind = "not_ready"        // 909: a state, not a failure
	KindBadFilter       Kind = "bad_filter"       // 913, 914, 918: a filter value GetCourse rejects
	KindExportEmpty     Kind = "export_empty"     // "Файл не создан": nothing matched the filter
	KindReadOnly        Kind = "read_only_key"    // key without rights to the method
	KindPlanNoAPI       Kind = "plan_without_api" // 917: API closed on this plan
	KindImportLimit     Kind = "import_limit"     // monthly creation allowance used up
	KindWrongAccount    Kind = "wrong_account"    // 404 "Wrong subdomain" or a path the host does not serve
	KindRedirect        Kind = "redirect"         // custom domain
	KindNetwork         Kind = "network"          // connection refused, DNS, TLS
	KindTimeout         Kind = "timeout"
	KindCanceled        Kind = "canceled"
	KindServer          Kind = "server_error" // 5xx without an API answer
	KindBadResponse     Kind = "bad_response" // not the JSON the API promises
	KindBudgetExhausted Kind = "budget_exhausted"
	KindRejected        Kind = "rejected"  // an import GetCourse understood and refused
	KindAPI             Kind = "api_error" // any other API error
	KindInternal        Kind = "internal"  // our side failed, e.g. the budget store
)

// Error makes a Kind usable as an errors.Is target:
// errors.Is(err, getcourse.KindNotReady).
func (k Kind) Error() string { return "getcourse: " + string(k) }

// ErrEmptyBody is wrapped by a KindBadResponse error when GetCourse answered
// with nothing at all, which is how it has been seen to refuse imports that the
// plan or the key does not allow, instead of the documented error code.
var ErrEmptyBody = errors.New("empty response body")

// Error is every failure this package returns.
type Error struct {
	Kind       Kind
	Op         string // "groups", "export.users", "import.deals", …
	Code       int    // GetCourse error_code, 0 if none
	HTTPStatus int
	APIMessage string    // GetCourse's own words (usually Russian), key removed
	Location   string    // redirect target, key removed
	RetryAt    time.Time // budget: when the next request is allowed
	Err        error

	hint string // Russian override for errors raised before any request
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("getcourse")
	if e.Op != "" {
		b.WriteString(" " + e.Op)
	}
	b.WriteString(": " + string(e.Kind))
	var details []string
	if e.Code != 0 {
		details = append(details, fmt.Sprintf("code %d", e.Code))
	}
	if e.HTTPStatus != 0 {
		details = append(details, fmt.Sprintf("HTTP %d", e.HTTPStatus))
	}
	if e.Location != "" {
		details = append(details, "location "+e.Location)
	}
	if !e.RetryAt.IsZero() {
		details = append(details, "retry at "+e.RetryAt.Format(time.RFC3339))
	}
	if len(details) > 0 {
		b.WriteString(" (" + strings.Join(details, ", ") + ")")
	}
	if e.APIMessage != "" {
		b.WriteString(": " + e.APIMessage)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches a Kind, or another *Error of the same Kind.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Kind:
		return e.Kind == t
	case *Error:
		return t != nil && e.Kind == t.Kind
	}
	return false
}

// KindOf returns the Kind of a getcourse error, or "" for anything else.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// Russian explains an error of this package in words a school owner can act
// on; for foreign errors it gives a generic sentence rather than a Go message.
func Russian(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Russian()
	}
	if err == nil {
		return ""
	}
	return "Не удалось выполнить запрос к GetCourse. Попробуйте ещё раз; если ошибка повторяется, сообщите администратору сервера."
}

// Russian says what happened and what to do, in plain words.
func (e *Error) Russian() string {
	if e.hint != "" {
		return e.hint
	}
	quoted := ""
	if e.APIMessage != "" {
		quoted = " Ответ GetCourse: «" + e.APIMessage + "»."
	}
	switch e.Kind {
	case KindNotConfigured:
		return "Подключение к GetCourse не настроено. Укажите имя аккаунта (или адрес API) и API-ключ в настройках GetCourse."
	case KindWrongKey:
		return "GetCourse не принял API-ключ. Скопируйте ключ заново в GetCourse (Профиль → Настройки аккаунта → API) и вставьте его в поле «API ключ». Ключ должен быть создан в этом же аккаунте."
	case KindRateLimited:
		return "GetCourse временно ограничил запросы: не больше 100 запросов на выгрузку за 2 часа на один аккаунт. Подождите около двух часов — синхронизация продолжится сама. Если ограничение повторяется, проверьте, не забирают ли данные из этого аккаунта другие сервисы."
	case KindExportBusy:
		return "В GetCourse уже готовится другая выгрузка, а одновременно можно только одну. Подождите несколько минут — синхронизация повторится сама. Если ошибка держится больше часа, проверьте, не запускают ли выгрузки другие сервисы с этим же аккаунтом."
	case KindNoFilter:
		return "GetCourse не делает выгрузку без фильтра. Повторите синхронизацию; если ошибка повторяется, сообщите разработчику."
	case KindNotReady:
		return "GetCourse ещё готовит выгрузку. Это нормально: проверка повторится автоматически через минуту."
	case KindBadFilter:
		return "GetCourse не принял условие выгрузки." + quoted + " Сообщите об этом разработчику."
	case KindExportEmpty:
		return "GetCourse не нашёл данных по условиям выгрузки — выгружать нечего."
	case KindReadOnly:
		return "У API-ключа нет прав на это действие (например, ключ создан «Только для чтения»). Создайте в GetCourse (Профиль → Настройки аккаунта → API) ключ с доступом «Для чтения и записи» и вставьте его в поле «API ключ»."
	case KindPlanNoAPI:
		return "Импорт и экспорт через API недоступны на текущем тарифе GetCourse (на ознакомительном тарифе они закрыты). Перейдите на платный тариф или уточните в поддержке GetCourse."
	case KindImportLimit:
		return "Исчерпан месячный лимит создания записей через API для вашего тарифа GetCourse. Добавьте ученика в GetCourse вручную или дождитесь начала следующего месяца."
	case KindWrongAccount:
		return "GetCourse не нашёл аккаунт по этому адресу. Проверьте поле «Аккаунт» (это часть адреса перед .getcourse.ru) и поле «API URL» — адрес должен заканчиваться на /pl/api."
	case KindRedirect:
		if e.Location == "" {
			return "Похоже, GetCourse перенаправил запрос на другой адрес. Так бывает, если у школы свой домен. Впишите в поле «API URL» адрес вида https://ваш-домен/pl/api и сохраните настройки."
		}
		return "GetCourse перенаправляет запросы на другой адрес: " + redirectHost(e.Location) + ". Так бывает, если у школы свой домен. Впишите в поле «API URL» адрес " + SuggestedAPIURL(e.Location) + " и сохраните настройки."
	case KindNetwork:
		return "Не удалось связаться с GetCourse: адрес не отвечает. Проверьте, что у сервера есть доступ в интернет и что имя аккаунта или «API URL» указаны без ошибок."
	case KindTimeout:
		return "GetCourse не ответил вовремя. Попробуйте ещё раз через несколько минут."
	case KindCanceled:
		return "Запрос к GetCourse был прерван. Повторите действие."
	case KindServer:
		return "На стороне GetCourse произошла ошибка, сервис временно не работает. Попробуйте позже."
	case KindBadResponse:
		if errors.Is(e.Err, ErrEmptyBody) {
			return "GetCourse прислал пустой ответ. Так бывает, если импорт через API не входит в тариф или у ключа нет прав на запись. Проверьте тариф и права ключа, а перед повтором посмотрите в GetCourse, не появилась ли запись."
		}
		return "GetCourse прислал ответ, который не удалось разобрать. Проверьте поле «API URL»: оно должно вести на адрес вида https://ваш-аккаунт.getcourse.ru/pl/api."
	case KindBudgetExhausted:
		if e.RetryAt.IsZero() {
			return "Исчерпан лимит запросов к GetCourse (100 за 2 часа). Подождите — синхронизация продолжится сама."
		}
		return "Исчерпан лимит запросов к GetCourse (100 за 2 часа). Следующий запрос можно будет сделать после " + e.RetryAt.Format("15:04") + ". Синхронизация продолжится сама."
	case KindRejected:
		return "GetCourse не принял данные." + quoted + " Исправьте данные и повторите."
	case KindInternal:
		return "Не удалось проверить лимит запросов к GetCourse. Попробуйте ещё раз; если ошибка повторяется, сообщите администратору сервера."
	}
	code := ""
	if e.Code != 0 {
		code = fmt.Sprintf(" (код %d)", e.Code)
	}
	return "GetCourse вернул ошибку" + code + "." + quoted + " Если непонятно, что делать, покажите это сообщение в поддержку GetCourse."
}

// SuggestedAPIURL turns a redirect target into the value to put into the
// "API URL" setting: the scheme and host, plus the path up to /pl/api.
func SuggestedAPIURL(location string) string {
	u, err := url.Parse(location)
	if err != nil || u.Host == "" {
		return location
	}
	path := "/pl/api"
	if i := strings.Index(u.Path, "/pl/api"); i >= 0 {
		path = u.Path[:i] + "/pl/api"
	}
	scheme := u.Scheme
	if scheme == "" {
		scheme = "https"
	}
	return scheme + "://" + u.Host + path
}

func redirectHost(location string) string {
	if u, err := url.Parse(location); err == nil && u.Host != "" {
		return u.Host
	}
	return location
}

// BudgetExhaustedError is what a Budget returns when no request may be made
// before retryAt. Budgets written elsewhere should use it so callers see one
// Kind whatever backs the budget.
func BudgetExhaustedError(retryAt time.Time) *Error {
	return &Error{Kind: KindBudgetExhausted, RetryAt: retryAt}
}

// kindFor maps GetCourse's code and words onto a Kind. The code wins; the text
// is a fallback because import endpoints often answer with a message only, and
// the text is localised per installation (getcourse.io answers in English).
func kindFor(code int, message string, fallback Kind) Kind {
	switch code {
	case 901, 904:
		return KindWrongKey
	case 903:
		return KindRateLimited
	case 905:
		return KindExportBusy
	case 908:
		return KindNoFilter
	case 909:
		return KindNotReady
	case 913, 914, 918:
		// Not in the public help pages. Clients that reproduced them against
		// live accounts (zenland-dev/n8n-nodes-getcourse) found all three answer
		// a status filter value the export does not accept, one code per export
		// type, with the accepted values listed in the message.
		return KindBadFilter
	case 917:
		// "Функционал недоступен": the API is closed for the account's plan,
		// as the help page says happens on the trial plan.
		return KindPlanNoAPI
	}
	m := strings.ReplaceAll(strings.ToLower(message), "ё", "е")
	has := func(parts ...string) bool {
		for _, p := range parts {
			if strings.Contains(m, p) {
				return true
			}
		}
		return false
	}
	switch {
	case m == "":
		return fallback
	case has("еще не создан", "not ready", "not yet created"):
		return KindNotReady
	case has("файл не создан", "file not created"):
		return KindExportEmpty
	case has("неверный ключ", "ключ не верен", "неверен ключ", "ключ неверный", "неавторизованн", "access denied", "wrong key", "invalid key", "отсутствует параметр key", "отсутсвует параметр key"):
		return KindWrongKey
	case has("слишком много запросов", "too many requests"):
		return KindRateLimited
	case has("уже запущен", "already running", "already started"):
		return KindExportBusy
	case has("хотя бы один фильтр", "at least one filter"):
		return KindNoFilter
	case has("поле статус", "status field"):
		return KindBadFilter
	case has("действие запрещено", "только для чтения", "нет прав", "недостаточно прав", "read only", "read-only", "not allowed", "forbidden"):
		return KindReadOnly
	case has("функционал недоступен", "недоступен на вашем тарифе", "недоступно на вашем тарифе", "not available on your plan"):
		return KindPlanNoAPI
	case has("достигнут лимит", "limit reached"):
		return KindImportLimit
	case has("пустой параметр action", "empty action"):
		// GetCourse saw no form body: something in between followed a redirect
		// and turned the POST into a GET.
		return KindRedirect
	}
	return fallback
}
