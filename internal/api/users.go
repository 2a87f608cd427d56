package api

import (
	"booksmeta"

	"net/http"
	"strconv"

	"booksmeta/internal/accounts"
	"booksmeta/internal/audit"
	"booksmeta/internal/auth"
	"booksmeta/internal/store"
)

type userOut struct {
	ID           int64  `json:"id"`
	Email        string `json:"email"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Phone        string `json:"phone"`
	Role         string `json:"role"`
	Paid         bool   `json:"paid"`
	Active       bool   `json:"active"`
	BookingLimit int    `json:"booking_limit"`
	BookingsLeft *int   `json:"bookings_left,omitempty"`
	Upcoming     *int   `json:"upcoming_bookings,omitempty"`
	HasPassword  bool   `json:"has_password"`
	GetCourseID  string `json:"getcourse_user_id,omitempty"`
	CreatedAt    string `json:"created_at"`
	LastLoginAt  string `json:"last_login_at,omitempty"`
}

func (s *Server) userJSON(r *http.Request, u *booksmeta.User) userOut {
	return userOut{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Phone: u.Phone, Role: u.Role,
		Paid: u.Paid, Active: u.Active, BookingLimit: u.BookingLimit, HasPassword: u.PasswordHash != "",
		GetCourseID: u.GetCourseUserID, CreatedAt: s.timeJSON(r.Context(), u.CreatedAt), LastLoginAt: s.timeJSON(r.Context(), u.LastLoginAt)}
}

func (s *Server) userWithCounts(r *http.Request, u *booksmeta.User) (userOut, error) {
	out := s.userJSON(r, u)
	var n int
	err := s.Store.InTx(r.Context(), func(tx *store.Tx) error {
		var err error
		n, err = tx.CountUpcomingBookings(r.Context(), u.ID)
		return err
	})
	left := u.BookingsLeft(n)
	out.Upcoming, out.BookingsLeft = &n, &left
	return out, err
}

func boolParam(r *http.Request, name string) *bool {
	v, err := strconv.ParseBool(r.URL.Query().Get(name))
	if err != nil {
		return nil
	}
	return &v
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset, _ := strconv.Atoi(q.Get("offset"))
	rows, err := s.Store.ListUsers(r.Context(), store.UserFilter{Query: q.Get("q"), Role: q.Get("role"),
		Paid: boolParam(r, "paid"), Active: boolParam(r, "active"), Limit: limit, Offset: offset})
	if err != nil {
		s.failErr(w, err)
		return
	}
	out := make([]userOut, 0, len(rows))
	for _, row := range rows {
		u := s.userJSON(r, &row.User)
		up, left := row.UpcomingBookings, row.BookingsLeft(row.UpcomingBookings)
		u.Upcoming, u.BookingsLeft = &up, &left
		out = append(out, u)
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

type userIn struct {
	Email        *string `json:"email"`
	FirstName    *string `json:"first_name"`
	LastName     *string `json:"last_name"`
	Phone        *string `json:"phone"`
	Role         *string `json:"role"`
	Paid         *bool   `json:"paid"`
	Active       *bool   `json:"active"`
	BookingLimit *int    `json:"booking_limit"`
	Password     *string `json:"password"`
}

func (in userIn) input() accounts.UserInput {
	return accounts.UserInput{Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, Phone: in.Phone,
		Role: in.Role, Paid: in.Paid, Active: in.Active, BookingLimit: in.BookingLimit, Password: in.Password}
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, actor *booksmeta.User) {
	var in userIn
	if !decode(w, r, &in) {
		return
	}
	limit, err := s.Settings.DefaultLimit(r.Context())
	if err != nil {
		s.failErr(w, err)
		return
	}
	u, err := s.Accounts.AdminCreate(r.Context(), actor, in.input(), limit)
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.Log.Info("user created by admin", "user_id", u.ID, "by", actor.ID)
	s.record(r, audit.By(actor, audit.UserCreate, audit.User(u.ID), audit.UserCreated(u)))
	out, _ := s.userWithCounts(r, u)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	u, err := s.Store.UserByID(r.Context(), id)
	if err != nil {
		s.failErr(w, err)
		return
	}
	out, err := s.userWithCounts(r, u)
	if err != nil {
		s.failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, actor *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in userIn
	if !decode(w, r, &in) {
		return
	}
	upd := in.input()
	_, sess := auth.FromContext(r.Context())
	upd.KeepSession = sess.ID
	before, _ := s.Store.UserByID(r.Context(), id)
	u, err := s.Accounts.AdminUpdate(r.Context(), actor, id, upd)
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.Log.Info("user updated by admin", "user_id", u.ID, "by", actor.ID)
	s.recordUser(r, actor, before, u)
	out, _ := s.userWithCounts(r, u)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, actor *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	before, _ := s.Store.UserByID(r.Context(), id)
	if err := s.Accounts.AdminDelete(r.Context(), actor, id); err != nil {
		s.failErr(w, err)
		return
	}
	s.Log.Info("user deleted by admin", "user_id", id, "by", actor.ID)
	if before != nil {
		s.record(r, audit.By(actor, audit.UserDelete, audit.User(id), audit.UserDeleted(before)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}
