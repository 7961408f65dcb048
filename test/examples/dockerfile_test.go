package examples

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// repoRoot is the checkout root, two folders above this package.
var repoRoot = filepath.Join("..", "..")

// dockerfileLines returns the instructions of the Dockerfile, without
// comments and blank lines, with continuation lines joined.
func dockerfileLines(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var current strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cut, ok := strings.CutSuffix(line, "\\"); ok {
			current.WriteString(cut + " ")
			continue
		}
		current.WriteString(line)
		lines = append(lines, current.String())
		current.Reset()
	}
	return lines
}

// TestDockerfileDefaults checks what the image promises: base images pinned
// by digest, a builder on the Go release of go.mod, a static build of both
// binaries, a distroless final stage and a non-root user.
func TestDockerfileDefaults(t *testing.T) {
	lines := dockerfileLines(t)
	goMod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(goMod)
	if goVersion == nil {
		t.Fatal("go.mod has no go line")
	}

	var froms []string
	for _, l := range lines {
		if strings.HasPrefix(l, "FROM ") {
			froms = append(froms, l)
		}
	}
	if len(froms) != 2 {
		t.Fatalf("got %d FROM lines, want a builder and a final stage: %q", len(froms), froms)
	}
	if want := "golang:" + string(goVersion[1]) + "@sha256:"; !strings.Contains(froms[0], want) {
		t.Errorf("builder %q: want the image golang:%s of go.mod's go line, pinned by digest", froms[0], goVersion[1])
	}
	if !strings.Contains(froms[1], "gcr.io/distroless/static") || !strings.Contains(froms[1], ":nonroot@sha256:") {
		t.Errorf("final stage %q: want distroless static, nonroot, pinned by digest", froms[1])
	}
	digest := regexp.MustCompile(`@sha256:[0-9a-f]{64}( |$)`)
	for _, from := range froms {
		if !digest.MatchString(from) {
			t.Errorf("%q: want a full sha256 digest", from)
		}
	}

	build := findLine(t, lines, "go build")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/gatehouse", "./cmd/gatehouse-controller"} {
		if !strings.Contains(build, want) {
			t.Errorf("build line %q: missing %s", build, want)
		}
	}
	if user := findLine(t, lines, "USER "); user != "USER 65532:65532" {
		t.Errorf("got %q, want USER 65532:65532", user)
	}
}

func findLine(t *testing.T, lines []string, contains string) string {
	t.Helper()
	for _, l := range lines {
		if strings.Contains(l, contains) {
			return l
		}
	}
	t.Fatalf("Dockerfile has no line with %q", contains)
	return ""
}

// TestDockerignoreAllowsBuildInputs checks that the build context, an
// allow-list, holds every top-level folder of the module that the two
// binaries import, so that a new package cannot break the image build
// unnoticed.
func TestDockerignoreAllowsBuildInputs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}

	var allowed []string
	for _, line := range strings.Split(string(data), "\n") {
		if dir, ok := strings.CutPrefix(strings.TrimSpace(line), "!"); ok {
			allowed = append(allowed, strings.TrimSuffix(dir, "/"))
		}
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{end}}{{end}}",
		"./cmd/gatehouse", "./cmd/gatehouse-controller")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/gatehouse-dev/gatehouse/"
	for _, pkg := range strings.Fields(string(out)) {
		top, _, _ := strings.Cut(strings.TrimPrefix(pkg, module), "/")
		if !slices.Contains(allowed, top) {
			t.Errorf(".dockerignore does not allow %s/, which %s needs", top, pkg)
		}
	}
}
