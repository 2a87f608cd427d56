package password

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashVerify(t *testing.T) {
	h := HashWith("correct horse", Params{Time: 1, Memory: 1024, Threads: 1})
	if !Verify(h, "correct horse") || Verify(h, "wrong horse") {
		t.Fatal("argon2id verify mismatch")
	}
	if Verify("", "") || Verify("5f4dcc3b5aa765d61d8327deb882cf99", "password") {
		t.Fatal("empty and MD5 hashes must never verify")
	}
	b, _ := bcrypt.GenerateFromPassword([]byte("legacy-pass"), 4)
	php := "$2y$" + string(b[4:])
	if !Verify(php, "legacy-pass") || Verify(php, "nope") || !NeedsRehash(php) {
		t.Fatal("PHP bcrypt hash must verify and need rehash")
	}
}

func TestValidateAndTokens(t *testing.T) {
	if Validate("short") == nil || Validate("long enough") != nil {
		t.Fatal("length rule")
	}
	tok, hash := NewToken()
	if len(tok) < 40 || HashToken(tok) != hash || hash == tok {
		t.Fatal("token hash")
	}
}
