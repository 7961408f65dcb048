package controller

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// repoRoot is the checkout root, seen from this package's folder.
const repoRoot = ".."

// generatedDirs are the folders, relative to the checkout root, whose files
// hack/controller-gen.sh writes in full. A file in them that the generator
// no longer writes is stale too.
var generatedDirs = []string{"config/crd/bases", "config/rbac"}

// TestGeneratedFilesUpToDate runs controller-gen into a temporary folder and
// compares its output with the committed files, so that a marker change
// without `make generate manifests` fails here.
func TestGeneratedFilesUpToDate(t *testing.T) {
	out := t.TempDir()
	for _, mode := range []string{"object", "manifests"} {
		runGenerator(t, mode, out)
	}

	generated := listFiles(t, out)
	if len(generated) < 3 {
		t.Fatalf("got %d generated files %v, want the deep copy file, the CRD and the RBAC", len(generated), generated)
	}
	for _, rel := range generated {
		want := readFile(t, filepath.Join(out, rel))
		got := readFile(t, filepath.Join(repoRoot, rel))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s is stale; run make generate manifests (-generated +committed):\n%s", rel, diff)
		}
	}

	for _, dir := range generatedDirs {
		for _, rel := range listFiles(t, filepath.Join(repoRoot, dir)) {
			path := filepath.Join(dir, rel)
			if _, err := os.Stat(filepath.Join(out, path)); err != nil {
				t.Errorf("%s is not generated any more; delete it or restore its marker", path)
			}
		}
	}
}

// runGenerator runs hack/controller-gen.sh in mode, writing under out.
func runGenerator(t *testing.T, mode, out string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "hack/controller-gen.sh", mode, out)
	cmd.Dir = repoRoot
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hack/controller-gen.sh %s: %v\n%s", mode, err, output)
	}
}

// listFiles returns the paths of the regular files under root, relative to
// root.
func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		files = append(files, rel)
		return err
	})
	if err != nil {
		t.Fatalf("list files under %s: %v", root, err)
	}
	return files
}

// readFile returns the contents of path as a string.
func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(data)
}
