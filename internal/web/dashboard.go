package web

import (
	"booksmeta"

	"net/http"

	"booksmeta/internal/dashboard"
)

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
	maxDay := 1
	for _, c := range dd.BookingsPerDay {
		maxDay = max(maxDay, c.Count)
	}
	d["MaxDay"] = maxDay
	s.render(w, http.StatusOK, "dashboard", d)
}
