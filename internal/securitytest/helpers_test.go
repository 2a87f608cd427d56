package securitytest

import (
	"net/http"
	"net/http/cookiejar"
	"strconv"
)

func newJar() http.CookieJar {
	j, _ := cookiejar.New(nil)
	return j
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
