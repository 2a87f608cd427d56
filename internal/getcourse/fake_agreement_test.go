package getcourse_test

import (
	"testing"

	"booksmeta/internal/getcourse"
	"booksmeta/internal/getcourse/getcoursetest"
)

// The fake keeps its own copy of the status labels (it may not import the
// client); this keeps the two from drifting apart.
func TestFakeUsesClientStatusLabels(t *testing.T) {
	for _, code := range []string{"new", "payed", "cancelled", "in_work", "payment_waiting", "part_payed", "waiting_for_return", "not_confirmed", "pending", "false"} {
		if getcoursetest.DealStatusLabel(code) != getcourse.DealStatusLabel(code) || getcourse.DealStatusLabel(code) == "" {
			t.Errorf("%s: fake %q, client %q", code, getcoursetest.DealStatusLabel(code), getcourse.DealStatusLabel(code))
		}
		if getcourse.DealStatusCode(getcoursetest.DealStatusLabel(code)) != code {
			t.Errorf("%s does not round-trip", code)
		}
	}
}
