package enrol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"booksmeta"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
	"booksmeta/internal/tariff"
)

// Change is what applying the current tariffs to existing purchases does
// to one student.
type Change struct {
	UserID        int64
	Email         string
	Before, After booksmeta.Entitlement
	Deals         int // purchases whose grant changes
}

// LosesAccess reports whether the student would have no paid access left.
func (c Change) LosesAccess() bool { return c.Before.Access && !c.After.Access }

// GainsAccess reports whether the student would get paid access.
func (c Change) GainsAccess() bool { return !c.Before.Access && c.After.Access }

// SettingReminderDays is how many days before a purchase's access ends the
// student is reminded (SPEC §8); 0 turns the reminder off.
const SettingReminderDays = "access_end_reminder_days"

// DefineSettings registers the tariff settings with their defaults.
func DefineSettings(s *settings.Service) {
	s.Define(settings.Def{Key: SettingReminderDays, Type: settings.Number, Default: "7", Min: 0, Max: 365,
		Reason: "За сколько дней до конца доступа по тарифу напомнить ученику — целое число от 0 до 365 (0 — не напоминать), обычно 7"})
}

// JobAccess is the periodic job that ends expired access and sends the
// reminders.
const JobAccess = "tariff_access"

// HandleAccessJob ends what expired and reminds those whose access ends
// soon; it runs every few minutes, so access ends on time.
func (s *Service) HandleAccessJob(ctx context.Context, st *store.Store, set *settings.Service) error {
	if _, err := s.EndExpired(ctx, st); err != nil {
		return err
	}
	days, err := set.Int(ctx, SettingReminderDays)
	if err != nil {
		return err
	}
	_, err = s.RemindEnding(ctx, st, days)
	return err
}

// errDryRun rolls a recompute back after computing it: the dry run is the
// same code as the real one, so what it shows is what applying does.
var errDryRun = errors.New("dry run")

// Recompute applies the current tariff rules to every purchase GetCourse
// reports paid, as if each were paid again on its own date, and returns
// what changes per student; with apply false nothing is written. A student
// who loses all access is told and their future bookings are cancelled, as
// when access ends.
func (s *Service) Recompute(ctx context.Context, st *store.Store, apply bool) ([]Change, error) {
	var changes []Change
	err := st.InTx(ctx, func(tx *store.Tx) error {
		changes = nil
		rules, err := tx.OfferRules(ctx)
		if err != nil {
			return err
		}
		deals, err := tx.PayedDeals(ctx)
		if err != nil {
			return err
		}
		now := tx.Now()
		byUser := map[int64][]*booksmeta.Deal{}
		var order []int64
		for _, d := range deals {
			if _, ok := byUser[d.UserID]; !ok {
				order = append(order, d.UserID)
			}
			byUser[d.UserID] = append(byUser[d.UserID], d)
		}
		for _, uid := range order {
			u, err := tx.UserByID(ctx, uid)
			if err != nil {
				return err
			}
			if u.Role != booksmeta.RoleStudent {
				continue
			}
			c := Change{UserID: uid, Email: u.Email}
			var before, after []booksmeta.Grant
			for _, d := range byUser[uid] {
				if d.Paid {
					before = append(before, grantOf(d))
				}
				paidAt := d.PaidAt
				if paidAt.IsZero() {
					paidAt = d.UpdatedAt
				}
				g := tariff.Match(rules, purchaseOf(d, paidAt))
				paid := g.Access && (g.Until.IsZero() || g.Until.After(now))
				if paid {
					after = append(after, g)
				}
				if paid != d.Paid || g.Limit != d.GrantLimit || g.Hours != d.GrantHours || !g.Until.Equal(d.GrantUntil) {
					c.Deals++
					d.Paid, d.GrantLimit, d.GrantHours, d.GrantUntil, d.GrantNote = paid, g.Limit, g.Hours, g.Until, g.Note
					if d.PaidAt.IsZero() {
						d.PaidAt = paidAt
					}
					if err := tx.SaveDeal(ctx, d); err != nil {
						return err
					}
				}
			}
			if c.Deals == 0 {
				continue
			}
			c.Before, c.After = tariff.Combine(before), tariff.Combine(after)
			c.Before.Access = c.Before.Access || u.Paid
			if err := s.settle(ctx, tx, u, c.After.Access, "Тарифы школы изменились: по вашим покупкам доступа к серверу больше нет."); err != nil {
				return err
			}
			changes = append(changes, c)
		}
		if !apply {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return changes, err
}

// EndExpired ends access whose purchases' days ran out: such deals stop
// giving access, and a student left with none is told, their future
// bookings cancelled (SPEC §8). It runs as a periodic job.
func (s *Service) EndExpired(ctx context.Context, st *store.Store) (int, error) {
	ended := 0
	err := st.InTx(ctx, func(tx *store.Tx) error {
		deals, err := tx.ExpiredGrants(ctx)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		for _, d := range deals {
			d.Paid = false
			if err := tx.SaveDeal(ctx, d); err != nil {
				return err
			}
			seen[d.UserID] = true
		}
		for uid := range seen {
			u, err := tx.UserByID(ctx, uid)
			if err != nil {
				return err
			}
			n, err := tx.CountPaidDeals(ctx, uid, "")
			if err != nil {
				return err
			}
			if err := s.settle(ctx, tx, u, n > 0, "Срок доступа к серверу по вашей покупке закончился."); err != nil {
				return err
			}
			if n == 0 {
				ended++
			}
		}
		return nil
	})
	return ended, err
}

// settle brings a student's paid flag and limit in line with their
// purchases after those changed outside a payment or a refund: a student
// left without access is told why and their future bookings are
// cancelled; one who gained it gets the payment's welcome.
func (s *Service) settle(ctx context.Context, tx *store.Tx, u *booksmeta.User, access bool, why string) error {
	if u.Role != booksmeta.RoleStudent {
		return nil
	}
	if access {
		if err := s.applyLimit(ctx, tx, u); err != nil {
			return err
		}
		if !u.Paid {
			_, err := s.grant(ctx, tx, Event{}, u, false)
			return err
		}
		return tx.UpdateUser(ctx, u)
	}
	if !u.Paid {
		return nil
	}
	data, _ := json.Marshal(map[string]string{"first_name": u.FirstName, "reason": why})
	_, err := takeAccess(ctx, tx, u, closing{kind: "access_ended", title: "Доступ к серверу закончился",
		body: why + " Чтобы продолжить, оформите новую покупку в школе.",
		data: string(data), dedupe: fmt.Sprintf("access_ended:%d:%d", u.ID, tx.Now().Unix()/86400), reason: "Доступ закончился"})
	return err
}

// grantOf is what a deal gives now.
func grantOf(d *booksmeta.Deal) booksmeta.Grant {
	return booksmeta.Grant{Access: d.Paid, Limit: d.GrantLimit, Hours: d.GrantHours, Until: d.GrantUntil, Note: d.GrantNote}
}

// RemindEnding queues, once per student and end date, a mail to students
// whose paid access ends within days (SPEC §8, setting
// access_end_reminder_days). It runs as a periodic job.
func (s *Service) RemindEnding(ctx context.Context, st *store.Store, days int) (int, error) {
	if days <= 0 {
		return 0, nil
	}
	queued := 0
	err := st.InTx(ctx, func(tx *store.Tx) error {
		now := tx.Now()
		ids, err := tx.UsersWithGrantsEndingBy(ctx, now.AddDate(0, 0, days))
		if err != nil {
			return err
		}
		for _, uid := range ids {
			grants, err := tx.PaidGrants(ctx, uid)
			if err != nil {
				return err
			}
			e := tariff.Combine(grants)
			if !e.Access || e.Until.IsZero() || !e.Until.After(now) {
				continue
			}
			u, err := tx.UserByID(ctx, uid)
			if err != nil {
				return err
			}
			data, _ := json.Marshal(map[string]string{"first_name": u.FirstName, "until": e.Until.UTC().Format(time.RFC3339)})
			ok, err := tx.QueueMail(ctx, &store.OutboxMail{Kind: "access_ending", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
				Data: string(data), DedupeKey: fmt.Sprintf("access_ending:%d:%d", u.ID, e.Until.Unix())})
			if err != nil {
				return err
			}
			if ok {
				queued++
			}
		}
		return nil
	})
	return queued, err
}
