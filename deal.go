package booksmeta

import "time"

// Deal is a GetCourse deal (an order) as last reported to us. Paid says
// whether this deal gives its owner access now; the rules of what changes it
// live in package enrol.
type Deal struct {
	ID              int64
	Key             string
	GetCourseDealID string
	DealNumber      string
	UserID          int64 // the owner; once set, events never change it
	Email           string
	GetCourseUserID string
	Status          string
	Paid            bool
	PaidAt          time.Time
	Cost            string
	PayedValue      string
	Currency        string
	OfferIDs        []string
	ProductTitle    string
	OfferCode       string
	LastEventID     int64
	// What this deal gives while Paid, fixed when its payment was applied
	// (package tariff): 0 limit is the student's own, 0 hours no cap, zero
	// GrantUntil no end.
	GrantLimit int
	GrantHours int
	GrantUntil time.Time
	GrantNote  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Notice is an in-app message on a student's pages.
type Notice struct {
	ID        int64
	UserID    int64
	Kind      string
	Title     string
	Body      string
	CreatedAt time.Time
	ReadAt    time.Time
}
