package getcourse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// TechAPIPath is where the Tech API subscription endpoint lives on the
// account's host, whatever the legacy API base is.
const TechAPIPath = "/pl/api/v1/set-uri"

// TechEventObjectDeal is event_object_id for orders ("deals").
const TechEventObjectDeal = 2

// set-uri event ids for orders (event_object_id 2).
const (
	TechEventDealCreated       = 1
	TechEventDealStatusChanged = 2
	TechEventDealPaid          = 3
)

// KindWrongDeveloperKey: the Tech API refused the bearer token. The token
// joins the developer key and the school's API key, and GetCourse does not say
// which half it disliked.
const KindWrongDeveloperKey Kind = "wrong_developer_key"

// TechEventName is the eventType a delivery of this event carries.
func TechEventName(eventID int) string {
	switch eventID {
	case TechEventDealCreated:
		return "getcourse/dealCreated"
	case TechEventDealStatusChanged:
		return "getcourse/dealStatusChanged"
	case TechEventDealPaid:
		return "getcourse/dealPaid"
	}
	return ""
}

func techEventRussian(eventID int) string {
	switch eventID {
	case TechEventDealCreated:
		return "«Заказ создан»"
	case TechEventDealStatusChanged:
		return "«Статус заказа изменён»"
	case TechEventDealPaid:
		return "«Заказ оплачен»"
	}
	return fmt.Sprintf("№%d", eventID)
}

// TechAPIURL is the set-uri endpoint on the host of the configured API base:
// the prefix before /pl/api is kept so that a custom domain served under a
// path still works.
func (c Config) TechAPIURL() string {
	base := c.BaseURL()
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return ""
	}
	prefix := ""
	if i := strings.Index(u.Path, "/pl/api"); i >= 0 {
		prefix = u.Path[:i]
	}
	return u.Scheme + "://" + u.Host + prefix + TechAPIPath
}

// SetURI subscribes (or, with subscribe false, unsubscribes) uri to one order
// event of the Tech API. It is one request, never retried and not metered by
// the Budget: set-uri is not an export.
func (c *Client) SetURI(ctx context.Context, developerKey, uri string, eventID int, subscribe bool) error {
	const op = "techapi.set_uri"
	developerKey = strings.TrimSpace(developerKey)
	if developerKey == "" {
		return &Error{Kind: KindNotConfigured, Op: op, hint: "Не указан ключ разработчика GetCourse. Его выдаёт GetCourse интеграторам по запросу; без него подписку на события можно заменить процессом с операцией «Вызвать URL»."}
	}
	if TechEventName(eventID) == "" {
		return &Error{Kind: KindInternal, Op: op, Err: fmt.Errorf("unknown order event id %d", eventID),
			hint: "Неизвестное событие заказа для подписки. Сообщите разработчику."}
	}
	if u, err := url.Parse(strings.TrimSpace(uri)); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &Error{Kind: KindNotConfigured, Op: op, hint: "Адрес для уведомлений указан неверно: нужен полный адрес вида https://ваш-сервер/api/getcourse/webhook. Проверьте публичный адрес сервера в настройках."}
	}
	uri = strings.TrimSpace(uri)
	body, err := json.Marshal(struct {
		URI           string `json:"uri"`
		EventObjectID int    `json:"event_object_id"`
		EventID       int    `json:"event_id"`
		Subscribe     bool   `json:"subscribe"`
	}{uri, TechEventObjectDeal, eventID, subscribe})
	if err != nil {
		return &Error{Kind: KindInternal, Op: op, Err: err}
	}
	target := c.cfg.TechAPIURL()
	if target == "" {
		// Validate inside do() explains what is missing.
		target = c.base + "/v1/set-uri"
	}
	token := developerKey + "_" + strings.TrimSpace(c.cfg.Key)
	event := techEventRussian(eventID)
	return c.do(ctx, request{
		op:      op,
		method:  http.MethodPost,
		absURL:  target,
		json:    body,
		header:  http.Header{"Authorization": {"Bearer " + token}},
		secrets: []string{token, developerKey},
		remap:   techRemap(event),
	}, func(env *envelope) (string, *Error) {
		if subscribe {
			return "Подписка на событие " + event + " оформлена: " + redactSecretParam(uri) + ".", nil
		}
		return "Подписка на событие " + event + " снята: " + redactSecretParam(uri) + ".", nil
	})
}

// techRemap turns the legacy API's reading of an answer into what it means
// for a subscription: the legacy Kinds speak about the API key alone, and an
// empty answer there means an import the plan refused.
func techRemap(event string) func(status int, e *Error) *Error {
	return func(status int, e *Error) *Error {
		if status == http.StatusUnauthorized || status == http.StatusForbidden ||
			(e != nil && (e.Kind == KindWrongKey || e.Kind == KindReadOnly)) {
			out := &Error{Kind: KindWrongDeveloperKey, Err: errors.New("bearer token refused")}
			if e != nil {
				out.Code, out.APIMessage = e.Code, e.APIMessage
			}
			out.hint = "GetCourse не принял ключи подписки. Проверьте ключ разработчика (его выдаёт GetCourse по запросу) и API-ключ школы (Профиль → Настройки аккаунта → API): оба должны относиться к этому аккаунту, ключ школы — с доступом «Для чтения и записи»." + quote(out.APIMessage)
			return out
		}
		if e == nil {
			return nil
		}
		switch {
		case e.Kind == KindBadResponse && errors.Is(e.Err, ErrEmptyBody):
			e.hint = "GetCourse ответил на подписку пустым ответом и не подтвердил её. Проверьте, что для аккаунта включён Tech API и ключ разработчика действует, и повторите."
		case e.Kind == KindAPI:
			e.hint = "GetCourse не оформил подписку на событие " + event + "." + quote(e.APIMessage) + " Проверьте адрес для уведомлений и повторите."
		}
		return e
	}
}

func quote(apiMessage string) string {
	if apiMessage == "" {
		return ""
	}
	return " Ответ GetCourse: «" + apiMessage + "»."
}

// redactSecretParam hides the webhook secret our intake address carries, so
// that the call log does not hand it to whoever reads the log.
func redactSecretParam(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	q := u.Query()
	if !q.Has("secret") {
		return uri
	}
	q.Set("secret", "[secret]")
	u.RawQuery = q.Encode()
	return u.String()
}

// SubscribeError says which events of SubscribeOrders failed; the others are
// subscribed.
type SubscribeError struct {
	Failed map[int]error // by event id
}

func (e *SubscribeError) Error() string {
	var parts []string
	for _, id := range []int{TechEventDealCreated, TechEventDealStatusChanged, TechEventDealPaid} {
		if err, ok := e.Failed[id]; ok {
			parts = append(parts, TechEventName(id)+": "+err.Error())
		}
	}
	return "getcourse: subscribe orders: " + strings.Join(parts, "; ")
}

// Unwrap exposes the failures so that errors.Is(err, KindWrongDeveloperKey)
// works on the whole.
func (e *SubscribeError) Unwrap() []error {
	var out []error
	for _, id := range []int{TechEventDealCreated, TechEventDealStatusChanged, TechEventDealPaid} {
		if err, ok := e.Failed[id]; ok {
			out = append(out, err)
		}
	}
	return out
}

// Russian names the events that failed and what to do about the first one.
func (e *SubscribeError) Russian() string {
	var names []string
	var first error
	for _, id := range []int{TechEventDealCreated, TechEventDealStatusChanged, TechEventDealPaid} {
		if err, ok := e.Failed[id]; ok {
			names = append(names, techEventRussian(id))
			if first == nil {
				first = err
			}
		}
	}
	return "Не удалось подписаться на события: " + strings.Join(names, ", ") + ". " + Russian(first)
}

// SubscribeOrders subscribes uri to the three order events. Every event is
// tried even when one fails, because each subscription stands on its own; the
// error is a *SubscribeError listing the failed ones. A wrong key or a missing
// configuration stops after the first attempt: the others would fail alike.
func (c *Client) SubscribeOrders(ctx context.Context, developerKey, uri string) error {
	failed := map[int]error{}
	events := []int{TechEventDealCreated, TechEventDealStatusChanged, TechEventDealPaid}
	for i, id := range events {
		err := c.SetURI(ctx, developerKey, uri, id, true)
		if err == nil {
			continue
		}
		failed[id] = err
		switch KindOf(err) {
		case KindWrongDeveloperKey, KindNotConfigured, KindWrongAccount, KindRedirect, KindCanceled:
			for _, rest := range events[i+1:] {
				failed[rest] = err
			}
			return &SubscribeError{Failed: failed}
		}
	}
	if len(failed) > 0 {
		return &SubscribeError{Failed: failed}
	}
	return nil
}
