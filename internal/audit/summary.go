package audit

import (
	"sort"
	"strings"
)

// Changed is written instead of a secret's value.
const Changed = "изменено"

// Change is one field's value before and after, for a summary.
type Change struct {
	Field    string // Russian name or the setting key
	Old, New string
	Secret   bool // say only that it changed
}

// Describe words changes as «роль: «ученик» → «администратор»; пароль:
// изменено». Unchanged fields are left out; "" when nothing changed.
func Describe(cs []Change) string {
	var parts []string
	for _, c := range cs {
		if c.Old == c.New && !c.Secret {
			continue
		}
		if c.Secret {
			parts = append(parts, c.Field+": "+Changed)
			continue
		}
		parts = append(parts, c.Field+": "+quote(c.Old)+" → "+quote(c.New))
	}
	return strings.Join(parts, "; ")
}

// SettingsSummary words saved settings: each key with its new value, or
// «изменено» for a secret. secret says whether a key is secret; a key whose
// name suggests a secret is treated as one whatever it says, so that a
// setting declared carelessly cannot put a password into the trail.
func SettingsSummary(values map[string]string, secret func(key string) bool) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if looksSecret(k) || secret == nil || secret(k) {
			parts = append(parts, k+": "+Changed)
			continue
		}
		parts = append(parts, k+" = "+quote(values[k]))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Сохранены настройки: " + strings.Join(parts, "; ") + "."
}

func looksSecret(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"password", "secret", "key", "token", "pass"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// quote shows a value on one line, shortened: summaries are read in a table.
func quote(v string) string {
	if v == "" {
		return "пусто"
	}
	v = strings.Join(strings.Fields(v), " ")
	return "«" + cut(v, 80) + "»"
}
