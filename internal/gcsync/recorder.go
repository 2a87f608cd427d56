package gcsync

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"booksmeta/internal/getcourse"
	"booksmeta/internal/store"
)

// recorder writes every outbound call to getcourse_calls.
type recorder struct {
	store   *store.Store
	log     *slog.Logger
	account string
	key     string
	extra   []string // other secrets of the request, removed like the key
}

// RecordCall stores the call. The client already removes the key; it is
// removed again here because this row is kept for months and shown in the
// panel, and a leak through a future client change would be silent.
func (r *recorder) RecordCall(ctx context.Context, c getcourse.Call) {
	row := &store.GetCourseCall{
		Account: r.account, Op: c.Op, Method: c.Method, URL: r.scrub(c.URL), StartedAt: c.Started,
		Duration: c.Duration, HTTPStatus: c.HTTPStatus, OK: c.OK, ErrorKind: string(c.ErrorKind),
		ErrorCode: c.ErrorCode, Message: r.scrub(c.Message), Detail: r.scrub(c.Detail),
	}
	err := r.store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertGetCourseCall(ctx, row) })
	if err != nil {
		r.log.Error("record getcourse call", "op", c.Op, "err", err)
	}
}

func (r *recorder) scrub(s string) string {
	for _, key := range append([]string{r.key}, r.extra...) {
		k := strings.TrimSpace(key)
		// A very short "key" would blank out ordinary words; such a key is a
		// typo that GetCourse rejects anyway.
		if len(k) < 4 || s == "" {
			continue
		}
		for _, v := range []string{k, url.QueryEscape(k), url.PathEscape(k)} {
			s = strings.ReplaceAll(s, v, "[key]")
		}
	}
	return s
}
