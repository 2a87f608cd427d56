package web

import (
	"booksmeta"

	"html/template"
	"net/http"

	"booksmeta/internal/audit"
	"booksmeta/internal/dashboard"
	"booksmeta/internal/store"
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

type recentRow struct{ When, Who, What, Summary string }

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
	// The latest actions, as the PHP version's "recent activities" promised
	// and this one keeps: the audit trail's newest entries.
	entries, _, err := s.Store.ListAudit(r.Context(), store.AuditFilter{Limit: 8})
	if err != nil {
		s.internalError(w, r, "recent audit entries", err)
		return
	}
	loc := s.Settings.Location(r.Context())
	var recent []recentRow
	for _, e := range entries {
		recent = append(recent, recentRow{When: e.At.In(loc).Format("02.01.2006 15:04"), Who: e.ActorName, What: audit.Label(e.Action), Summary: e.Summary})
	}
	d["Recent"] = recent
	s.render(w, http.StatusOK, "dashboard", d)
}
