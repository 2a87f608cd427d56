package store

import (
	"context"
	"database/sql"
	"strconv"
)

// Setting is one stored panel value. Secret values are stored encrypted by
// the caller (package settings); the store never sees plaintext secrets.
type Setting struct {
	Key    string
	Value  string
	Secret bool
}

// Settings reads every stored setting.
func (s *Store) Settings(ctx context.Context) (map[string]Setting, error) {
	rows, err := s.read().QueryContext(ctx, "SELECT key, value, secret FROM settings")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Setting{}
	for rows.Next() {
		var st Setting
		if err := rows.Scan(&st.Key, &st.Value, &st.Secret); err != nil {
			return nil, err
		}
		out[st.Key] = st
	}
	return out, rows.Err()
}

// Setting reads one stored setting; ok is false when it is not stored.
func (s *Store) Setting(ctx context.Context, key string) (st Setting, ok bool, err error) {
	err = s.read().QueryRowContext(ctx, "SELECT key, value, secret FROM settings WHERE key = $1", key).Scan(&st.Key, &st.Value, &st.Secret)
	if err == sql.ErrNoRows {
		return st, false, nil
	}
	return st, err == nil, err
}

// PutSetting stores (or replaces) one setting.
func (t *Tx) PutSetting(ctx context.Context, st Setting, by int64) error {
	var who any
	if by != 0 {
		who = by
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO settings (key, value, secret, updated_at, updated_by) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, secret = excluded.secret,
		updated_at = excluded.updated_at, updated_by = excluded.updated_by`, st.Key, st.Value, st.Secret, ms(t.now), who)
	return err
}

// DeleteSetting removes a stored setting so the env/.env/default applies again.
func (t *Tx) DeleteSetting(ctx context.Context, key string) error {
	_, err := t.q.ExecContext(ctx, "DELETE FROM settings WHERE key = $1", key)
	return err
}

// heartbeatKey is the row health checks write.
const heartbeatKey = "_heartbeat"

// Heartbeat writes and commits one tiny row: a ping answers even when the
// database cannot be written (a read-only file, a lock held elsewhere, a full
// disk), and then the service is not healthy.
func (s *Store) Heartbeat(ctx context.Context) error {
	return s.InTx(ctx, func(tx *Tx) error {
		return tx.PutSetting(ctx, Setting{Key: heartbeatKey, Value: strconv.FormatInt(ms(tx.now), 10)}, 0)
	})
}
