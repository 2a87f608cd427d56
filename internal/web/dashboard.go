package web

import (
	"booksmeta"

	"html/template"
	"net/http"

	"booksmeta/internal/dashboard"
)

// hourRow is one line of the table behind the hour-of-day chart.
type hourRow struct {
	Range, Offered, Booked string
	Percent                int
	None                   bool
}

type outcomeCount struct {
	Outcome string
	Label   string
	N       int
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	dd, err := dashboard.Build(r.Context(), s.Store, s.Settings)
	if err != nil {
		s.internalError(w, r, "dashboard", err)
		return
	}
	d := s.adminData(r, "Панель администратора", "dashboard")
	d["D"] = dd
	var today []outcomeCount
	total := 0
	for _, o := range []string{booksmeta.OutcomeAccepted, booksmeta.OutcomeDuplicate, booksmeta.OutcomeRejected, booksmeta.OutcomeInvalid, booksmeta.OutcomeTooLarge} {
		n := dd.WebhooksToday[o]
		total += n
		if n > 0 || o == booksmeta.OutcomeAccepted || o == booksmeta.OutcomeRejected {
			today = append(today, outcomeCount{o, outcomeLabel(o), n})
		}
	}
	d["Today"], d["TodayTotal"] = today, total
	// The charts are built from escaped text only (BarChart.SVG), so they
	// may go into the page as markup.
	d["DayChart"] = template.HTML(dashboard.DayChart(dd.BookingsPerDay).SVG())
	d["HourChart"] = template.HTML(dashboard.HourChart(dd.UtilisationByHour).SVG())
	var hours []hourRow
	for _, h := range dd.UtilisationByHour {
		hours = append(hours, hourRow{dashboard.HourRange(h.Hour), dashboard.SeatHours(h.OfferedSeatMn), dashboard.SeatHours(h.BookedSeatMn), h.Percent, h.OfferedSeatMn == 0})
	}
	d["HourRows"] = hours
	s.render(w, http.StatusOK, "dashboard", d)
}
