package booksmeta

import (
	"strings"
	"time"
)

// How an offer rule recognises a purchase.
const (
	MatchOfferID   = "offer_id"   // an id in deal.offerIds / {object.offers}
	MatchOfferCode = "offer_code" // the guide's offer_code
	MatchTitle     = "title"      // a position title ({object.positions}, product_title)
)

// OfferRule is a school's decision about one GetCourse offer: whether a paid
// purchase of it gives access to the server, and how much (SPEC §8).
type OfferRule struct {
	ID           int64
	MatchKind    string
	MatchValue   string
	GrantsAccess bool
	BookingLimit int // upcoming bookings at once; 0: the student's own limit
	Hours        int // hours of server time; 0: no cap
	AccessDays   int // days of access from payment; 0: no end
	Note         string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Grant is what one paid purchase gives, fixed when it is applied.
type Grant struct {
	Access bool
	Limit  int       // 0: the student's own limit
	Hours  int       // 0: no cap
	Until  time.Time // zero: no end
	Note   string    // Russian: which rule gave it, or why nothing
}

// Entitlement is what all of a student's paid purchases give together.
type Entitlement struct {
	Access bool
	Limit  int       // the largest purchase's limit; 0: the student's own limit
	Hours  int       // hours bought in all; 0 with Capped false: no cap
	Capped bool      // some hours cap applies
	Until  time.Time // access ends; zero: no end
}

// PositionTitles splits a deal's positions text into titles: GetCourse
// lists several positions with commas or on separate lines.
func PositionTitles(positions string) []string {
	var out []string
	for _, t := range strings.FieldsFunc(positions, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
