package getcourse

import (
	"net/url"
	"strings"
)

// Config is what an administrator types in: an account name or a full API URL
// (custom domains), and the secret key.
type Config struct {
	APIURL  string
	Account string
	Key     string
}

// BaseURL is APIURL when set, else https://ACCOUNT.getcourse.ru/pl/api.
//
// People paste what their browser shows, so both fields are read leniently:
// an APIURL without a scheme gets https://, one without a path gets /pl/api,
// and an Account given as "school.getcourse.ru" or as a URL is reduced to
// its host.
func (c Config) BaseURL() string {
	if raw := strings.TrimSpace(c.APIURL); raw != "" {
		if !strings.Contains(raw, "://") {
			raw = "https://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil {
			return strings.TrimRight(raw, "/")
		}
		if strings.Trim(u.Path, "/") == "" {
			u.Path = "/pl/api"
		}
		u.RawQuery, u.Fragment = "", ""
		return strings.TrimRight(u.String(), "/")
	}
	host := accountHost(c.Account)
	if host == "" {
		return ""
	}
	return "https://" + host + "/pl/api"
}

// AccountName identifies the account for the export budget: the Account
// setting if given, else the host of the API URL, so that two spellings of the
// same account share one budget.
func (c Config) AccountName() string {
	if host := accountHost(c.Account); host != "" {
		return strings.TrimSuffix(host, ".getcourse.ru")
	}
	if u, err := url.Parse(c.BaseURL()); err == nil && u.Host != "" {
		return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".getcourse.ru")
	}
	return ""
}

func accountHost(account string) string {
	a := strings.ToLower(strings.TrimSpace(account))
	a = strings.TrimPrefix(a, "https://")
	a = strings.TrimPrefix(a, "http://")
	if i := strings.IndexAny(a, "/?#"); i >= 0 {
		a = a[:i]
	}
	if a == "" {
		return ""
	}
	if strings.Contains(a, ".") {
		return a
	}
	return a + ".getcourse.ru"
}

// Validate says, in Russian via (*Error).Russian, which setting is missing.
func (c Config) Validate() error {
	base := c.BaseURL()
	if base == "" {
		return &Error{Kind: KindNotConfigured, hint: "Не указан аккаунт GetCourse. Впишите имя аккаунта (часть адреса перед .getcourse.ru) или полный адрес API в поле «API URL»."}
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &Error{Kind: KindNotConfigured, hint: "Адрес API GetCourse указан неверно. Впишите адрес вида https://ваш-аккаунт.getcourse.ru/pl/api."}
	}
	if strings.TrimSpace(c.Key) == "" {
		return &Error{Kind: KindNotConfigured, hint: "Не указан API-ключ GetCourse. Создайте ключ в GetCourse (Профиль → Настройки аккаунта → API) и вставьте его в поле «API ключ»."}
	}
	return nil
}
