// Package secretbox encrypts secrets at rest (API key, webhook secret, SMTP
// and server passwords) with AES-256-GCM under the instance key.
package secretbox

import (
	"booksmeta/internal/ru"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const prefix = "v1:"

// ErrWrongKey means a value was encrypted under another key.
var ErrWrongKey = errors.New("сохранённый секрет не расшифровать этим ключом (BOOKSMETA_SECRET_KEY или файл secret.key сменили, или заменили папку данных?): верните прежний ключ или введите секрет заново")

// Box encrypts and decrypts with one key.
type Box struct{ aead cipher.AEAD }

// New derives a Box from key material: 64 hex characters are used as the
// 32-byte key itself; any other string is hashed, so a passphrase works too.
func New(material string) (*Box, error) {
	material = strings.TrimSpace(material)
	if material == "" {
		return nil, errors.New("ключ шифрования пуст (пустой файл secret.key?): верните файл ключа из резервной копии или задайте BOOKSMETA_SECRET_KEY")
	}
	key, err := hex.DecodeString(material)
	if err != nil || len(key) != 32 {
		sum := sha256.Sum256([]byte(material))
		key = sum[:]
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext; the empty string stays empty, so "not set" is visible without decrypting.
func (b *Box) Seal(plaintext string) string {
	if plaintext == "" {
		return ""
	}
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return prefix + base64.RawStdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, []byte(plaintext), nil))
}

// Open decrypts a value made by Seal.
func (b *Box) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	raw, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", errors.New("сохранённый секрет записан в незнакомом виде: введите его заново")
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", errors.New("сохранённый секрет повреждён: введите его заново")
	}
	n := b.aead.NonceSize()
	pt, err := b.aead.Open(nil, data[:n], data[n:], nil)
	if err != nil {
		return "", ErrWrongKey
	}
	return string(pt), nil
}

// LoadOrCreateKeyFile returns the key material in path, creating the file
// with a fresh random key (mode 0600) when it does not exist.
func LoadOrCreateKeyFile(path string) (material string, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, keyFileError("не удалось прочитать файл ключа "+path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", false, keyFileError("не удалось создать папку для файла ключа "+filepath.Dir(path), err)
	}
	k := make([]byte, 32)
	rand.Read(k)
	material = hex.EncodeToString(k)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first; use theirs.
		return LoadOrCreateKeyFile(path)
	}
	if err != nil {
		return "", false, keyFileError("не удалось создать файл ключа "+path, err)
	}
	if _, err := f.WriteString(material + "\n"); err != nil {
		f.Close()
		return "", false, keyFileError("не удалось записать файл ключа "+path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, keyFileError("не удалось записать файл ключа "+path, err)
	}
	return material, true, f.Close()
}

// keyFileError is ru.FileError, but says what a folder in the key file's
// place means.
func keyFileError(prefix string, err error) error {
	if errors.Is(err, syscall.EISDIR) {
		return ru.Reason(prefix+": на месте файла ключа лежит папка", err)
	}
	return ru.FileError(prefix, err)
}
