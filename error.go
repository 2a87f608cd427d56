package booksmeta

import (
	"errors"
	"net/http"
)

// Error is a refusal by a rule: the action was not done, and Message says
// in Russian what to do instead. Every rule package (booking, schedule,
// accounts, enrol) refuses with it, so a transport handles one type: the API
// answers {"error": Code, "message": Message, "field": Field}, a page shows
// Message next to Field.
//
// It lives here, not in a package of its own, because the codes are part of
// the domain's vocabulary (SPEC §5 names them) and every rule package
// already imports this one.
type Error struct {
	Code    string
	Field   string // the input the refusal is about ("" when none)
	Message string
	// Count is how many things stand in the way, when that helps the
	// caller decide (live bookings on a slot; the API's active_bookings).
	Count int
}

func (e *Error) Error() string { return e.Message }

// Refuse returns a refusal.
func Refuse(code, field, msg string) *Error { return &Error{Code: code, Field: field, Message: msg} }

// AsError returns the refusal inside err, or nil when err is not one.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ErrorCode is the refusal code of err, "" when err is not a refusal.
func ErrorCode(err error) string {
	if e := AsError(err); e != nil {
		return e.Code
	}
	return ""
}

// Refusal codes. The API sends them as "error" (SPEC §5): they are a
// contract with clients and never change.
const (
	// Input and records, any rule.
	CodeInvalid   = "invalid"   // a value is not acceptable; Field names it
	CodeNotFound  = "not_found" // the record does not exist (or is not the caller's)
	CodeForbidden = "forbidden" // the actor may not do this
	CodeConflict  = "conflict"  // the change clashes with what is stored (a taken email, the last super-admin)
	CodeBusy      = "busy"      // try again shortly

	// Booking (SPEC §6).
	CodeSlotFull      = "slot_full"
	CodeLimitReached  = "limit_reached"
	CodeAlreadyBooked = "already_booked"
	CodeSlotInPast    = "slot_in_past"
	CodeNotPaid       = "not_paid"
	CodeInactive      = "inactive"
	CodeTooLate       = "too_late"
	CodeNotOpen       = "access_not_open"
	CodeNotActive     = "not_active"
	CodeMaintenance   = "maintenance"
	CodeHoursUsedUp   = "hours_used_up"  // SPEC §8: the purchases' hours are spent or held
	CodeAccessEnded   = "access_ended"   // SPEC §8: the slot ends after the purchases' access
	CodeAccessPending = "access_pending" // SPEC §7: the window is open, the grant has not succeeded yet
	CodeTooFarAhead   = "too_far_ahead"  // the slot is beyond max_advance_days

	// Slot changes.
	CodeSlotExists    = "slot_exists"           // a live slot already starts then
	CodeSlotDeleted   = "slot_deleted"          // a deleted slot starts then (moving onto it)
	CodeSlotOverlap   = "slot_overlap"          // the time overlaps another live slot
	CodeSlotBooked    = "slot_has_bookings"     // bookings stand in the way (move, delete, deactivate)
	CodeCapacityBelow = "capacity_below_booked" // the new capacity is below the places taken

	// Webhook events: the event cannot be applied until someone fixes the
	// data in GetCourse or the settings; retrying alone cannot help.
	CodeEventUnusable = "event_unusable"
)

// httpStatus is the one table from refusal codes to HTTP statuses, for the
// API and the pages alike.
var httpStatus = map[string]int{
	CodeInvalid:   http.StatusUnprocessableEntity,
	CodeNotFound:  http.StatusNotFound,
	CodeForbidden: http.StatusForbidden,
	CodeConflict:  http.StatusConflict,
	CodeBusy:      http.StatusTooManyRequests,

	CodeSlotFull:      http.StatusConflict,
	CodeLimitReached:  http.StatusConflict,
	CodeAlreadyBooked: http.StatusConflict,
	CodeSlotInPast:    http.StatusConflict,
	CodeNotPaid:       http.StatusConflict,
	CodeInactive:      http.StatusConflict,
	CodeTooLate:       http.StatusConflict,
	CodeNotOpen:       http.StatusForbidden,
	CodeNotActive:     http.StatusConflict,
	CodeMaintenance:   http.StatusConflict,
	CodeHoursUsedUp:   http.StatusConflict,
	CodeAccessEnded:   http.StatusConflict,
	CodeAccessPending: http.StatusConflict,
	CodeTooFarAhead:   http.StatusConflict,

	CodeSlotExists:    http.StatusConflict,
	CodeSlotDeleted:   http.StatusConflict,
	CodeSlotOverlap:   http.StatusConflict,
	CodeSlotBooked:    http.StatusConflict,
	CodeCapacityBelow: http.StatusConflict,
}

// HTTPStatus is the status a refusal is answered with over HTTP. A code
// missing from the table is a refusal of a rule all the same: 409.
func (e *Error) HTTPStatus() int {
	if st, ok := httpStatus[e.Code]; ok {
		return st
	}
	return http.StatusConflict
}
