package booking_test

import (
	"booksmeta"

	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/store"
)

// seedYear makes n students and a year of hourly slots (09–17, every day).
func seedYear(b *testing.B, s *apptest.Server, students int) (users []*booksmeta.User, firstSlot int64) {
	b.Helper()
	for i := range students {
		users = append(users, &booksmeta.User{Email: fmt.Sprintf("b%d@example.ru", i), Role: booksmeta.RoleStudent, Paid: true, Active: true, BookingLimit: 1 << 20})
	}
	if err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, u := range users {
			if err := tx.InsertUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Moscow")
	day := time.Now().In(loc).Truncate(24*time.Hour).AddDate(0, 0, 1)
	now := time.Now().UnixMilli()
	tx, _ := s.DB.Write.Begin()
	for d := 0; d < 365; d++ {
		for h := 9; h < 17; h++ {
			st := time.Date(day.Year(), day.Month(), day.Day()+d, h, 0, 0, 0, loc)
			var id int64
			if err := tx.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,$3,$4,$4) RETURNING id`,
				st.UnixMilli(), st.Add(time.Hour).UnixMilli(), 1<<20, now).Scan(&id); err != nil {
				b.Fatal(err)
			}
			if firstSlot == 0 {
				firstSlot = id
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return users, firstSlot
}

// BenchmarkSlotsWeekAPI: GET /api/v1/slots for a week, signed in, with 2,000
// students and a year of hourly slots in the database.
func BenchmarkSlotsWeekAPI(b *testing.B) {
	s := apptest.Start(b, apptest.Options{NoJobs: true})
	users, _ := seedYear(b, s, 2000)
	users[0].PasswordHash = s.Accounts.Hash("password123")
	s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateUser(ctx, users[0]) })
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Post(s.URL+"/api/v1/auth/login", "application/json", strings.NewReader(`{"email":"b0@example.ru","password":"password123"}`))
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("login %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	from := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	b.ResetTimer()
	for b.Loop() {
		resp, err := c.Get(s.URL + "/api/v1/slots?from=" + from)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}

// BenchmarkBookingContention: concurrent bookings by different students,
// several per slot, through the rules' transaction. Reports bookings/s.
func BenchmarkBookingContention(b *testing.B) {
	s := apptest.Start(b, apptest.Options{NoJobs: true})
	users, first := seedYear(b, s, 2000)
	var n atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			u := users[i%int64(len(users))]
			slot := first + (i/int64(len(users)))*7 + i%7
			if _, err := s.Booking.Book(context.Background(), u.ID, slot); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "bookings/s")
}
