package web

import (
	"net/http"
	"strconv"
	"time"

	"booksmeta"
	"booksmeta/internal/booking"
)

// allowanceView is what a student's tariff limits, worded for the
// calendar and the profile; nil when their purchases set no cap and no end.
type allowanceView struct {
	Capped            bool
	Used, Total, Left string
	Until             string // "31 января 2027, 23:59"; empty: no end
}

func (s *Server) allowance(r *http.Request, u *booksmeta.User) *allowanceView {
	if u.IsAdmin() || !u.Paid {
		return nil
	}
	a, err := s.Booking.Allowance(r.Context(), u.ID)
	if err != nil {
		// The lines are a courtesy: the booking itself checks the allowance,
		// so a failed read hides them instead of failing the page.
		s.Log.Error("read allowance", "user", u.ID, "err", err)
		return nil
	}
	if !a.Capped && a.Until.IsZero() {
		return nil
	}
	v := &allowanceView{Capped: a.Capped}
	if a.Capped {
		v.Used, v.Total, v.Left = booking.HoursText(a.UsedMinutes), booking.HoursText(a.Hours*60), booking.HoursText(a.LeftMinutes())
	}
	if !a.Until.IsZero() {
		v.Until = longDateTime(a.Until, s.Settings.Location(r.Context()))
	}
	return v
}

func longDateTime(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return strconv.Itoa(t.Day()) + " " + months[t.Month()] + " " + strconv.Itoa(t.Year()) + ", " + t.Format("15:04")
}
