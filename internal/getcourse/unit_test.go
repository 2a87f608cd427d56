package getcourse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConfigBaseURL(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Account: "school"}, "https://school.getcourse.ru/pl/api"},
		{Config{Account: " School "}, "https://school.getcourse.ru/pl/api"},
		{Config{Account: "school.getcourse.ru"}, "https://school.getcourse.ru/pl/api"},
		{Config{Account: "https://school.getcourse.ru/teach/control"}, "https://school.getcourse.ru/pl/api"},
		{Config{APIURL: "https://school.example.ru/pl/api/"}, "https://school.example.ru/pl/api"},
		{Config{APIURL: "https://school.example.ru/pl/api", Account: "other"}, "https://school.example.ru/pl/api"},
		{Config{APIURL: "school.example.ru"}, "https://school.example.ru/pl/api"},
		{Config{APIURL: "http://127.0.0.1:8081/pl/api"}, "http://127.0.0.1:8081/pl/api"},
		{Config{}, ""},
	}
	for _, tc := range cases {
		if got := tc.cfg.BaseURL(); got != tc.want {
			t.Errorf("%+v: BaseURL = %q, want %q", tc.cfg, got, tc.want)
		}
	}
	if got := (Config{APIURL: "https://School.getcourse.ru/pl/api"}).AccountName(); got != "school" {
		t.Errorf("AccountName = %q", got)
	}
	if got := (Config{Account: "school"}).AccountName(); got != "school" {
		t.Errorf("AccountName = %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{Account: "s", Key: "k"}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Key: "k"}, "аккаунт"},
		{Config{Account: "s"}, "API-ключ"},
		{Config{APIURL: "ftp://x/pl/api", Key: "k"}, "Адрес API"},
	} {
		err := tc.cfg.Validate()
		if KindOf(err) != KindNotConfigured || !strings.Contains(Russian(err), tc.want) {
			t.Errorf("%+v: %v / %s", tc.cfg, err, Russian(err))
		}
	}
}

func TestParseMoney(t *testing.T) {
	cases := map[string]int64{
		"12 000,00 руб.":        1200000,
		"12\u00a0000,00 руб.":   1200000,
		"12\u202f000,50\u00a0₽": 1200050,
		"1\u2009234,5 RUB":      123450,
		"12000":                 1200000,
		"1500.5":                150050,
		"1,234.56":              123456,
		"1.234.567":             123456700,
		"12,000":                1200000,
		"0":                     0,
		"-300,10 руб.":          -30010,
		"":                      0,
		"—":                     0,
		"руб. 99":               9900,
	}
	for in, want := range cases {
		got, err := ParseMoney(in)
		if err != nil || got != want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"бесплатно", "abc"} {
		if _, err := ParseMoney(bad); err == nil {
			t.Errorf("ParseMoney(%q) should fail", bad)
		}
	}
}

func TestParseTime(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	want := time.Date(2025, 3, 2, 23, 30, 0, 0, msk)
	for _, in := range []string{"2025-03-02 23:30:00", "2025-03-02 23:30", "02.03.2025 23:30", "02.03.2025 23:30:00", "2025-03-02T23:30:00", "2025-03-02T20:30:00Z", " 2025-03-02 23:30:00 "} {
		got, err := ParseTime(in, msk)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", in, got, err)
		}
	}
	day, err := ParseTime("02.03.2025", msk)
	if err != nil || !day.Equal(time.Date(2025, 3, 2, 0, 0, 0, 0, msk)) {
		t.Errorf("date only: %v %v", day, err)
	}
	if _, err := ParseTime("", msk); !errors.Is(err, ErrNoTime) {
		t.Errorf("empty: %v", err)
	}
	if _, err := ParseTime("вчера", msk); err == nil {
		t.Error("nonsense should fail")
	}
	if got, _ := ParseTime("2025-03-02 23:30:00", nil); got.Location() != time.UTC {
		t.Error("nil location means UTC")
	}
}

func TestRows(t *testing.T) {
	ex := &Export{Fields: []string{"Email", "Имя", "Email", " Статус "}, Items: [][]string{{" a@b.ru ", "Анна", "dup", "Завершен"}, {"c@d.ru"}}}
	rows := ex.Rows()
	if rows[0].Get("Email") != "a@b.ru" || rows[0].Get("статус") != "Завершен" || rows[0].Get("имя") != "Анна" {
		t.Fatalf("row 0: %v", rows[0])
	}
	if v, ok := rows[1].Lookup("Имя"); !ok || v != "" {
		t.Fatal("a short row reads as empty cells")
	}
	if rows[1].First("Телефон", "Email") != "c@d.ru" {
		t.Fatal("First")
	}
	var zero Row
	if _, ok := zero.Lookup("Email"); ok {
		t.Fatal("zero row")
	}
}

func TestErrorTaxonomy(t *testing.T) {
	kinds := []Kind{KindNotConfigured, KindWrongKey, KindRateLimited, KindExportBusy, KindNoFilter, KindNotReady, KindBadFilter,
		KindExportEmpty, KindReadOnly, KindPlanNoAPI, KindImportLimit, KindWrongAccount, KindRedirect, KindNetwork, KindTimeout,
		KindCanceled, KindServer, KindBadResponse, KindBudgetExhausted, KindRejected, KindAPI, KindInternal}
	seen := map[string]bool{}
	for _, k := range kinds {
		e := &Error{Kind: k, Op: "groups", Code: 1, APIMessage: "текст"}
		msg := e.Russian()
		if !hasCyrillic(msg) || seen[msg] {
			t.Errorf("%s: Russian() = %q (empty or shared with another kind)", k, msg)
		}
		seen[msg] = true
		wrapped := fmt.Errorf("sync: %w", e)
		if !errors.Is(wrapped, k) || KindOf(wrapped) != k || !errors.Is(wrapped, &Error{Kind: k}) {
			t.Errorf("%s: errors.Is/KindOf do not see through wrapping", k)
		}
		if !strings.Contains(e.Error(), string(k)) {
			t.Errorf("%s: Error() = %q", k, e.Error())
		}
	}
	if errors.Is(&Error{Kind: KindTimeout}, KindNetwork) {
		t.Error("kinds must not match each other")
	}
	if KindOf(errors.New("x")) != "" || Russian(nil) != "" || !hasCyrillic(Russian(errors.New("x"))) {
		t.Error("foreign errors")
	}

	codes := map[int]Kind{901: KindWrongKey, 903: KindRateLimited, 905: KindExportBusy, 908: KindNoFilter, 909: KindNotReady,
		913: KindBadFilter, 914: KindBadFilter, 917: KindPlanNoAPI, 918: KindBadFilter, 12345: KindAPI}
	for code, want := range codes {
		if got := kindFor(code, "", KindAPI); got != want {
			t.Errorf("code %d -> %s, want %s", code, got, want)
		}
	}
	if kindFor(0, "Файл ещё не создан", KindAPI) != KindNotReady || kindFor(0, "Файл не создан, попробуйте другой фильтр", KindAPI) != KindExportEmpty {
		t.Error("the two «не создан» messages mean opposite things")
	}
	if got := SuggestedAPIURL("https://school.example.ru/pl/api/account/groups?x=1"); got != "https://school.example.ru/pl/api" {
		t.Errorf("SuggestedAPIURL = %q", got)
	}
	if got := SuggestedAPIURL("https://school.example.ru/"); got != "https://school.example.ru/pl/api" {
		t.Errorf("SuggestedAPIURL = %q", got)
	}
}

func TestMemoryBudget(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	now := t0
	b := NewMemoryBudget(3, time.Hour, func() time.Time { return now })
	ctx := context.Background()
	for _, at := range []time.Duration{0, 10 * time.Minute, 20 * time.Minute} {
		now = t0.Add(at)
		if err := b.Take(ctx, "school"); err != nil {
			t.Fatal(err)
		}
	}
	now = t0.Add(30 * time.Minute)
	err := b.Take(ctx, "school")
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindBudgetExhausted || !e.RetryAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("4th take: %v", err)
	}
	if b.Remaining("school") != 0 || b.Remaining("other") != 3 {
		t.Fatal("Remaining")
	}
	if err := b.Take(ctx, "other"); err != nil {
		t.Fatal("accounts have separate budgets")
	}
	// Sliding: at exactly t0+1h the first request has left the window.
	now = t0.Add(time.Hour)
	if err := b.Take(ctx, "school"); err != nil {
		t.Fatalf("after the first expired: %v", err)
	}
	err = b.Take(ctx, "school")
	if !errors.As(err, &e) || !e.RetryAt.Equal(t0.Add(70*time.Minute)) {
		t.Fatalf("next retry: %v", err)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Take(canceled, "third"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled ctx: %v", err)
	}
}

func TestMemoryBudgetConcurrent(t *testing.T) {
	b := NewMemoryBudget(DefaultBudgetLimit, DefaultBudgetWindow, nil)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 300; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b.Take(context.Background(), "school") == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != DefaultBudgetLimit {
		t.Fatalf("%d takes succeeded, want exactly %d", ok.Load(), DefaultBudgetLimit)
	}
}

func TestDealStatusCode(t *testing.T) {
	for in, want := range map[string]string{"Завершен": "payed", " завершён ": "payed", "payed": "payed", "paid": "payed",
		"Отменен": "cancelled", "canceled": "cancelled", "Частично оплачен": "part_payed", "???": ""} {
		if got := DealStatusCode(in); got != want {
			t.Errorf("DealStatusCode(%q) = %q, want %q", in, got, want)
		}
	}
}
