package settings

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"booksmeta/internal/config"
)

// Type is the kind of value a setting holds. It decides how Put checks a
// value, how the typed getters read it and which input the panel shows.
type Type int

const (
	// Text is free text, checked only by the definition's Check.
	Text Type = iota
	// Number is a whole number from Min to Max.
	Number
	// Bool is yes or no; Put stores "1" or "0" (see ParseBool for what
	// people may type).
	Bool
)

// Def declares one setting: everything that decides what it may hold is
// here, so that Put refuses a bad value whoever calls it (API, pages, CLI).
type Def struct {
	Key     string
	Type    Type
	Default string // used when nothing is saved, or an empty value is
	Secret  bool   // stored encrypted, shown masked
	// BoundTo names the settings that say where a secret is sent; see
	// BindSecret.
	BoundTo []string
	// Min and Max bound a Number, both inclusive.
	Min, Max int
	// Reason is the Russian refusal of a value the Type does not allow
	// (not a number, out of Min..Max, not yes or no); it should say what
	// to write instead. A generic text is used when it is empty.
	Reason string
	// Required refuses an empty value (with Reason) instead of letting it
	// mean "the default".
	Required bool
	// Multiline lets a Text hold line breaks (instructions, a message);
	// any other Text is one line, because it ends up in a mail header, an
	// address or a login, where a line break is an injection.
	Multiline bool
	// MaxLen bounds a Text in characters; 0 means 500 for one line and
	// 4000 for several.
	MaxLen int
	// Check refuses, in Russian, a non-empty value the Type allows but the
	// setting does not (a malformed address, an unknown time zone).
	Check func(v string) error

	// envVar is the SPEC §2 variable that also sets it; only this
	// package's own keys have one, read from the loaded Config.
	envVar     string
	fromConfig func(config.Config) string
}

// Define declares a setting; a package defines the keys it owns before the
// Service is used. Defining a key again replaces its definition and keeps
// its place in Keys.
func (s *Service) Define(d Def) {
	if d.fromConfig == nil {
		def := d.Default
		d.fromConfig = func(config.Config) string { return def }
	}
	if _, ok := s.defs[d.Key]; !ok {
		s.order = append(s.order, d.Key)
	}
	s.defs[d.Key] = d
	if len(d.BoundTo) > 0 {
		s.BindSecret(d.Key, d.BoundTo...)
	}
}

// Relate adds a check of several settings together (the working day must
// still hold a slot), run by Put after every value passed its own
// definition and only when the save touches one of keys. pending holds the
// values being saved. check returns a refusal made with Refuse, or any
// other error when it could not decide (a failed read).
func (s *Service) Relate(check func(ctx context.Context, pending map[string]string) error, keys ...string) {
	s.relations = append(s.relations, relation{keys: keys, check: check})
}

type relation struct {
	keys  []string
	check func(ctx context.Context, pending map[string]string) error
}

// Refuse is a refusal of key's value with a Russian message, for a Relate
// check: Put returns it as is and Refusal reads it.
func Refuse(key, message string) error { return invalidValue{key, message} }

// Lookup returns a setting's definition.
func (s *Service) Lookup(key string) (Def, bool) {
	d, ok := s.defs[key]
	return d, ok
}

// Validate checks one value against its definition, as Put does, and
// returns the value as Put would store it (trimmed; a bool as "1" or "0").
// The error is a refusal (Refusal reads it) or ErrUnknownKey.
func (s *Service) Validate(key, value string) (string, error) {
	d, ok := s.defs[key]
	if !ok {
		return "", unknownKey(key)
	}
	v, msg := d.check(value)
	if msg != "" {
		return "", invalidValue{key, msg}
	}
	return v, nil
}

// check returns the value to store, or the Russian reason it is refused.
func (d Def) check(value string) (string, string) {
	v := strings.TrimSpace(value)
	if v == "" {
		if d.Required {
			return "", d.reason("Заполните это поле.")
		}
		return "", ""
	}
	switch d.Type {
	case Text:
		if msg := d.textRule(v); msg != "" {
			return "", msg
		}
	case Number:
		n, err := strconv.Atoi(v)
		if err != nil || n < d.Min || n > d.Max {
			return "", d.reason("Нужно целое число от " + strconv.Itoa(d.Min) + " до " + strconv.Itoa(d.Max) + ".")
		}
		v = strconv.Itoa(n)
	case Bool:
		b, ok := ParseBool(v)
		if !ok {
			return "", d.reason(boolReason)
		}
		v = "0"
		if b {
			v = "1"
		}
	}
	if d.Check != nil {
		if err := d.Check(v); err != nil {
			return "", err.Error()
		}
	}
	return v, ""
}

func (d Def) textRule(v string) string {
	max := d.MaxLen
	if max == 0 {
		max = 500
		if d.Multiline {
			max = 4000
		}
	}
	if n := utf8.RuneCountInString(v); n > max {
		return "Слишком длинное значение: " + strconv.Itoa(n) + " знаков, можно не больше " + strconv.Itoa(max) + "."
	}
	for _, r := range v {
		if r == '\n' || r == '\r' {
			if d.Multiline {
				continue
			}
			return "Значение должно быть в одну строку: уберите переносы строк."
		}
		if unicode.IsControl(r) && r != '\t' {
			return "В значении есть невидимый служебный символ: наберите его заново, не копируя."
		}
	}
	return ""
}

func (d Def) reason(generic string) string {
	if d.Reason != "" {
		return d.Reason
	}
	return generic
}

const boolReason = "Напишите «да» или «нет» (подходят также 1/0, вкл/выкл, on/off, true/false)."

// ParseBool reads yes or no the way people type it in the panel, a .env
// file or the API: 1, да, вкл, включено (включен, включён), on, true, yes
// and 0, нет, выкл, выключено (выключен), off, false, no, in any case. Anything else is not an
// answer: a setting that decides whether students may book must not guess.
func ParseBool(v string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "да", "вкл", "включено", "включен", "включён", "on", "true", "yes":
		return true, true
	case "0", "нет", "выкл", "выключено", "выключен", "off", "false", "no":
		return false, true
	}
	return false, false
}

// ErrUnknownKey is returned for a key that is not a setting.
var ErrUnknownKey = errors.New("unknown setting")

func unknownKey(key string) error { return &unknown{key} }

type unknown struct{ key string }

func (e *unknown) Error() string        { return ErrUnknownKey.Error() + ": " + e.key }
func (e *unknown) Is(target error) bool { return target == ErrUnknownKey }

// ErrInvalidValue is matched (errors.Is) by every refusal of a value in Put;
// the error's text names the setting and says, in Russian, what is wrong.
var ErrInvalidValue = errors.New("недопустимое значение настройки")

type invalidValue struct{ key, msg string }

func (e invalidValue) Error() string        { return e.key + ": " + e.msg }
func (e invalidValue) Is(target error) bool { return target == ErrInvalidValue }

// Refusal returns the setting and the Russian reason of a value Put
// refused (the first, when several were), for a form to show beside the
// field.
func Refusal(err error) (key, message string, ok bool) {
	var iv invalidValue
	if errors.As(err, &iv) {
		return iv.key, iv.msg, true
	}
	return "", "", false
}

// Refusals returns every refused setting with its Russian reason, so that a
// form marks all the fields at once.
func Refusals(err error) map[string]string {
	out := map[string]string{}
	var walk func(error)
	walk = func(err error) {
		if iv, ok := err.(invalidValue); ok {
			out[iv.key] = iv.msg
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	if err != nil {
		walk(err)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
