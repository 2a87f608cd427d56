package web

import (
	"booksmeta"

	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"booksmeta/internal/accounts"
	"booksmeta/internal/audit"
	"booksmeta/internal/auth"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

const userPage = 50

// userForm is the edit form as shown or as submitted.
type userForm struct {
	Email, FirstName, LastName, Phone, Role, Limit string
	Paid, Active, Invite                           bool
}

func formOf(u *booksmeta.User) userForm {
	return userForm{Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Phone: u.Phone, Role: u.Role,
		Limit: strconv.Itoa(u.BookingLimit), Paid: u.Paid, Active: u.Active}
}

func submittedForm(r *http.Request) userForm {
	on := func(k string) bool { v := r.PostFormValue(k); return v == "on" || v == "1" || v == "true" }
	return userForm{Email: strings.TrimSpace(r.PostFormValue("email")), FirstName: r.PostFormValue("first_name"),
		LastName: r.PostFormValue("last_name"), Phone: r.PostFormValue("phone"), Role: r.PostFormValue("role"),
		Limit: strings.TrimSpace(r.PostFormValue("booking_limit")), Paid: on("paid"), Active: on("active"), Invite: on("invite")}
}

// input turns the form into an account change. The role is sent only by a
// super-admin's form; the rule itself is enforced in package accounts.
func (f userForm) input(r *http.Request) (accounts.UserInput, *booksmeta.Error) {
	in := accounts.UserInput{Email: &f.Email, FirstName: &f.FirstName, LastName: &f.LastName, Phone: &f.Phone,
		Paid: &f.Paid, Active: &f.Active}
	n, err := strconv.Atoi(f.Limit)
	if err != nil {
		return in, &booksmeta.Error{Code: booksmeta.CodeInvalid, Field: "booking_limit", Message: "Лимит бронирований — целое число от 0 до 100."}
	}
	in.BookingLimit = &n
	if _, sent := r.PostForm["role"]; sent {
		in.Role = &f.Role
	}
	return in, nil
}

func roleOptions() []option {
	return []option{{booksmeta.RoleStudent, booksmeta.RoleName(booksmeta.RoleStudent)}, {booksmeta.RoleAdmin, booksmeta.RoleName(booksmeta.RoleAdmin)},
		{booksmeta.RoleSuperAdmin, booksmeta.RoleName(booksmeta.RoleSuperAdmin)}}
}

// accountsStatus maps a refusal by an account rule to a status and the error.
func accountsStatus(err error) (int, *booksmeta.Error, bool) {
	ae := booksmeta.AsError(err)
	if ae == nil {
		return 0, nil, false
	}
	return ae.HTTPStatus(), ae, true
}

func boolFilter(v string) *bool {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil
	}
	return &b
}

func (s *Server) userList(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(offset, 0)
	f := store.UserFilter{Query: strings.TrimSpace(q.Get("q")), Role: q.Get("role"), Paid: boolFilter(q.Get("paid")),
		Active: boolFilter(q.Get("active")), Limit: userPage + 1, Offset: offset}
	rows, err := s.Store.ListUsers(r.Context(), f)
	if err != nil {
		s.internalError(w, r, "list users", err)
		return
	}
	d := s.adminData(r, "Пользователи", "users")
	page := func(off int) string {
		v := url.Values{}
		for _, k := range []string{"q", "role", "paid", "active"} {
			if x := q.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		if off > 0 {
			v.Set("offset", strconv.Itoa(off))
		}
		if len(v) == 0 {
			return "/admin/users"
		}
		return "/admin/users?" + v.Encode()
	}
	if len(rows) > userPage {
		rows = rows[:userPage]
		d["NextPage"] = page(offset + userPage)
	}
	if offset > 0 {
		d["PrevPage"] = page(max(offset-userPage, 0))
	}
	d["Users"], d["Q"], d["Roles"] = rows, q, roleOptions()
	d["Filtered"] = f.Query != "" || f.Role != "" || f.Paid != nil || f.Active != nil
	s.render(w, http.StatusOK, "users", d)
}

func (s *Server) userNewPage(w http.ResponseWriter, r *http.Request, status int, f userForm, e *booksmeta.Error) {
	d := s.adminData(r, "Новый ученик", "users")
	d["F"], d["Roles"] = f, roleOptions()
	if e != nil {
		d["Err"], d["ErrField"] = e.Message, e.Field
	}
	s.render(w, status, "user_new", d)
}

func (s *Server) userNewForm(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	limit, err := s.Settings.DefaultLimit(r.Context())
	if err != nil {
		s.internalError(w, r, "read default booking limit", err)
		return
	}
	s.userNewPage(w, r, http.StatusOK, userForm{Role: booksmeta.RoleStudent, Active: true, Invite: true,
		Limit: strconv.Itoa(limit)}, nil)
}

func (s *Server) userCreate(w http.ResponseWriter, r *http.Request, actor *booksmeta.User) {
	f := submittedForm(r)
	in, ferr := f.input(r)
	if ferr != nil {
		s.userNewPage(w, r, http.StatusUnprocessableEntity, f, ferr)
		return
	}
	if pw := r.PostFormValue("password"); pw != "" {
		if pw != r.PostFormValue("password2") {
			s.userNewPage(w, r, http.StatusUnprocessableEntity, f, &booksmeta.Error{Code: booksmeta.CodeInvalid, Field: "password",
				Message: "Пароли не совпадают: введите один и тот же пароль дважды или оставьте оба поля пустыми."})
			return
		}
		in.Password = &pw
	}
	limit, err := s.Settings.DefaultLimit(r.Context())
	if err != nil {
		s.internalError(w, r, "read default booking limit", err)
		return
	}
	u, err := s.Accounts.AdminCreate(r.Context(), actor, in, limit)
	if st, ae, ok := accountsStatus(err); ok {
		s.userNewPage(w, r, st, f, ae)
		return
	} else if err != nil {
		s.internalError(w, r, "create user", err)
		return
	}
	s.Log.Info("user created by admin", "user_id", u.ID, "by", actor.ID)
	s.record(r, audit.By(actor, audit.UserCreate, audit.User(u.ID), audit.UserCreated(u)))
	v := editView{Flash: "Пользователь создан."}
	if r.PostFormValue("push_getcourse") == "1" && s.GetCourse != nil {
		res := s.GetCourse.PushUser(r.Context(), u)
		v.PushNote, v.PushOK = res.Message, res.OK
	}
	if !f.Invite && v.PushNote == "" {
		http.Redirect(w, r, "/admin/users/"+strconv.FormatInt(u.ID, 10)+"?ok=user_created", http.StatusSeeOther)
		return
	}
	if f.Invite {
		// The welcome mail is queued either way: without mail settings it
		// waits in the outbox. Until then the admin gets the link to pass on.
		if err := s.queueWelcome(r, u); err != nil {
			s.internalError(w, r, "queue welcome mail", err)
			return
		}
		v.Flash = "Пользователь создан. Письмо-приглашение со ссылкой для установки пароля поставлено в очередь и уйдёт в ближайшую минуту."
		if !s.mailConfigured(r) {
			v.Flash = "Пользователь создан."
			link, err := s.issueLink(r, actor, u)
			if err != nil {
				s.internalError(w, r, "issue set-password link", err)
				return
			}
			v.OneTimeLink = link
			v.InviteNote = "Почта не настроена, поэтому письмо не отправлено: оно ждёт в очереди и уйдёт, когда почту настроят (Настройки → Почта). Пока передайте ученику ссылку ниже сами."
		}
	}
	s.userEditPage(w, r, http.StatusCreated, u, v)
}

func (s *Server) issueLink(r *http.Request, actor, u *booksmeta.User) (string, error) {
	tok, err := s.Accounts.AdminIssueLink(r.Context(), actor, u)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(s.BaseURL, "/") + "/set-password?token=" + tok, nil
}

type editView struct {
	Form        *userForm
	Err         *booksmeta.Error
	PwErr       string
	Flash       string
	OneTimeLink string
	InviteNote  string
	PushNote    string
	PushOK      bool
}

// mailConfigured reports whether an SMTP server is set (mail_host). The
// account is already created when it is asked, so a failed read is logged
// and counts as "not set": the admin then gets the link to pass on, which
// works either way, instead of an error page that hides it.
func (s *Server) mailConfigured(r *http.Request) bool {
	var on bool
	var err error
	if s.Outbox != nil {
		on, err = s.Outbox.Configured(r.Context())
	} else {
		var host string
		host, err = s.Settings.String(r.Context(), settings.MailHost)
		on = host != ""
	}
	if err != nil {
		s.Log.Error("read mail settings", "err", err)
	}
	return on
}

// queueWelcome puts the welcome mail (with its own one-time link, minted
// when it is sent) in the outbox, once per student.
func (s *Server) queueWelcome(r *http.Request, u *booksmeta.User) error {
	ctx := r.Context()
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		data, _ := json.Marshal(map[string]string{"first_name": u.FirstName})
		_, err := tx.QueueMail(ctx, &store.OutboxMail{Kind: "welcome", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
			Data: string(data), DedupeKey: "welcome:" + strconv.FormatInt(u.ID, 10)})
		return err
	})
	if err == nil {
		s.Jobs.Notify()
	}
	return err
}

func (s *Server) userEditPage(w http.ResponseWriter, r *http.Request, status int, target *booksmeta.User, v editView) {
	actor, _ := auth.FromContext(r.Context())
	upcoming, err := s.Store.CountUpcoming(r.Context(), target.ID)
	if err != nil {
		s.internalError(w, r, "count upcoming bookings", err)
		return
	}
	d := s.adminData(r, "Пользователь "+target.Email, "users")
	f := formOf(target)
	if v.Form != nil {
		f = *v.Form
	}
	d["T"], d["F"], d["Roles"], d["Upcoming"] = target, f, roleOptions(), upcoming
	d["CanManage"], d["Self"] = accounts.CanManage(actor, target), actor.ID == target.ID
	d["HasPassword"] = target.PasswordHash != ""
	d["Loc"], d["PwErr"], d["OneTimeLink"] = s.Settings.Location(r.Context()), v.PwErr, v.OneTimeLink
	d["InviteNote"], d["PushNote"], d["PushOK"] = v.InviteNote, v.PushNote, v.PushOK
	d["LinkDays"] = int(accounts.WelcomeLinkTTL.Hours() / 24)
	if target.IsAdmin() {
		d["LinkDays"] = 0
	}
	if v.Err != nil {
		d["Err"], d["ErrField"] = v.Err.Message, v.Err.Field
	}
	if v.Flash != "" {
		d["Flash"] = v.Flash
	}
	s.render(w, status, "user_edit", d)
}

func (s *Server) userByPath(w http.ResponseWriter, r *http.Request) (*booksmeta.User, bool) {
	id, ok := pathID(r)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "Пользователь не найден", "В адресе неверный номер пользователя. Откройте пользователя из списка.")
		return nil, false
	}
	u, err := s.Store.UserByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "Пользователь не найден", "Такого пользователя нет: возможно, его уже удалили. Вернитесь к списку пользователей.")
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, "read user", err)
		return nil, false
	}
	return u, true
}

func (s *Server) userEdit(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	if u, ok := s.userByPath(w, r); ok {
		s.userEditPage(w, r, http.StatusOK, u, editView{})
	}
}

// afterRefusal shows the edit page with an account rule's refusal.
func (s *Server) afterRefusal(w http.ResponseWriter, r *http.Request, target *booksmeta.User, err error, v editView, what string) {
	if st, ae, ok := accountsStatus(err); ok {
		v.Err = ae
		if ae.Field == "password" {
			v.PwErr, v.Err = ae.Message, nil
		}
		s.userEditPage(w, r, st, target, v)
		return
	}
	s.internalError(w, r, what, err)
}

func (s *Server) userUpdate(w http.ResponseWriter, r *http.Request, actor *booksmeta.User) {
	target, ok := s.userByPath(w, r)
	if !ok {
		return
	}
	f := submittedForm(r)
	in, ferr := f.input(r)
	if ferr != nil {
		s.userEditPage(w, r, http.StatusUnprocessableEntity, target, editView{Form: &f, Err: ferr})
		return
	}
	if _, err := s.Accounts.AdminUpdate(r.Context(), actor, target.ID, in); err != nil {
		s.afterRefusal(w, r, target, err, editView{Form: &f}, "update user")
		return
	}
	s.Log.Info("user updated by admin", "user_id", target.ID, "by", actor.ID)
	s.recordUser(r, actor, target, audit.UserUpdate)
	http.Redirect(w, r, "/admin/users/"+strconv.FormatInt(target.ID, 10)+"?ok=user_saved", http.StatusSeeOther)
}

func (s *Server) userSetPassword(w http.ResponseWriter, r *http.Request, actor *booksmeta.User) {
	target, ok := s.userByPath(w, r)
	if !ok {
		return
	}
	pw := r.PostFormValue("password")
	switch {
	case pw == "":
		s.userEditPage(w, r, http.StatusUnprocessableEntity, target, editView{PwErr: "Введите новый пароль (не короче 8 символов)."})
		return
	case pw != r.PostFormValue("password2"):
		s.userEditPage(w, r, http.StatusUnprocessableEntity, target, editView{PwErr: msgPasswordsDiffer})
		return
	}
	_, sess := auth.FromContext(r.Context())
	if _, err := s.Accounts.AdminUpdate(r.Context(), actor, target.ID, accounts.UserInput{Password: &pw, KeepSession: sess.ID}); err != nil {
		s.afterRefusal(w, r, target, err, editView{}, "set user password")
		return
	}
	s.Log.Info("password set by admin", "user_id", target.ID, "by", actor.ID)
	s.record(r, audit.By(actor, audit.UserPassword, audit.User(target.ID), "Администратор задал пароль пользователю "+target.Email+"; его сеансы завершены."))
	http.Redirect(w, r, "/admin/users/"+strconv.FormatInt(target.ID, 10)+"?ok=password_set", http.StatusSeeOther)
}

func (s *Server) userIssueLink(w http.ResponseWriter, r *http.Request, actor *booksmeta.User) {
	target, ok := s.userByPath(w, r)
	if !ok {
		return
	}
	link, err := s.issueLink(r, actor, target)
	if st, ae, ok := accountsStatus(err); ok {
		s.userEditPage(w, r, st, target, editView{Err: ae})
		return
	}
	if err != nil {
		s.internalError(w, r, "issue set-password link", err)
		return
	}
	s.Log.Info("set-password link issued by admin", "user_id", target.ID, "by", actor.ID)
	s.record(r, audit.By(actor, audit.UserLink, audit.User(target.ID), "Выдана ссылка для установки пароля пользователю "+target.Email+"."))
	s.userEditPage(w, r, http.StatusOK, target, editView{OneTimeLink: link})
}

func (s *Server) userSetActive(w http.ResponseWriter, r *http.Request, actor *booksmeta.User) {
	target, ok := s.userByPath(w, r)
	if !ok {
		return
	}
	active := r.PostFormValue("active") == "1"
	if _, err := s.Accounts.AdminUpdate(r.Context(), actor, target.ID, accounts.UserInput{Active: &active}); err != nil {
		s.afterRefusal(w, r, target, err, editView{}, "set user active")
		return
	}
	s.Log.Info("user active changed by admin", "user_id", target.ID, "active", active, "by", actor.ID)
	s.recordUser(r, actor, target, audit.UserUpdate)
	code := "deactivated"
	if active {
		code = "activated"
	}
	http.Redirect(w, r, "/admin/users/"+strconv.FormatInt(target.ID, 10)+"?ok="+code, http.StatusSeeOther)
}

// userDelete deletes after an explicit confirmation: the browser's dialog
// sets confirm=yes; without JavaScript a confirmation page asks first.
func (s *Server) userDelete(w http.ResponseWriter, r *http.Request, actor *booksmeta.User) {
	target, ok := s.userByPath(w, r)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		d := s.adminData(r, "Удалить пользователя?", "users")
		d["T"] = target
		s.render(w, http.StatusOK, "user_delete", d)
		return
	}
	if err := s.Accounts.AdminDelete(r.Context(), actor, target.ID); err != nil {
		s.afterRefusal(w, r, target, err, editView{}, "delete user")
		return
	}
	s.Log.Info("user deleted by admin", "user_id", target.ID, "by", actor.ID)
	s.record(r, audit.By(actor, audit.UserDelete, audit.User(target.ID), audit.UserDeleted(target)))
	http.Redirect(w, r, "/admin/users?ok=deleted", http.StatusSeeOther)
}
