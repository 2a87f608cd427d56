package getcoursetest

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ProcessQuirks chooses how a process call prints what GetCourse leaves
// open.
type ProcessQuirks struct {
	// StatusLabel prints {object.status} as the Russian label («Завершен»)
	// instead of the code (payed): which one GetCourse prints is not known.
	StatusLabel bool
	// Location is the account's zone for dates; Moscow when nil.
	Location *time.Location
}

// processVar matches a template variable as an admin types it into
// «Вызвать URL», with an optional PHP date format:
// {object.payed_at format='Y-m-d H:i:s'}.
var processVar = regexp.MustCompile(`\{object\.([a-zA-Z0-9_.]+)(?:\s+format=(?:'([^']*)'|"([^"]*)"))?\}`)

// FillProcessURL substitutes the variables of a process address the way
// GetCourse does: each value URL-encoded where its variable stands; a
// variable it does not know, or one the order cannot fill (a user without a
// phone), stays as typed. Nothing else of the address is touched.
func FillProcessURL(template string, o Order, q ProcessQuirks) string {
	return processVar.ReplaceAllStringFunc(template, func(v string) string {
		m := processVar.FindStringSubmatch(v)
		format := m[2]
		if format == "" {
			format = m[3]
		}
		value, ok := processValue(m[1], format, o, q)
		if !ok {
			return leaveLiteral(v)
		}
		return url.QueryEscape(value)
	})
}

// leaveLiteral keeps an unfilled variable readable on the other side while
// the request line stays valid: only characters that cannot stand in a URL
// are escaped, the braces are not.
func leaveLiteral(v string) string {
	return strings.NewReplacer(" ", "%20", `"`, "%22", "<", "%3C", ">", "%3E").Replace(v)
}

func processValue(name, format string, o Order, q ProcessQuirks) (string, bool) {
	loc := q.Location
	if loc == nil {
		loc = moscow
	}
	nonEmpty := func(s string) (string, bool) { return s, strings.TrimSpace(s) != "" }
	id := func(n int64) (string, bool) { return strconv.FormatInt(n, 10), n != 0 }
	date := func(t time.Time) (string, bool) {
		if t.IsZero() {
			return "", false
		}
		if format == "" {
			format = "Y-m-d H:i:s"
		}
		return phpDate(t.In(loc), format), true
	}
	switch name {
	case "id":
		return id(o.DealID)
	case "number":
		return id(o.Number)
	case "status":
		if q.StatusLabel {
			return nonEmpty(DealStatusLabel(o.Status))
		}
		return nonEmpty(o.Status)
	case "cost_money_value":
		return plainNumber(o.Cost), true
	case "cost_money":
		return money(o.Cost, o.Currency), true
	case "payed_money":
		return money(o.Payed, o.Currency), true
	case "left_cost_money":
		return money(max(o.Cost-o.Payed, 0), o.Currency), true
	case "offers":
		ids := make([]string, len(o.OfferIDs))
		for i, n := range o.OfferIDs {
			ids[i] = strconv.FormatInt(n, 10)
		}
		return nonEmpty(strings.Join(ids, ","))
	case "positions":
		return nonEmpty(strings.Join(o.Positions, ", "))
	case "payment_link":
		return nonEmpty(o.PaymentLink)
	case "promocode":
		return nonEmpty(o.Promocode)
	case "payed_at":
		return date(o.PaidAt)
	case "created_at":
		return date(o.CreatedAt)
	case "user.email":
		return nonEmpty(o.User.Email)
	case "user.first_name":
		return nonEmpty(o.User.FirstName)
	case "user.last_name":
		return nonEmpty(o.User.LastName)
	case "user.phone":
		return nonEmpty(o.User.Phone)
	case "user.id":
		return id(o.User.ID)
	}
	return "", false
}

// plainNumber prints money as {object.cost_money_value} does: no grouping,
// a point before the fraction, no trailing zeros.
func plainNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// money prints money as GetCourse's formatted values do: «12 000 руб.», digit
// groups split by a no-break space, kopecks only when there are any.
func money(v float64, currency string) string {
	s := rub(kopecks(v), "\u00a0", "")
	s = strings.TrimSuffix(strings.TrimSpace(s), ",00")
	switch strings.ToUpper(currency) {
	case "", "RUB":
		return s + " руб."
	}
	return s + " " + strings.ToUpper(currency)
}

// phpDate formats t with the PHP date() letters processes use; other
// characters are copied, a backslash escapes the next one.
func phpDate(t time.Time, format string) string {
	var b strings.Builder
	two := func(n int) string {
		if n < 10 {
			return "0" + strconv.Itoa(n)
		}
		return strconv.Itoa(n)
	}
	rs := []rune(format)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			b.WriteString(two(t.Year() % 100))
		case 'm':
			b.WriteString(two(int(t.Month())))
		case 'n':
			b.WriteString(strconv.Itoa(int(t.Month())))
		case 'd':
			b.WriteString(two(t.Day()))
		case 'j':
			b.WriteString(strconv.Itoa(t.Day()))
		case 'H':
			b.WriteString(two(t.Hour()))
		case 'G':
			b.WriteString(strconv.Itoa(t.Hour()))
		case 'i':
			b.WriteString(two(t.Minute()))
		case 's':
			b.WriteString(two(t.Second()))
		case 'U':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case '\\':
			if i+1 < len(rs) {
				i++
				b.WriteRune(rs[i])
			}
		default:
			b.WriteRune(rs[i])
		}
	}
	return b.String()
}

// SplitProcessForm turns a filled process address into a POST: the address
// with only the secret left in its query, and the other parameters as an
// application/x-www-form-urlencoded body in the order the admin typed them.
// The parameters are moved as they are, already encoded.
func SplitProcessForm(filled string) (target, form string) {
	base, rawQuery, found := strings.Cut(filled, "?")
	if !found {
		return filled, ""
	}
	fragment := ""
	if i := strings.IndexByte(rawQuery, '#'); i >= 0 {
		rawQuery, fragment = rawQuery[:i], rawQuery[i:]
	}
	var keep, body []string
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil && n == "secret" {
			keep = append(keep, part)
			continue
		}
		body = append(body, part)
	}
	target = base
	if len(keep) > 0 {
		target += "?" + strings.Join(keep, "&")
	}
	return target + fragment, strings.Join(body, "&")
}
