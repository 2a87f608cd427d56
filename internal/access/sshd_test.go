package access_test

import (
	"strconv"
	"testing"

	"booksmeta/internal/access/accesstest"
)

// The real-sshd helpers live in accesstest, shared with package grants.
type sshd = accesstest.SSHD

func startSSHD(t *testing.T, extra string) *sshd        { return accesstest.StartSSHD(t, extra) }
func addUser(t *testing.T, name string, args ...string) { accesstest.AddUser(t, name, args...) }
func testPrefix() string                                { return accesstest.TestPrefix() }
func itoa(n int) string                                 { return strconv.Itoa(n) }
