package settings

import (
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Validate checks a value before it is saved; the error says in Russian
// what is wrong. Empty values are allowed (they mean "not set").
func Validate(key, value string) error {
	v := strings.TrimSpace(value)
	if v == "" {
		return nil
	}
	switch key {
	case GetCourseAPIURL:
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("API URL должен быть адресом вида https://ваш_аккаунт.getcourse.ru/pl/api")
		}
	case GetCourseAccount:
		if strings.ContainsAny(v, " /:") && !strings.Contains(v, ".getcourse.ru") {
			return fmt.Errorf("Аккаунт — это имя из адреса ваш_аккаунт.getcourse.ru, без https:// и пробелов")
		}
	case GetCourseWebhookSecret:
		if len(v) < 8 {
			return fmt.Errorf("Webhook секрет слишком короткий: нужно не меньше 8 символов, лучше — нажмите «Сгенерировать»")
		}
		if strings.ContainsAny(v, " \t\r\n") {
			return fmt.Errorf("В webhook секрете не должно быть пробелов: скопируйте его заново")
		}
	case Timezone:
		if _, err := time.LoadLocation(v); err != nil {
			return fmt.Errorf("Неизвестный часовой пояс %q: укажите, например, Europe/Moscow", v)
		}
	case MailPort:
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("Порт SMTP — число от 1 до 65535 (обычно 465 или 587)")
		}
	case MailEncryption:
		switch strings.ToLower(v) {
		case "tls", "ssl", "starttls", "none":
		default:
			return fmt.Errorf("Шифрование SMTP: tls, ssl, starttls или none")
		}
	case MailFromEmail:
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
			return fmt.Errorf("Адрес отправителя записан с ошибкой")
		}
	case "access_end_reminder_days":
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 365 {
			return fmt.Errorf("Напоминание о конце доступа — за сколько дней, от 0 до 365 (0 — не напоминать)")
		}
	case WebhookLogKeepDays:
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 3650 {
			return fmt.Errorf("Срок хранения журнала webhook — число дней от 1 до 3650 (обычно 90); принятые события хранятся не меньше 90 дней в любом случае")
		}
	case DefaultBookingLimit:
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 100 {
			return fmt.Errorf("Лимит бронирований — число от 0 до 100")
		}
	case SlotDurationMinutes:
		if n, err := strconv.Atoi(v); err != nil || n < 15 || n > 480 {
			return fmt.Errorf("Длительность слота — от 15 до 480 минут")
		}
	}
	return nil
}
