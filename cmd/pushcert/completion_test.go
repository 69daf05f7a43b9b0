package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestVersionEverywhere: the version and the commit come from `version`, `--version`, `-v` and
// every command's --version, exit 0.
func TestVersionEverywhere(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}, {"check", "--version"}, {"load", "--version"}, {"sign", "channel", "--version"}} {
		code, out, errs := runCmd(args...)
		if code != exitOK || !strings.HasPrefix(out, "pushcert ") || !strings.Contains(out, "commit") || errs != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	bin := filepath.Join(t.TempDir(), "pushcert")
	stamp := "-X main.version=v9.8.7 -X main.commit=0123abcd"
	if out, err := exec.Command("go", "build", "-ldflags", stamp, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.Contains(string(out), "pushcert v9.8.7") || !strings.Contains(string(out), "commit  0123abcd") {
		t.Errorf("a stamped build's version: %q, %v", out, err)
	}
}

// TestCompletionFromFlags: every flag of every command (and sub-verb) is offered by the
// completion, since the completion is made from the commands' own flag sets; the values of
// --supports and the case IDs of check too; the bash script loads in a real bash.
func TestCompletionFromFlags(t *testing.T) {
	for _, c := range commands() {
		paths := [][]string{{c.name}}
		for _, v := range subVerbs[c.name] {
			paths = append(paths, []string{c.name, v.name})
		}
		for _, path := range paths {
			verb := ""
			if len(path) > 1 {
				verb = path[1]
			}
			fs := commandFlags(c, verb)
			if c.name == "report" || c.name == "sign" {
				if verb == "" {
					continue // their flags are the sub-verbs'
				}
			}
			code, out, _ := runCmd(append(append([]string{"__complete"}, path...), "--")...)
			if code != exitOK {
				t.Fatalf("__complete %v --: exit %d", path, code)
			}
			n := 0
			fs.VisitAll(func(f *pflag.Flag) {
				n++
				if !strings.Contains(out, "--"+f.Name+"\t") && !strings.Contains(out, "--"+f.Name+"\n") {
					t.Errorf("%v: --%s is not completed:\n%s", path, f.Name, out)
				}
			})
			if n == 0 {
				t.Errorf("%v: no flags found", path)
			}
		}
	}
	if _, out, _ := runCmd("__complete", "check", "--supports", ""); !strings.Contains(out, "subscription-count") || !strings.Contains(out, "auto") {
		t.Errorf("--supports values:\n%s", out)
	}
	if _, out, _ := runCmd("__complete", "check", "CLUS-01"); !strings.Contains(out, "CLUS-013\t") {
		t.Errorf("check's case IDs:\n%s", out)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, errs := runCmd("completion", shell)
		if code != exitOK || !strings.Contains(out, "pushcert") || errs != "" {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, code, len(out), errs)
		}
	}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"man"}} {
		if code, _, errs := runCmd(args...); code != exitUsage || errs == "" {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 saying why", args, code, errs)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to load the script in: ", err)
	}
	_, script, _ := runCmd("completion", "bash")
	file := filepath.Join(t.TempDir(), "pushcert.bash")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bash, "-c", "source "+file+" && complete -p pushcert").CombinedOutput(); err != nil || !strings.Contains(string(out), "pushcert") {
		t.Errorf("bash did not load the completion: %v\n%s", err, out)
	}
}

// TestManPages: a page for pushcert and for each command and sub-verb, each naming its flags,
// and none showing a default that came from this shell's environment.
func TestManPages(t *testing.T) {
	t.Setenv("PUSHCERT_APP_SECRET", "not-for-the-page")
	dir := t.TempDir()
	if code, out, errs := runCmd("man", dir); code != exitOK {
		t.Fatalf("man: exit %d\n%s%s", code, out, errs)
	}
	for _, c := range commands() {
		page := filepath.Join(dir, "pushcert-"+c.name+".1")
		b, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("no page for %s: %v", c.name, err)
			continue
		}
		if !strings.Contains(string(b), ".TH \"PUSHCERT\"") || !strings.Contains(string(b), c.summary[:20]) {
			t.Errorf("%s: not a man page of the command:\n%.300s", page, b)
		}
		if strings.Contains(string(b), "not-for-the-page") {
			t.Errorf("%s shows the environment's secret", page)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "pushcert-check.1"))
	if err != nil || !strings.Contains(string(b), `\fB--supports\fP`) || !strings.Contains(string(b), "CASE-ID") {
		t.Errorf("pushcert-check.1 lacks --supports or its synopsis: %v\n%.500s", err, b)
	}
	if _, err := os.Stat(filepath.Join(dir, "pushcert-sign-channel.1")); err != nil {
		t.Errorf("no page for sign channel: %v", err)
	}
	if got := os.Getenv("PUSHCERT_APP_SECRET"); got != "not-for-the-page" {
		t.Errorf("man left the environment changed: PUSHCERT_APP_SECRET=%q", got)
	}
}
