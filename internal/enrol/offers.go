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
// duplicate rule is a *booksmeta.Error naming the field and saying what to
// change. Existing purchases keep what they gave until Recompute.
func (s *Service) SaveRule(ctx context.Context, st *store.Store, r *booksmeta.OfferRule) error {
	r.MatchValue = strings.TrimSpace(r.MatchValue)
	r.Note = strings.TrimSpace(r.Note)
	var fe *tariff.FieldError
	if err := tariff.Validate(*r); errors.As(err, &fe) {
		return booksmeta.Refuse(booksmeta.CodeInvalid, fe.Field, fe.Message+".")
	} else if err != nil {
		return err
	}
	err := st.InTx(ctx, func(tx *store.Tx) error { return tx.SaveOfferRule(ctx, r) })
	if errors.Is(err, store.ErrDuplicateRule) {
		return booksmeta.Refuse(booksmeta.CodeConflict, "match_value", "Для этого предложения тариф уже есть: измените его, а не добавляйте второй.")
	}
	return err
}

// DeleteRule removes a tariff rule; purchases keep what it gave them.
func (s *Service) DeleteRule(ctx context.Context, st *store.Store, id int64) error {
	return st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteOfferRule(ctx, id) })
}
