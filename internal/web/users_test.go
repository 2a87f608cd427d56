package web_test

import (
	"booksmeta"

	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func mustRe(re string) *regexp.Regexp { return regexp.MustCompile(re) }

func TestUserListSearchAndFilters(t *testing.T) {
	f := start(t, nil)
	f.user(t, "unpaid@example.com", booksmeta.RoleStudent, false)
	a := f.as(t, f.admin)
	p := a.get("/admin/users")
	expect(t, p, 200, "student@example.com", "unpaid@example.com", "admin@example.com", "owner@example.com", "Добавить ученика")
	expectNot(t, p, "argon2id") // no password hashes in the page
	p = a.get("/admin/users?q=UNPAID")
	expect(t, p, 200, "unpaid@example.com")
	expectNot(t, p, "student@example.com")
	p = a.get("/admin/users?paid=true&role=student")
	expect(t, p, 200, "student@example.com")
	expectNot(t, p, "unpaid@example.com", ">admin@example.com</a>")
	p = a.get("/admin/users?role=super_admin")
	expect(t, p, 200, "owner@example.com")
	expectNot(t, p, "student@example.com")
	expect(t, a.get("/admin/users?q=nobody-here"), 200, "Никого не нашлось")
	expect(t, a.get("/admin/users?active=false"), 200, "Никого не нашлось")
}

var linkRe = regexp.MustCompile(`id="onetime-link" type="text" readonly value="([^"]+)"`)

func TestUserCreateWithInvite(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	p := a.get("/admin/users/new")
	expect(t, p, 200, "Новый ученик", `name="booking_limit" type="number" min="0" max="100" inputmode="numeric" required value="3"`, "Письмо уйдёт, когда настроена почта", `name="push_getcourse"`)
	expectNot(t, p, `name="role"`) // only a super-admin picks a role

	form := url.Values{"email": {"New.Student@Example.com"}, "first_name": {"Анна"}, "last_name": {"Петрова"},
		"phone": {"+7 900 123-45-67"}, "booking_limit": {"2"}, "paid": {"on"}, "active": {"on"}, "invite": {"on"}}
	expect(t, a.post("/admin/users/new", form), http.StatusForbidden)
	p = a.submit("/admin/users/new", "/admin/users/new", form)
	expect(t, p, http.StatusCreated, "Пользователь создан", "Ссылка для установки пароля", "действует 7 дней",
		"Почта не настроена, поэтому письмо не отправлено")
	m := linkRe.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no one-time link:\n%s", p.Body)
	}
	link, _ := url.Parse(html.UnescapeString(m[1]))
	u, err := f.srv.Store.UserByEmail(context.Background(), "new.student@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != booksmeta.RoleStudent || !u.Paid || !u.Active || u.BookingLimit != 2 || u.FirstName != "Анна" || u.PasswordHash != "" {
		t.Fatalf("created user: %+v", u)
	}
	// The link works once, on the set-password page.
	s := newBrowser(t, f.srv)
	expect(t, s.get(link.RequestURI()), 200, "new.student@example.com")
	// It is not shown again.
	expectNot(t, a.get("/admin/users/"+itoa(u.ID)), link.Query().Get("token"))

	// The same email again: refused next to the form, values kept.
	p = a.submit("/admin/users/new", "/admin/users/new", form)
	expect(t, p, http.StatusConflict, "Пользователь с таким email уже есть", `value="Анна"`)
	// Bad phone and limit.
	form.Set("email", "other@example.com")
	form.Set("phone", "call me")
	expect(t, a.submit("/admin/users/new", "/admin/users/new", form), http.StatusUnprocessableEntity, "Телефон записан с ошибкой", `aria-invalid="true"`)
	form.Set("phone", "")
	form.Set("booking_limit", "lots")
	expect(t, a.submit("/admin/users/new", "/admin/users/new", form), http.StatusUnprocessableEntity, "Лимит бронирований — целое число")

	// Without an invite, with a password: straight to the user's page; they can sign in.
	form = url.Values{"email": {"pw@example.com"}, "booking_limit": {"3"}, "active": {"on"}, "password": {testPassword}, "password2": {testPassword}}
	p = a.submit("/admin/users/new", "/admin/users/new", form)
	if p.Status != http.StatusSeeOther || !strings.HasSuffix(p.location(), "?ok=user_created") {
		t.Fatalf("create without invite: %d → %q\n%s", p.Status, p.location(), p.Body)
	}
	newBrowser(t, f.srv).mustLogin("pw@example.com")
	form.Set("email", "pw2@example.com")
	form.Set("password2", "different-password")
	expect(t, a.submit("/admin/users/new", "/admin/users/new", form), http.StatusUnprocessableEntity, "Пароли не совпадают")
}

func TestUserEditAndRoleRule(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	sid := itoa(f.student.ID)
	p := a.get("/admin/users/" + sid)
	expect(t, p, 200, "student@example.com", `action="/admin/users/`+sid+`"`, "Отключить аккаунт", "Удалить пользователя")
	expectNot(t, p, `name="role"`, "argon2id")

	form := url.Values{"email": {"student@example.com"}, "first_name": {"Иван"}, "last_name": {"Сидоров"}, "phone": {"+7 (901) 000-00-00"},
		"booking_limit": {"5"}, "active": {"on"}}
	p = a.submit("/admin/users/"+sid, "/admin/users/"+sid, form)
	if p.Status != http.StatusSeeOther || p.location() != "/admin/users/"+sid+"?ok=user_saved" {
		t.Fatalf("update: %d → %q\n%s", p.Status, p.location(), p.Body)
	}
	expect(t, a.get(p.location()), 200, "Изменения сохранены", `value="Иван"`, `value="5"`)
	u, _ := f.srv.Store.UserByID(context.Background(), f.student.ID)
	if u.FirstName != "Иван" || u.BookingLimit != 5 || u.Paid || !u.Active {
		t.Fatalf("after update: %+v", u)
	}

	// A plain admin cannot make anyone an admin, even by adding the field by hand.
	form.Set("role", booksmeta.RoleAdmin)
	expect(t, a.submit("/admin/users/"+sid, "/admin/users/"+sid, form), http.StatusForbidden, "только главный администратор")
	// Nor change another admin, nor hand out a password link for one.
	oid := itoa(f.super.ID)
	p = a.get("/admin/users/" + oid)
	expect(t, p, 200, "Изменять других администраторов может только главный администратор")
	expectNot(t, p, `action="/admin/users/`+oid+`/link"`)
	expect(t, a.submit("/admin/users/"+oid, "/admin/users/"+oid+"/link", nil), http.StatusForbidden)
	expectNot(t, a.submit("/admin/users/"+oid, "/admin/users/"+oid+"/link", nil), "/set-password?token=")
	expect(t, a.submit("/admin/users/"+oid, "/admin/users/"+oid+"/password", url.Values{"password": {"hijacked-pass"}, "password2": {"hijacked-pass"}}), http.StatusForbidden)
	newBrowser(t, f.srv).mustLogin(f.super.Email) // password unchanged

	// The super-admin sees the role select and grants admin.
	o := f.as(t, f.super)
	expect(t, o.get("/admin/users/"+sid), 200, `name="role"`, `<option value="admin">`)
	form.Set("role", booksmeta.RoleAdmin)
	p = o.submit("/admin/users/"+sid, "/admin/users/"+sid, form)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("super-admin grants admin: %d\n%s", p.Status, p.Body)
	}
	if u, _ := f.srv.Store.UserByID(context.Background(), f.student.ID); u.Role != booksmeta.RoleAdmin {
		t.Fatalf("role %q", u.Role)
	}
	// The last super-admin cannot demote themselves.
	own := url.Values{"email": {f.super.Email}, "booking_limit": {"0"}, "active": {"on"}, "role": {booksmeta.RoleStudent}}
	expect(t, o.submit("/admin/users/"+oid, "/admin/users/"+oid, own), http.StatusConflict, "Нельзя отключить себя или снять с себя права")
	expect(t, o.get("/admin/users/999999"), 404, "Такого пользователя нет")
}

func TestUserPasswordLinkActiveDelete(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	s := f.as(t, f.student)
	sid := itoa(f.student.ID)

	// Set a password: the student's sessions end, the new password works.
	expect(t, a.submit("/admin/users/"+sid, "/admin/users/"+sid+"/password", url.Values{"password": {"short"}, "password2": {"short"}}),
		http.StatusUnprocessableEntity, "Пароль слишком короткий")
	expect(t, a.submit("/admin/users/"+sid, "/admin/users/"+sid+"/password", url.Values{"password": {"new-password-1"}, "password2": {"new-password-2"}}),
		http.StatusUnprocessableEntity, "Пароли не совпадают")
	p := a.submit("/admin/users/"+sid, "/admin/users/"+sid+"/password", url.Values{"password": {"new-password-1"}, "password2": {"new-password-1"}})
	if p.location() != "/admin/users/"+sid+"?ok=password_set" {
		t.Fatalf("set password: %d → %q\n%s", p.Status, p.location(), p.Body)
	}
	if p := s.get("/"); p.location() != "/login" {
		t.Fatal("student session survived a password change")
	}
	if p := newBrowser(t, f.srv).login(f.student.Email, "new-password-1"); p.Status != http.StatusSeeOther {
		t.Fatalf("new password: %d", p.Status)
	}

	// A password link, shown once.
	p = a.submit("/admin/users/"+sid, "/admin/users/"+sid+"/link", nil)
	expect(t, p, 200, "Ссылка для установки пароля", "/set-password?token=")

	// Deactivate: no sign-in; activate again.
	p = a.submit("/admin/users/"+sid, "/admin/users/"+sid+"/active", url.Values{"active": {"0"}})
	if p.location() != "/admin/users/"+sid+"?ok=deactivated" {
		t.Fatalf("deactivate: %d → %q", p.Status, p.location())
	}
	expect(t, a.get(p.location()), 200, "Аккаунт отключён", "Включить аккаунт")
	expect(t, newBrowser(t, f.srv).login(f.student.Email, "new-password-1"), http.StatusUnauthorized, "отключён")
	p = a.submit("/admin/users/"+sid, "/admin/users/"+sid+"/active", url.Values{"active": {"1"}})
	if p.location() != "/admin/users/"+sid+"?ok=activated" {
		t.Fatalf("activate: %q", p.location())
	}

	// Delete: without confirmation a question first; yourself never.
	expect(t, a.post("/admin/users/"+sid+"/delete", url.Values{"confirm": {"yes"}}), http.StatusForbidden)
	expect(t, a.submit("/admin/users/"+sid, "/admin/users/"+sid+"/delete", url.Values{"confirm": {""}}), 200, "Удалить пользователя", "Да, удалить")
	if _, err := f.srv.Store.UserByID(context.Background(), f.student.ID); err != nil {
		t.Fatal("deleted without confirmation")
	}
	me := itoa(f.admin.ID)
	expect(t, a.get("/admin/users/"+me), 200, "включая ваш")
	expectNot(t, a.get("/admin/users/"+me), "Удалить пользователя")
	expect(t, a.submit("/admin/users/"+me, "/admin/users/"+me+"/delete", url.Values{"confirm": {"yes"}}), http.StatusConflict, "Нельзя удалить самого себя")
	p = a.submit("/admin/users/"+sid, "/admin/users/"+sid+"/delete", url.Values{"confirm": {"yes"}})
	if p.location() != "/admin/users?ok=deleted" {
		t.Fatalf("delete: %d → %q\n%s", p.Status, p.location(), p.Body)
	}
	expect(t, a.get(p.location()), 200, "Пользователь удалён")
	expectNot(t, a.get("/admin/users"), "student@example.com")

	// An admin setting their own password stays signed in here; their
	// other sessions end (TestPasswordChangeEndsOtherSessions).
	p = a.submit("/admin/users/"+me, "/admin/users/"+me+"/password", url.Values{"password": {"admin-new-pass"}, "password2": {"admin-new-pass"}})
	if p.location() != "/admin/users/"+me+"?ok=password_set" {
		t.Fatalf("own password: %q", p.location())
	}
	expect(t, a.get(p.location()), 200)
}

func TestUserPostsNeedCSRF(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.super)
	sid := itoa(f.student.ID)
	for _, path := range []string{"/admin/users/new", "/admin/users/" + sid, "/admin/users/" + sid + "/password",
		"/admin/users/" + sid + "/link", "/admin/users/" + sid + "/active", "/admin/users/" + sid + "/delete"} {
		p := a.post(path, url.Values{"email": {"evil@example.com"}, "booking_limit": {"9"}, "role": {"super_admin"},
			"password": {"evil-password"}, "password2": {"evil-password"}, "confirm": {"yes"}, "active": {"0"}, "csrf_token": {"x"}})
		expect(t, p, http.StatusForbidden, "Форма устарела")
		expectNot(t, p, "/set-password?token=")
	}
	u, err := f.srv.Store.UserByID(context.Background(), f.student.ID)
	if err != nil || u.Email != "student@example.com" || !u.Active || u.Role != booksmeta.RoleStudent {
		t.Fatalf("refused POSTs changed the user: %+v %v", u, err)
	}
	if _, err := f.srv.Store.UserByEmail(context.Background(), "evil@example.com"); err == nil {
		t.Fatal("refused POST created a user")
	}
}

func TestStudentHome(t *testing.T) {
	f := start(t, nil)
	unpaid := f.user(t, "unpaid@example.com", booksmeta.RoleStudent, false)
	p := f.as(t, unpaid).get("/")
	expect(t, p, 200, "доступно после оплаты курса на GetCourse", "unpaid@example.com")
	expectNot(t, p, "Панель", "/admin/", "Осталось бронирований")
	expect(t, f.as(t, unpaid).get("/profile"), 200, "не оплачено", "одновременно до 3")
	p = f.as(t, f.student).get("/")
	expect(t, p, 200, "Осталось бронирований: <strong>3 из 3</strong>")
	expectNot(t, p, "доступно после оплаты")
	expect(t, f.as(t, f.student).get("/no-such-page"), 404, "Такой страницы нет")
}
