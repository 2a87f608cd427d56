package getcourse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Bool reads the booleans GetCourse sends: true, "true", 1, "1" (and their
// false forms). The help pages document "true"/"false" strings; the live API
// sends JSON booleans in some answers and numbers in others, so a plain bool
// would read a successful import as a failure or refuse to decode at all.
type Bool bool

func (b *Bool) UnmarshalJSON(data []byte) error {
	v, ok := parseFlag(data)
	if !ok {
		return fmt.Errorf("getcourse: %s is not a boolean", truncate(string(data), 40))
	}
	*b = Bool(v)
	return nil
}

func (b Bool) MarshalJSON() ([]byte, error) { return json.Marshal(bool(b)) }

// parseFlag understands every boolean spelling seen from GetCourse.
func parseFlag(data []byte) (value, ok bool) {
	s := strings.TrimSpace(string(data))
	if s == "null" {
		return false, true
	}
	if strings.HasPrefix(s, `"`) {
		var text string
		if err := json.Unmarshal([]byte(s), &text); err != nil {
			return false, false
		}
		s = text
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "y", "on", "да":
		return true, true
	case "false", "0", "", "no", "n", "off", "нет":
		return false, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f != 0, true
	}
	return false, false
}

// flexInt reads ids that arrive as numbers or as strings.
type flexInt int64

func (n *flexInt) UnmarshalJSON(data []byte) error {
	s := strings.TrimSpace(string(data))
	if s == "null" {
		*n = 0
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal([]byte(s), &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*n = 0
			return nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return fmt.Errorf("getcourse: %s is not a number", truncate(s, 40))
		}
		v = int64(f)
	}
	*n = flexInt(v)
	return nil
}

// flexString reads text fields that sometimes arrive as numbers (deal_number).
type flexString string

func (t *flexString) UnmarshalJSON(data []byte) error {
	*t = flexString(cellText(data))
	return nil
}

// errorField is the top-level and result-level "error": a flag in the export
// envelope and in documented answers, a message string in some import answers.
type errorField struct {
	flag bool
	text string
}

func (f *errorField) UnmarshalJSON(data []byte) error {
	if v, ok := parseFlag(data); ok {
		f.flag = v
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		f.flag, f.text = true, strings.TrimSpace(s)
		return nil
	}
	// An object or array under "error": it is an error, whatever it says.
	f.flag, f.text = true, truncate(string(bytes.TrimSpace(data)), 300)
	return nil
}

// envelope is the common shape of every answer.
type envelope struct {
	Success      *Bool           `json:"success"`
	Action       string          `json:"action"`
	Error        errorField      `json:"error"`
	ErrorMessage flexString      `json:"error_message"`
	ErrorCode    flexInt         `json:"error_code"`
	Info         json.RawMessage `json:"info"`
	Result       json.RawMessage `json:"result"`
}

// failure reports an envelope-level error, or nil if the call succeeded.
func (env *envelope) failure(fallback Kind) *Error {
	msg := strings.TrimSpace(string(env.ErrorMessage))
	if msg == "" {
		msg = env.Error.text
	}
	failed := (env.Success != nil && !bool(*env.Success)) || env.ErrorCode != 0 || env.Error.flag
	if !failed {
		return nil
	}
	code := int(env.ErrorCode)
	return &Error{Kind: kindFor(code, msg, fallback), Code: code, APIMessage: msg}
}

// cellText turns any JSON value into the text a person would read in the
// GetCourse table: strings as they are, numbers as written, null as "".
func cellText(data []byte) string {
	s := bytes.TrimSpace(data)
	if len(s) == 0 || string(s) == "null" {
		return ""
	}
	if s[0] == '"' {
		var text string
		if err := json.Unmarshal(s, &text); err == nil {
			return text
		}
	}
	return string(s)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
