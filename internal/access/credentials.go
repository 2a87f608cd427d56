package access

import (
	"encoding/json"
	"fmt"

	"booksmeta/internal/secretbox"
)

// sealedCredentials is how a grant's credentials are stored: one JSON
// document sealed by secretbox, so the password is never in the database in
// clear and one Open gives everything the student is shown.
type sealedCredentials struct {
	Host         string `json:"host,omitempty"`
	Login        string `json:"login,omitempty"`
	Password     string `json:"password,omitempty"`
	Instructions string `json:"instructions,omitempty"`
}

// SealCredentials seals c for storage.
func SealCredentials(box *secretbox.Box, c Credentials) (string, error) {
	b, err := json.Marshal(sealedCredentials(c))
	if err != nil {
		return "", err
	}
	return box.Seal(string(b)), nil
}

// OpenCredentials reads what SealCredentials stored; empty gives nothing.
func OpenCredentials(box *secretbox.Box, sealed string) (Credentials, error) {
	if sealed == "" {
		return Credentials{}, nil
	}
	plain, err := box.Open(sealed)
	if err != nil {
		return Credentials{}, err
	}
	var c sealedCredentials
	if err := json.Unmarshal([]byte(plain), &c); err != nil {
		return Credentials{}, fmt.Errorf("stored access credentials: %w", err)
	}
	return Credentials(c), nil
}
