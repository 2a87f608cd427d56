package cli

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// listen takes the address serve answers on. Its refusals are for the
// person starting the program, so they name the cause in Russian and what
// to change; Go's own text ("bind: address already in use") stays out of
// the sentence but the error is kept for errors.Is.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	return nil, listenError{addr: addr, err: err}
}

type listenError struct {
	addr string
	err  error
}

func (e listenError) Unwrap() error { return e.err }

func (e listenError) Error() string {
	fix := "задайте другой адрес в BOOKSMETA_ADDR или флагом --addr, например :8080 или 127.0.0.1:8080"
	var dns *net.DNSError
	var addrErr *net.AddrError
	switch {
	case errors.Is(e.err, syscall.EADDRINUSE):
		return fmt.Sprintf("адрес %s уже занят: там работает другая программа (или ещё один Book Smeta); остановите её или %s", e.addr, fix)
	case errors.Is(e.err, syscall.EACCES):
		return fmt.Sprintf("нет прав занять адрес %s: порты ниже 1024 доступны только администратору системы; возьмите порт 1024 или выше (например :8080) и поставьте перед Book Smeta nginx, или %s", e.addr, fix)
	case errors.Is(e.err, syscall.EADDRNOTAVAIL):
		return fmt.Sprintf("адреса %s нет у этой машины: укажите один из её IP-адресов или только порт (:8080); %s", e.addr, fix)
	case errors.As(e.err, &dns):
		return fmt.Sprintf("имя в адресе %s не найдено: укажите IP-адрес машины или только порт (:8080); %s", e.addr, fix)
	case errors.As(e.err, &addrErr):
		return fmt.Sprintf("адрес %q записан неверно: нужен вид ХОСТ:ПОРТ или :ПОРТ с портом от 1 до 65535; %s", e.addr, fix)
	default:
		return fmt.Sprintf("не удаётся занять адрес %s; %s", e.addr, fix)
	}
}
