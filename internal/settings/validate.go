package settings

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/config"
)

// ownDefs are the settings of SPEC §5 this package owns: those with an
// environment variable, and the webhook log's retention.
func ownDefs() []Def {
	itoa := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	env := func(d Def, v string, from func(config.Config) string) Def {
		d.envVar, d.fromConfig = v, from
		return d
	}
	return []Def{
		env(Def{Key: GetCourseAPIURL, Check: func(v string) error {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return errors.New("API URL должен быть адресом вида https://ваш_аккаунт.getcourse.ru/pl/api")
			}
			return nil
		}}, "GETCOURSE_API_URL", func(c config.Config) string { return c.GetCourseAPIURL }),
		env(Def{Key: GetCourseAccount, Check: func(v string) error {
			if strings.ContainsAny(v, " /:") && !strings.Contains(v, ".getcourse.ru") {
				return errors.New("Аккаунт — это имя из адреса ваш_аккаунт.getcourse.ru, без https:// и пробелов")
			}
			return nil
		}}, "GETCOURSE_ACCOUNT", func(c config.Config) string { return c.GetCourseAccount }),
		env(Def{Key: GetCourseAPIKey, Secret: true, BoundTo: []string{GetCourseAPIURL, GetCourseAccount}}, "GETCOURSE_API_KEY", func(c config.Config) string { return c.GetCourseAPIKey }),
		env(Def{Key: GetCourseWebhookSecret, Secret: true, Check: func(v string) error {
			if len(v) < 8 {
				return errors.New("Webhook секрет слишком короткий: нужно не меньше 8 символов, лучше — нажмите «Сгенерировать»")
			}
			if strings.ContainsAny(v, " \t\r\n") {
				return errors.New("В webhook секрете не должно быть пробелов: скопируйте его заново")
			}
			return nil
		}}, "GETCOURSE_WEBHOOK_SECRET", func(c config.Config) string { return c.GetCourseWebhookSecret }),
		env(Def{Key: ServerAPIURL, Check: func(v string) error {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return errors.New("Адрес API сервера должен быть вида https://server.school.ru/booksmeta — без /grant на конце")
			}
			return nil
		}}, "SERVER_API_URL", func(c config.Config) string { return c.ServerAPIURL }),
		env(Def{Key: ServerAPIKey, Secret: true, BoundTo: []string{ServerAPIURL}}, "SERVER_API_KEY", func(c config.Config) string { return c.ServerAPIKey }),
		{Key: WebhookLogKeepDays, Type: Number, Default: "90", Min: 1, Max: 3650,
			Reason: "Срок хранения журнала webhook — число дней от 1 до 3650 (обычно 90); принятые события хранятся не меньше 90 дней в любом случае"},
		env(Def{Key: DefaultBookingLimit, Type: Number, Min: 0, Max: 100, Reason: "Лимит бронирований — число от 0 до 100"},
			"DEFAULT_BOOKING_LIMIT", func(c config.Config) string { return strconv.Itoa(c.DefaultBookingLimit) }),
		env(Def{Key: Timezone, Check: func(v string) error {
			if _, err := time.LoadLocation(v); err != nil {
				return fmt.Errorf("Неизвестный часовой пояс %q: укажите, например, Europe/Moscow", v)
			}
			return nil
		}}, "BOOKSMETA_TIMEZONE", func(c config.Config) string { return c.Timezone }),
		env(Def{Key: MailHost, Check: func(v string) error {
			if strings.ContainsAny(v, " \t/") {
				return errors.New("SMTP-сервер — имя без пробелов и https://, например smtp.yandex.ru (порт — в поле «Порт»)")
			}
			return nil
		}}, "MAIL_HOST", func(c config.Config) string { return c.MailHost }),
		env(Def{Key: MailPort, Type: Number, Min: 1, Max: 65535, Reason: "Порт SMTP — число от 1 до 65535 (обычно 465 или 587)"},
			"MAIL_PORT", func(c config.Config) string { return itoa(c.MailPort) }),
		env(Def{Key: MailUsername}, "MAIL_USERNAME", func(c config.Config) string { return c.MailUsername }),
		env(Def{Key: MailPassword, Secret: true, BoundTo: []string{MailHost}}, "MAIL_PASSWORD", func(c config.Config) string { return c.MailPassword }),
		env(Def{Key: MailEncryption, Check: func(v string) error {
			switch strings.ToLower(v) {
			case "tls", "ssl", "starttls", "none":
				return nil
			}
			return errors.New("Шифрование SMTP: tls, ssl, starttls или none")
		}}, "MAIL_ENCRYPTION", func(c config.Config) string { return c.MailEncryption }),
		env(Def{Key: MailFromEmail, Check: func(v string) error {
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
				return errors.New("Адрес отправителя записан с ошибкой")
			}
			return nil
		}}, "MAIL_FROM_EMAIL", func(c config.Config) string { return c.MailFromEmail }),
		env(Def{Key: MailFromName}, "MAIL_FROM_NAME", func(c config.Config) string { return c.MailFromName }),
		env(Def{Key: SlotDurationMinutes, Type: Number, Min: 15, Max: 480, Reason: "Длительность слота — от 15 до 480 минут"},
			"SLOT_DURATION_MINUTES", func(c config.Config) string { return strconv.Itoa(c.SlotDurationMinutes) }),
		// One line, short: it goes into mail subjects and the page header.
		{Key: SchoolName, MaxLen: 100},
	}
}
