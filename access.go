package booksmeta

import "time"

// Grant states (SPEC §7). A grant is pending until the provider opened
// access, granted while it is open, revoking once its booking stopped being
// current, and revoked when the provider confirmed it is closed. Only
// revoked is final: the reconciler works on every other row until it is.
const (
	GrantPending  = "pending"
	GrantGranted  = "granted"
	GrantRevoking = "revoking"
	GrantRevoked  = "revoked"
)

// AccessGrant is one opening of server access for a booking. Credentials are
// sealed by package secretbox; they are cleared at revoke.
type AccessGrant struct {
	ID        int64
	BookingID int64
	// Seq counts the grants of one booking: 0 first, 1 after a revoke and a
	// grant again (a refund reversed mid-slot).
	Seq          int
	UserID       int64
	SlotID       int64
	Provider     string // access_provider at the time of the grant; the revoke uses the same kind
	Login        string // the pool account, or empty
	State        string
	Credentials  string
	StartsAt     time.Time
	EndsAt       time.Time
	Attempts     int // failed attempts of the current action
	NextAt       time.Time
	LeaseUntil   time.Time
	LastError    string // Russian, for the admin
	AlertedAt    time.Time
	RevokeReason string // Russian: why access was taken back
	GrantedAt    time.Time
	RevokedAt    time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Filled by the admin list only.
	UserEmail string
}

// AccessAttempt is one grant or revoke call and its outcome.
type AccessAttempt struct {
	ID        int64
	GrantID   int64
	BookingID int64
	Action    string // grant, revoke
	OK        bool
	Message   string // Russian
	Duration  time.Duration
	At        time.Time
}
