package getcourse

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzExportAnswer: whatever GetCourse (or something in between) answers to
// an export request, decoding never panics, and a decoded export's rows map
// every column by name.
func FuzzExportAnswer(f *testing.F) {
	f.Add([]byte(`{"success":true,"info":{"fields":["id","Email","Сумма","Дата создания"],"items":[[1,"a@b.ru","12 000,00 руб.","2026-11-27 10:00:00"]]}}`))
	f.Add([]byte(`{"success":false,"error_code":909,"error_message":"Файл еще не создан"}`))
	f.Add([]byte(`{"success":"true","error":true,"error_code":"903","info":null}`))
	f.Add([]byte(`{"success":1,"info":{"fields":[null,true,{"a":1}],"items":[[],[1,2,3,4]]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var env envelope
		if json.Unmarshal(body, &env) != nil {
			return
		}
		if e := env.failure(KindAPI); e != nil {
			_ = e.Error()
			_ = e.Russian()
			return
		}
		ex, perr := decodeExport(env.Info)
		if perr != nil {
			return
		}
		for _, r := range ex.Rows() {
			for _, name := range ex.Fields {
				if _, ok := r.Lookup(name); !ok && name != "" {
					t.Fatalf("column %q of the header not found in a row", name)
				}
			}
			_, _ = ParseMoney(r.First("Сумма", "Стоимость"))
			_, _ = ParseTime(r.Get("Дата создания"), time.UTC)
		}
	})
}

// FuzzParseMoney: never panics; a parsed amount written back the way
// GetCourse writes it parses to the same value.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"12 000,00 руб.", "12\u00a0000,50", "1\u202f234,5 ₽", "-5", "0,01", "", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseMoney(s)
		if err != nil || k < 0 || k > 1e15 {
			return
		}
		back := formatKopecks(k)
		if k2, err := ParseMoney(back); err != nil || k2 != k {
			t.Fatalf("%q → %d → %q → %d, %v", s, k, back, k2, err)
		}
	})
}

func formatKopecks(k int64) string {
	rub, kop := k/100, k%100
	s := ""
	for rub >= 1000 {
		s = "\u00a0" + pad3(rub%1000) + s
		rub /= 1000
	}
	return itoa(rub) + s + "," + pad2(kop)
}

func itoa(n int64) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int64) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func pad3(n int64) string {
	s := itoa(n)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

func pad2(n int64) string {
	s := itoa(n)
	for len(s) < 2 {
		s = "0" + s
	}
	return s
}
