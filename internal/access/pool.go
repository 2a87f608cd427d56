package access

import (
	"fmt"
	"strconv"
	"strings"
)

// Pool is the ordered list of server accounts from access_accounts; each seat
// of a slot uses one of them, so two students never share a password.
type Pool []string

// maxPool keeps a typo like stud1-stud99999 from filling memory and the
// admin's server with checks.
const maxPool = 500

// validName restricts names so that they need no quoting in cmd.exe,
// PowerShell or sh, and fit Windows' 20-character limit for local accounts.
func validName(s string) bool {
	if s == "" || len(s) > 20 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// isReserved names accounts a leaked key or a typo must never reset the
// password of.
func isReserved(name string) bool {
	switch strings.ToLower(name) {
	case "root", "administrator", "admin", "guest", "defaultaccount", "wdagutilityaccount", "администратор", "гость":
		return true
	}
	return false
}

// trailingNumber splits "stud01" into "stud" and "01"; ok is false without
// trailing digits.
func trailingNumber(s string) (prefix, digits string, ok bool) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	return s[:i], s[i:], i < len(s)
}

// ParsePool reads access_accounts: names and ranges separated by commas or
// spaces, e.g. "stud01-stud05" or "stud01-05, teacher1".
func ParsePool(s string) (Pool, error) {
	var p Pool
	seen := map[string]bool{}
	add := func(name string) error {
		if !validName(name) {
			return poolError(fmt.Sprintf("Имя учётной записи «%s» не подходит: только латинские буквы, цифры, точка, дефис и подчёркивание, до 20 знаков.", name))
		}
		if isReserved(name) {
			return poolError(fmt.Sprintf("Учётную запись «%s» нельзя отдавать ученикам: создайте для них отдельные, например stud01-stud05.", name))
		}
		if seen[strings.ToLower(name)] {
			return poolError(fmt.Sprintf("Учётная запись «%s» указана дважды.", name))
		}
		if len(p) >= maxPool {
			return poolError(fmt.Sprintf("Слишком много учётных записей: не больше %d.", maxPool))
		}
		seen[strings.ToLower(name)] = true
		p = append(p, name)
		return nil
	}
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		first, last, isRange, err := splitRange(item)
		if err != nil {
			return nil, err
		}
		if !isRange {
			if err := add(item); err != nil {
				return nil, err
			}
			continue
		}
		for _, name := range expand(first, last) {
			if err := add(name); err != nil {
				return nil, err
			}
		}
	}
	if len(p) == 0 {
		return nil, poolError("Список учётных записей (access_accounts) пуст: укажите их, например stud01-stud05.")
	}
	return p, nil
}

type rangeSpec struct {
	prefix   string
	from, to int
	width    int
}

// splitRange recognises "stud01-stud05" and "stud01-05"; a name with a dash
// but no numbers on both sides ("pc-lab") is a plain name.
func splitRange(item string) (first, last rangeSpec, isRange bool, err error) {
	i := strings.LastIndex(item, "-")
	if i <= 0 || i == len(item)-1 {
		return first, last, false, nil
	}
	lp, ld, lok := trailingNumber(item[:i])
	rp, rd, rok := trailingNumber(item[i+1:])
	if !lok || !rok {
		return first, last, false, nil
	}
	if rp == "" {
		rp = lp
	}
	if rp != lp {
		return first, last, false, poolError(fmt.Sprintf("Диапазон «%s»: у начала и конца должна быть одна основа, например stud01-stud05.", item))
	}
	from, err1 := strconv.Atoi(ld)
	to, err2 := strconv.Atoi(rd)
	if err1 != nil || err2 != nil || from > to {
		return first, last, false, poolError(fmt.Sprintf("Диапазон «%s»: первое число должно быть не больше второго, например stud01-stud05.", item))
	}
	if to-from >= maxPool {
		return first, last, false, poolError(fmt.Sprintf("Слишком много учётных записей: не больше %d.", maxPool))
	}
	width := 0
	if len(ld) > 1 && ld[0] == '0' {
		width = len(ld)
	}
	return rangeSpec{prefix: lp, from: from, width: width}, rangeSpec{to: to}, true, nil
}

func expand(first, last rangeSpec) []string {
	var out []string
	for n := first.from; n <= last.to; n++ {
		out = append(out, fmt.Sprintf("%s%0*d", first.prefix, first.width, n))
	}
	return out
}

func poolError(msg string) error {
	return permanent("config", msg+" (настройка access_accounts)", fmt.Errorf("bad %s", KeyAccounts))
}

// Seats assigns n accounts, one per seat, in pool order and none of them in
// held. held must list every account whose access is not revoked yet, of
// any slot: access windows of adjacent slots overlap, and handing a held
// account to the next student would end the previous one's session. When
// the pool has too few free accounts the error is retryable — they free up
// as earlier slots end and their revokes succeed.
func (p Pool) Seats(n int, held []string) ([]string, error) {
	busy := map[string]bool{}
	for _, h := range held {
		busy[strings.ToLower(h)] = true
	}
	var out []string
	for _, a := range p {
		if len(out) == n {
			break
		}
		if !busy[strings.ToLower(a)] {
			out = append(out, a)
		}
	}
	if len(out) < n {
		return nil, retryable("grant", fmt.Sprintf("Все учётные записи для учеников заняты (%d из %d): доступ будет выдан, когда освободится учётная запись предыдущего слота. Если так повторяется, добавьте учётные записи в access_accounts.", len(p)-len(out), len(p)),
			fmt.Errorf("pool exhausted: need %d, free %d of %d", n, len(out), len(p)))
	}
	return out, nil
}

// CheckCapacity refuses a pool smaller than the largest slot capacity, for
// the settings page: such a slot could never give every student an account.
func (p Pool) CheckCapacity(largest int) error {
	if len(p) >= largest {
		return nil
	}
	return permanent("config", fmt.Sprintf("В access_accounts %d учётных записей, а в самом большом слоте %d мест: каждому ученику нужна своя учётная запись. Добавьте учётные записи или уменьшите вместимость слотов.", len(p), largest),
		fmt.Errorf("pool of %d smaller than capacity %d", len(p), largest))
}
