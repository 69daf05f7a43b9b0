package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testImage builds the project's image (the Dockerfile around a static binary) under a tag of
// its own, removed at the end; without a Docker engine the test is skipped, saying so.
func testImage(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("SKIP: no Docker engine answers here (docker info: %v: %s); .ci/run installs docker.io and starts dockerd", err, bytes.TrimSpace(out))
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "pushcert"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		ca = nil // no bundle here: the image is still an image
	}
	if err := os.WriteFile(filepath.Join(dir, "ca-certificates.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	tag := "pushcert-test:" + hex.EncodeToString(b)
	if out, err := exec.Command("docker", "build", "-q", "-f", "../../Dockerfile", "-t", tag, dir).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// containersOf lists the containers (running or not) of an image.
func containersOf(t *testing.T, image string) string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "-q", "--filter", "ancestor="+image).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestTargetImage: check and load start the project's own image on the host network, run
// against it, save its logs beside the reports and remove it, also when interrupted; an image
// that does not come up is an error with its output, and removed too.
func TestTargetImage(t *testing.T) {
	img := testImage(t)
	port := func() string { _, p, _ := strings.Cut(freeAddr(t), ":"); return p }
	creds := []string{"--app-id", "img", "--key", "img-key", "--secret", "img-secret"}
	dir := t.TempDir()
	args := append([]string{"check", "--target-image", img, "--image-port", port(), "--out", dir, "CONN-001", "PUB-"}, creds...)
	if code, out, errs := runCmd(args...); code != exitOK || !strings.Contains(out, "CONFORMANT") {
		t.Fatalf("check --target-image: exit %d\n%s\n%s", code, out, errs)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "container.log")); err != nil || !strings.Contains(string(b), "listening on 127.0.0.1:") {
		t.Errorf("the container's logs beside the report: %v\n%s", err, b)
	}
	if rep := readReport(t, filepath.Join(dir, "report.json")); rep.Implementation.Name != img {
		t.Errorf("report names %q, want the image %q", rep.Implementation.Name, img)
	}
	if ids := containersOf(t, img); ids != "" {
		t.Errorf("containers left after check: %s", ids)
	}

	// The port and the command from a server profile.
	pdir, pport := t.TempDir(), port()
	prof := filepath.Join(pdir, "profile.json")
	if err := os.WriteFile(prof, []byte(`{"apps": [], "image": {"port": `+pport+`, "args": ["serve", "--log-level", "error"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"check", "--target-image", img, "--profile", prof, "--out", pdir, "CONN-001"}, creds...)
	if code, out, errs := runCmd(args...); code != exitOK {
		t.Fatalf("check --target-image --profile: exit %d\n%s\n%s", code, out, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(pdir, "container.log")); !strings.Contains(string(b), "listening on 127.0.0.1:"+pport) || strings.Contains(string(b), "level=INFO") {
		t.Errorf("the profile's port and command were not the container's:\n%s", b)
	}

	ldir := t.TempDir()
	args = append([]string{"load", "--target-image", img, "--image-port", port(), "--clients", "20", "--rooms", "2", "--duration", "2s", "--quiet", "--out", ldir}, creds...)
	if code, out, errs := runCmd(args...); code != exitOK && code != exitInvalid {
		t.Fatalf("load --target-image: exit %d\n%s\n%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(ldir, "container.log")); err != nil {
		t.Errorf("load: no container log: %v", err)
	}

	// Interrupted: the run ends early, and the container still goes.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(3*time.Second, cancel)
	var out, errs bytes.Buffer
	args = append([]string{"load", "--target-image", img, "--image-port", port(), "--clients", "10", "--duration", "60s", "--quiet", "--out", t.TempDir()}, creds...)
	run(ctx, args, &out, &errs)
	cancel()
	if ids := containersOf(t, img); ids != "" {
		t.Errorf("containers left after an interrupted load: %s\n%s", ids, errs.String())
	}

	// An image whose server never listens: exit 3 with its output, removed.
	args = append([]string{"check", "--target-image", img, "--image-port", port(), "--image-arg", "nonsense", "CONN-001"}, creds...)
	if code, _, errs := runCmd(args...); code != exitUnreachable || !strings.Contains(errs, "exited") || !strings.Contains(errs, "unknown command") {
		t.Errorf("an image that exits: exit %d, stderr %q", code, errs)
	}
	if ids := containersOf(t, img); ids != "" {
		t.Errorf("containers left after a failed start: %s", ids)
	}
	for _, bad := range [][]string{
		{"check", "--target-image", img, "--target", "ws://127.0.0.1:1"},
		{"check", "--target-image", img},
		{"check", "--target-image", img, "--cluster", "2"},
		append([]string{"check", "--target-image", img, "--image-port", "70000"}, creds...),
		append([]string{"load", "--target-image", img, "--null"}, creds...),
	} {
		if code, _, errs := runCmd(bad...); code != exitUsage || errs == "" {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 saying why", bad, code, errs)
		}
	}
}
