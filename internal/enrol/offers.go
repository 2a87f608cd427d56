package enrol

import (
	"context"
	"errors"
	"strings"

	"booksmeta"
	"booksmeta/internal/store"
	"booksmeta/internal/tariff"
)

// SaveRule checks and stores a tariff rule (ID 0 adds one). A bad or
// duplicate rule is a RuleError saying what to change. Existing purchases
// keep what they gave until Recompute.
func (s *Service) SaveRule(ctx context.Context, st *store.Store, r *booksmeta.OfferRule) error {
	r.MatchValue = strings.TrimSpace(r.MatchValue)
	r.Note = strings.TrimSpace(r.Note)
	if err := tariff.Validate(*r); err != nil {
		return booksmeta.Refuse(booksmeta.CodeInvalid, "", err.Error())
	}
	err := st.InTx(ctx, func(tx *store.Tx) error { return tx.SaveOfferRule(ctx, r) })
	if errors.Is(err, store.ErrDuplicateRule) {
		return booksmeta.Refuse(booksmeta.CodeConflict, "", "Для этого предложения тариф уже есть: измените его, а не добавляйте второй.")
	}
	return err
}

// DeleteRule removes a tariff rule; purchases keep what it gave them.
func (s *Service) DeleteRule(ctx context.Context, st *store.Store, id int64) error {
	return st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteOfferRule(ctx, id) })
}
