package chart

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// undefinedFlag is a flag that no gatehouse subcommand defines.
const undefinedFlag = "--gatehouse-chart-test-undefined"

// buildBinaries builds gatehouse and gatehouse-controller into one
// temporary folder, as the image ships them side by side, and returns the
// path of gatehouse.
func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", dir, "./cmd/gatehouse", "./cmd/gatehouse-controller")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "gatehouse")
}

// exitCode runs binary with args and returns its exit code and output.
func exitCode(t *testing.T, binary string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	// An empty environment, so that no GATEHOUSE_* variable of the machine
	// takes part.
	cmd.Env = []string{}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatalf("run %s: %v", binary, err)
	}
	return 0, out.String()
}

// flagChecker reports whether a subcommand accepts a list of flags. It runs
// the subcommand with the flags followed by --help. The help exit code
// means that every flag before --help parsed, and any other code means that
// one did not.
type flagChecker struct {
	binary   string
	helpCode map[string]int
}

// helpExitCode returns the exit code of `gatehouse sub --help`, after
// checking that an undefined flag gives another code.
func (f *flagChecker) helpExitCode(t *testing.T, sub string) int {
	t.Helper()
	if code, ok := f.helpCode[sub]; ok {
		return code
	}
	help, helpOut := exitCode(t, f.binary, sub, "--help")
	bad, badOut := exitCode(t, f.binary, sub, undefinedFlag)
	if help == bad {
		t.Fatalf("gatehouse %s exits %d both for --help and for an undefined flag, so flags cannot be checked\n--help:\n%s\nundefined flag:\n%s", sub, help, helpOut, badOut)
	}
	if !strings.Contains(helpOut, "Usage:") {
		t.Fatalf("gatehouse %s --help printed no usage:\n%s", sub, helpOut)
	}
	f.helpCode[sub] = help
	return help
}

// check fails the test when the container's arguments are not accepted by
// the gatehouse subcommand they name.
func (f *flagChecker) check(t *testing.T, name string, ctr corev1.Container) {
	t.Helper()
	if len(ctr.Args) == 0 {
		t.Errorf("%s: container has no arguments", name)
		return
	}
	want := f.helpExitCode(t, ctr.Args[0])
	args := append(append([]string(nil), ctr.Args...), "--help")
	got, out := exitCode(t, f.binary, args...)
	if got != want {
		t.Errorf("%s: gatehouse %s exited %d, want %d (the --help exit code); a flag is undefined or its value invalid:\n%s",
			name, strings.Join(ctr.Args, " "), got, want, firstLines(out, 3))
	}
}

// firstLines returns the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// TestRenderedArgsAccepted runs the real binaries with the arguments of
// every rendered container and of the sidecar example, so that a flag the
// chart passes must exist and its value must parse.
func TestRenderedArgsAccepted(t *testing.T) {
	requireTool(t, "HELM")
	checker := &flagChecker{binary: buildBinaries(t), helpCode: map[string]int{}}
	for _, c := range valuesCases {
		t.Run(c.name, func(t *testing.T) {
			for _, o := range objectsOfKind(render(t, c), "Deployment") {
				var d appsv1.Deployment
				convert(t, o, &d)
				for _, ctr := range d.Spec.Template.Spec.Containers {
					checker.check(t, d.Name+"/"+ctr.Name, ctr)
				}
			}
		})
	}
	t.Run("sidecar example", func(t *testing.T) {
		for _, ctr := range sidecarPatch(t).Spec.Template.Spec.Containers {
			checker.check(t, "sidecar/"+ctr.Name, ctr)
		}
	})
}
