package getcourse

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Group is one user group of the account.
type Group struct {
	ID          int64
	Name        string
	LastAddedAt string
}

// Groups lists the account's groups. It is the cheapest Export API request
// that proves the account, the key and the plan, so the connection test uses
// it. Whether GetCourse counts it against the export allowance is not
// documented; it is metered here, because under-counting costs a two-hour
// lockout while over-counting costs one request.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	var out []Group
	err := c.do(ctx, request{op: "groups", method: http.MethodGet, path: "/account/groups", metered: true},
		func(env *envelope) (string, *Error) {
			var items []struct {
				ID          flexInt    `json:"id"`
				Name        flexString `json:"name"`
				LastAddedAt flexString `json:"last_added_at"`
			}
			if len(env.Info) == 0 || json.Unmarshal(env.Info, &items) != nil {
				return "", &Error{Kind: KindBadResponse, Err: errors.New("no group list in answer")}
			}
			out = make([]Group, len(items))
			for i, it := range items {
				out[i] = Group{ID: int64(it.ID), Name: string(it.Name), LastAddedAt: string(it.LastAddedAt)}
			}
			return "Список групп получен: " + strconv.Itoa(len(out)) + ".", nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Verdict is the connection test's answer for people.
type Verdict struct {
	OK      bool
	Kind    Kind   // "" when OK
	Message string // Russian
	Groups  int
}

// TestConnection checks account, key and plan with GET {base}/account/groups.
//
// A key created "read only" passes this test: reading is all it proves. A
// read-only key is reported when GetCourse refuses the request for lack of
// rights, and otherwise surfaces as KindReadOnly on the first import.
func (c *Client) TestConnection(ctx context.Context) Verdict {
	groups, err := c.Groups(ctx)
	if err != nil {
		return Verdict{Kind: KindOf(err), Message: Russian(err)}
	}
	return Verdict{
		OK:      true,
		Groups:  len(groups),
		Message: "Подключение к GetCourse работает: аккаунт найден, ключ принят. Групп в аккаунте: " + strconv.Itoa(len(groups)) + ".",
	}
}
