package mail

import (
	"io/fs"
	"strings"
	"testing"
)

// TestDefaultsSayУченик: the school's word for a student is «ученик»; no
// default template or editor text says «студент».
func TestDefaultsSayУченик(t *testing.T) {
	err := fs.WalkDir(templateFS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		if strings.Contains(strings.ToLower(string(b)), "студент") {
			t.Errorf("%s says «студент»", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds() {
		if strings.Contains(strings.ToLower(k.Title+k.Description), "студент") {
			t.Errorf("%s: %q / %q says «студент»", k.Kind, k.Title, k.Description)
		}
	}
}
