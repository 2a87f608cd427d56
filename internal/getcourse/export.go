package getcourse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ExportKind is what an export collects.
type ExportKind string

const (
	ExportUsers    ExportKind = "users"
	ExportDeals    ExportKind = "deals"
	ExportPayments ExportKind = "payments"
)

// StartExport asks GetCourse to build an export and returns its id. filters
// use GetCourse's names, e.g. created_at[from]=2024-01-31, status=payed.
// GetCourse refuses a filterless export, so one is refused here too without
// spending a request of the budget.
func (c *Client) StartExport(ctx context.Context, what ExportKind, filters url.Values) (int64, error) {
	op := "export." + string(what)
	switch what {
	case ExportUsers, ExportDeals, ExportPayments:
	default:
		return 0, &Error{Kind: KindInternal, Op: op, Err: fmt.Errorf("unknown export kind %q", what)}
	}
	if len(filters) == 0 {
		return 0, &Error{Kind: KindNoFilter, Op: op, Err: errors.New("no filter given")}
	}
	var id int64
	err := c.do(ctx, request{op: op, method: http.MethodGet, path: "/account/" + string(what), query: filters, metered: true},
		func(env *envelope) (string, *Error) {
			var info struct {
				ExportID flexInt `json:"export_id"`
			}
			if len(env.Info) == 0 || json.Unmarshal(env.Info, &info) != nil || info.ExportID <= 0 {
				return "", &Error{Kind: KindBadResponse, Err: errors.New("no export_id in answer")}
			}
			id = int64(info.ExportID)
			return "Выгрузка запущена, номер " + strconv.FormatInt(id, 10) + ".", nil
		})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// Export is a finished export: column titles and rows aligned to them. The
// column set depends on the account (custom fields are spliced in), so rows
// must be read by name, never by position.
type Export struct {
	Fields []string
	Items  [][]string
}

// ExportResult fetches an export. While GetCourse is still building it the
// error is KindNotReady, which is a state to wait out, not a failure.
func (c *Client) ExportResult(ctx context.Context, id int64) (*Export, error) {
	var out *Export
	err := c.do(ctx, request{op: "export.status", method: http.MethodGet, path: "/account/exports/" + strconv.FormatInt(id, 10), metered: true},
		func(env *envelope) (string, *Error) {
			ex, perr := decodeExport(env.Info)
			if perr != nil {
				return "", perr
			}
			out = ex
			return "Выгрузка " + strconv.FormatInt(id, 10) + " получена, строк: " + strconv.Itoa(len(ex.Items)) + ".", nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// decodeExport reads the info block of a ready export: column titles and
// rows of cells of any JSON type, turned into the text GetCourse shows.
func decodeExport(raw json.RawMessage) (*Export, *Error) {
	var info struct {
		Fields []json.RawMessage   `json:"fields"`
		Items  [][]json.RawMessage `json:"items"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &info) != nil || info.Fields == nil {
		return nil, &Error{Kind: KindBadResponse, Err: errors.New("no fields in export answer")}
	}
	ex := &Export{Fields: make([]string, len(info.Fields)), Items: make([][]string, len(info.Items))}
	for i, f := range info.Fields {
		ex.Fields[i] = cellText(f)
	}
	for i, row := range info.Items {
		cells := make([]string, len(row))
		for j, v := range row {
			cells[j] = cellText(v)
		}
		ex.Items[i] = cells
	}
	return ex, nil
}

// WaitExport waits poll, then asks for the export, until it is ready or ctx
// ends. It waits before the first request because an export that was just
// started is never ready, and each request costs budget. poll is clamped to
// the client's bounds (30–60 s by default). Any error other than "not ready"
// is returned as is; the export id stays valid, so a caller that stored it can
// pick the export up again later, even after a restart.
func (c *Client) WaitExport(ctx context.Context, id int64, poll time.Duration) (*Export, error) {
	poll = max(c.minPoll, min(poll, c.maxPoll))
	for {
		if err := c.sleep(ctx, poll); err != nil {
			return nil, &Error{Kind: contextKindOr(err, KindCanceled), Op: "export.status", Err: err}
		}
		ex, err := c.ExportResult(ctx, id)
		if errors.Is(err, KindNotReady) {
			continue
		}
		return ex, err
	}
}

func contextKindOr(err error, fallback Kind) Kind {
	if k := contextKind(err); k != "" {
		return k
	}
	return fallback
}

// columns indexes the titles of one export, shared by all its rows.
type columns struct {
	exact  map[string]int
	folded map[string]int
}

func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Row is one export row read by column title.
type Row struct {
	cols   *columns
	values []string
}

// Rows pairs every item with the column titles.
func (e *Export) Rows() []Row {
	cols := &columns{exact: map[string]int{}, folded: map[string]int{}}
	for i, f := range e.Fields {
		// The first of two equal titles wins: custom fields can repeat a
		// built-in title, and the built-in one comes first.
		if _, ok := cols.exact[f]; !ok {
			cols.exact[f] = i
		}
		if _, ok := cols.folded[fold(f)]; !ok {
			cols.folded[fold(f)] = i
		}
	}
	rows := make([]Row, len(e.Items))
	for i, item := range e.Items {
		rows[i] = Row{cols: cols, values: item}
	}
	return rows
}

// Lookup returns the cell under the title, matched exactly or, failing that,
// ignoring case and surrounding spaces ("email" finds "Email").
func (r Row) Lookup(name string) (string, bool) {
	if r.cols == nil {
		return "", false
	}
	i, ok := r.cols.exact[name]
	if !ok {
		i, ok = r.cols.folded[fold(name)]
	}
	if !ok {
		return "", false
	}
	if i >= len(r.values) {
		// A row shorter than the header reads as empty cells rather than a
		// panic; exports are large and one odd row must not stop a sync.
		return "", true
	}
	return strings.TrimSpace(r.values[i]), true
}

// Get is Lookup without the presence flag.
func (r Row) Get(name string) string {
	v, _ := r.Lookup(name)
	return v
}

// First returns the first non-empty cell among several titles, for columns
// GetCourse has named differently over time.
func (r Row) First(names ...string) string {
	for _, n := range names {
		if v := r.Get(n); v != "" {
			return v
		}
	}
	return ""
}
