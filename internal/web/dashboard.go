package web

import (
	"net/http"

	"booksmeta/internal/api"
	"booksmeta/internal/store"
)

type outcomeCount struct {
	Outcome string
	Label   string
	N       int
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, _ *store.User) {
	dd, err := api.Dashboard(r.Context(), s.Store, s.Settings)
	if err != nil {
		s.internalError(w, r, "dashboard", err)
		return
	}
	d := s.adminData(r, "Панель администратора", "dashboard")
	d["D"] = dd
	var today []outcomeCount
	total := 0
	for _, o := range []string{store.OutcomeAccepted, store.OutcomeDuplicate, store.OutcomeRejected, store.OutcomeInvalid, store.OutcomeTooLarge} {
		n := dd.WebhooksToday[o]
		total += n
		if n > 0 || o == store.OutcomeAccepted || o == store.OutcomeRejected {
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
