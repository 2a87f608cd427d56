package booksmeta

import (
	"strings"
	"time"
)

// Roles.
const (
	RoleStudent    = "student"
	RoleAdmin      = "admin"
	RoleSuperAdmin = "super_admin"
)

// User is a student or an administrator.
type User struct {
	ID                 int64
	Email              string
	FirstName          string
	LastName           string
	Phone              string
	Role               string
	PasswordHash       string
	Paid               bool
	Active             bool
	DeactivatedByAdmin bool
	BookingLimit       int
	GetCourseUserID    string
	PaidAt             time.Time
	LastLoginAt        time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// RoleName is a role for people: «ученик», «администратор», «главный
// администратор»; an unknown role as it is.
func RoleName(role string) string {
	switch role {
	case RoleStudent:
		return "ученик"
	case RoleAdmin:
		return "администратор"
	case RoleSuperAdmin:
		return "главный администратор"
	}
	return role
}

// IsAdmin reports whether the user may use the admin panel.
func (u *User) IsAdmin() bool { return u.Role == RoleAdmin || u.Role == RoleSuperAdmin }

// Name is the display name, falling back to the email.
func (u *User) Name() string {
	n := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if n == "" {
		return u.Email
	}
	return n
}

// BookingsLeft is how many more upcoming bookings u may hold while holding
// upcoming.
func (u *User) BookingsLeft(upcoming int) int { return max(u.BookingLimit-upcoming, 0) }
