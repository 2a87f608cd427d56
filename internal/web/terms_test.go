package web

import (
	"io/fs"
	"strings"
	"testing"
)

// TestTemplatesSayУченик: every embedded page and asset calls a student
// «ученик», never «студент».
func TestTemplatesSayУченик(t *testing.T) {
	for _, fsys := range []fs.FS{templatesFS, staticFS} {
		n := 0
		err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			n++
			b, err := fs.ReadFile(fsys, path)
			if strings.Contains(strings.ToLower(string(b)), "студент") {
				t.Errorf("%s says «студент»", path)
			}
			return err
		})
		if err != nil || n == 0 {
			t.Fatalf("walk: %v, %d files", err, n)
		}
	}
}
