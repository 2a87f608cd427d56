package booksmeta

import "time"

// Slot is an hour (or other length) of server time. ServerLogin and
// ServerPassword are stored sealed by package secretbox.
type Slot struct {
	ID             int64
	StartsAt       time.Time
	EndsAt         time.Time
	Capacity       int
	Booked         int
	Note           string
	Active         bool
	ServerLogin    string
	ServerPassword string
	Source         string
	DeletedAt      time.Time
}

// Free is how many places are left.
func (s *Slot) Free() int { return max(s.Capacity-s.Booked, 0) }

// Started reports whether the slot has begun by now: it can no longer be
// booked, created or moved.
func (s *Slot) Started(now time.Time) bool { return !s.StartsAt.After(now) }

// Booking statuses.
const (
	BookingActive    = "active"
	BookingCancelled = "cancelled"
	BookingFinished  = "finished"
)

// Booking is a booking with its slot's times.
type Booking struct {
	ID           int64
	SlotID       int64
	UserID       int64
	Status       string
	CreatedAt    time.Time
	CancelledAt  time.Time
	CancelledBy  int64
	CancelReason string
	FinishedAt   time.Time
	StartsAt     time.Time
	EndsAt       time.Time
	// Filled by the admin list only.
	UserEmail string
	UserName  string
}
