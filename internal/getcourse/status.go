package getcourse

import "strings"

// dealStatuses maps GetCourse's deal status codes to the Russian labels its
// exports show in the "Статус" column.
var dealStatuses = map[string]string{
	"new":                "Новый",
	"payed":              "Завершен",
	"cancelled":          "Отменен",
	"in_work":            "В работе",
	"payment_waiting":    "Ожидаем оплаты",
	"part_payed":         "Частично оплачен",
	"waiting_for_return": "Ожидаем возврата",
	"not_confirmed":      "Не подтвержден",
	"pending":            "Отложен",
	"false":              "Ложный",
}

// DealStatusCode reads a deal status as either an export shows it
// ("Завершен") or as webhooks and filters spell it ("payed"), and returns the
// code, or "" if unknown. Case, "ё" and surrounding spaces do not matter.
func DealStatusCode(s string) string {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "ё", "е")
	if _, ok := dealStatuses[n]; ok {
		return n
	}
	for code, label := range dealStatuses {
		if strings.ToLower(label) == n {
			return code
		}
	}
	switch n {
	case "paid":
		return "payed"
	case "canceled":
		return "cancelled"
	}
	return ""
}

// DealStatusLabel is the Russian label GetCourse shows for a status code.
func DealStatusLabel(code string) string { return dealStatuses[code] }
