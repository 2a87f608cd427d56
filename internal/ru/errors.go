package ru

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// Reason is a message for people that still unwraps to its cause, so a
// caller may test it with errors.Is while a person reads only the message.
func Reason(msg string, cause error) error { return reason{msg, cause} }

type reason struct {
	msg string
	err error
}

func (r reason) Error() string { return r.msg }
func (r reason) Unwrap() error { return r.err }

// FileError is prefix with the common causes of a failed file operation in
// Russian (missing, no rights, disk full, read-only, a file where a folder
// should be, a folder where a file should be); any other cause is quoted.
// The cause stays reachable for errors.Is.
func FileError(prefix string, err error) error {
	why := ""
	switch {
	case errors.Is(err, fs.ErrNotExist):
		why = "такого файла или папки нет; проверьте путь"
	case errors.Is(err, fs.ErrPermission):
		why = "нет прав: дайте их пользователю, от имени которого запущен booksmeta"
	case errors.Is(err, syscall.ENOSPC):
		why = "на диске не осталось места"
	case errors.Is(err, syscall.EROFS):
		why = "диск подключён только для чтения"
	case errors.Is(err, syscall.ENOTDIR):
		why = "часть пути — файл, а не папка"
	case errors.Is(err, syscall.EISDIR):
		why = "это папка, а не файл"
	}
	if why == "" {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	return reason{prefix + ": " + why, err}
}
