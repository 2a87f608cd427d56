package booksmeta_test

import (
	"booksmeta"

	"fmt"
	"testing"
)

// The codes and statuses are the API's contract (SPEC §5): a change here
// breaks clients.
func TestRefusalStatuses(t *testing.T) {
	for code, want := range map[string]int{
		"slot_full": 409, "limit_reached": 409, "already_booked": 409, "slot_in_past": 409, "not_paid": 409,
		"inactive": 409, "too_late": 409, "not_active": 409, "maintenance": 409, "access_not_open": 403,
		"not_found": 404, "invalid": 422, "forbidden": 403, "conflict": 409, "busy": 429,
		"slot_exists": 409, "slot_deleted": 409, "slot_overlap": 409, "slot_has_bookings": 409, "capacity_below_booked": 409,
	} {
		if got := booksmeta.Refuse(code, "", "").HTTPStatus(); got != want {
			t.Errorf("%s: status %d, want %d", code, got, want)
		}
	}
}

func TestRefusalThroughWrapping(t *testing.T) {
	err := fmt.Errorf("book: %w", booksmeta.Refuse(booksmeta.CodeSlotFull, "", "Мест нет."))
	if e := booksmeta.AsError(err); e == nil || e.Message != "Мест нет." || booksmeta.ErrorCode(err) != booksmeta.CodeSlotFull {
		t.Fatalf("refusal lost in wrapping: %v", e)
	}
	if booksmeta.AsError(fmt.Errorf("plain")) != nil || booksmeta.ErrorCode(nil) != "" {
		t.Fatal("a plain error is not a refusal")
	}
}
