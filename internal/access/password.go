package access

import (
	"crypto/rand"
	"math/big"
	"strings"
)

// Passwords are 14 characters: Windows' `net user NAME PASSWORD` asks a Y/N
// question (and so hangs or fails over SSH) for longer ones. Letters and
// digits only, so no shell (cmd, PowerShell, sh) needs them quoted, and
// without look-alikes (0/O, 1/l/I), because students type them. Three
// classes always present meets Windows' default complexity policy (three
// of four classes, at least 7 characters); 14 of 55 symbols is 80 bits.
const (
	passwordLength = 14
	upper          = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	lower          = "abcdefghijkmnopqrstuvwxyz"
	digits         = "23456789"
)

// NewPassword returns a fresh random password that does not contain login
// (Windows refuses a password containing the account name).
func NewPassword(login string) (string, error) {
	all := upper + lower + digits
	for {
		b := make([]byte, passwordLength)
		for i := range b {
			c, err := pick(all)
			if err != nil {
				return "", err
			}
			b[i] = c
		}
		p := string(b)
		if strings.ContainsAny(p, upper) && strings.ContainsAny(p, lower) && strings.ContainsAny(p, digits) &&
			(len(login) < 3 || !strings.Contains(strings.ToLower(p), strings.ToLower(login))) {
			return p, nil
		}
	}
}

func pick(set string) (byte, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
	if err != nil {
		return 0, err
	}
	return set[n.Int64()], nil
}
