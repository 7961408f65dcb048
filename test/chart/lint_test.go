package chart

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// update makes TestTemplateSnapshots write the snapshots instead of
// comparing them.
var update = flag.Bool("update", false, "write testdata/<case>.yaml from the rendered chart")

func TestLint(t *testing.T) {
	for _, c := range valuesCases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"lint", chartDir, "--strict", "--namespace", releaseNamespace}, c.valuesArgs()...)
			out := runHelm(t, args...)
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint output does not report 0 failed charts:\n%s", out)
			}
		})
	}
}

// TestTemplateSnapshots compares the rendered manifests with
// testdata/<case>.yaml, so that a change of the chart's output shows in
// review. Run with -update to write them again.
func TestTemplateSnapshots(t *testing.T) {
	for _, c := range valuesCases {
		t.Run(c.name, func(t *testing.T) {
			got := renderText(t, c)
			path := filepath.Join("testdata", c.name+".yaml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatalf("write snapshot: %v", err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read snapshot: %v (run go test ./test/chart -run Snapshot -update to create it)", err)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
				t.Errorf("rendered chart differs from %s (-want +got); if the change is intended, run go test ./test/chart -run Snapshot -update:\n%s", path, diff)
			}
		})
	}
}

// TestTemplateDeterministic renders the chart twice, because a snapshot of
// output that changes between runs would fail at random.
func TestTemplateDeterministic(t *testing.T) {
	c := valuesCases[1]
	first, second := renderText(t, c), renderText(t, c)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("two renders of %s differ (-first +second):\n%s", c.name, diff)
	}
}
