// Package deploy holds the Kubernetes manifests of a sharded load run; its test decodes them
// strictly against the real Kubernetes API types and checks that they fit together.
package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// manifests are the objects of the deploy/*.yaml files, decoded strictly: a field the API
// does not have, or a value of the wrong type, fails the decode.
type manifests struct {
	jobs   map[string]*batchv1.Job
	claims map[string]*corev1.PersistentVolumeClaim
	pods   map[string]*corev1.Pod
}

func load(t *testing.T) manifests {
	t.Helper()
	m := manifests{jobs: map[string]*batchv1.Job{}, claims: map[string]*corev1.PersistentVolumeClaim{}, pods: map[string]*corev1.Pod{}}
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i+1, err)
			}
			var obj interface{ GetName() string }
			switch tm.APIVersion + " " + tm.Kind {
			case "batch/v1 Job":
				obj = &batchv1.Job{}
			case "v1 PersistentVolumeClaim":
				obj = &corev1.PersistentVolumeClaim{}
			case "v1 Pod":
				obj = &corev1.Pod{}
			default:
				t.Fatalf("%s document %d: unexpected %s %s", f, i+1, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s document %d (%s): %v", f, i+1, tm.Kind, err)
				continue
			}
			if errs := validation.IsDNS1123Subdomain(obj.GetName()); len(errs) > 0 {
				t.Errorf("%s: name %q: %v", f, obj.GetName(), errs)
			}
			switch o := obj.(type) {
			case *batchv1.Job:
				m.jobs[o.Name] = o
			case *corev1.PersistentVolumeClaim:
				m.claims[o.Name] = o
			case *corev1.Pod:
				m.pods[o.Name] = o
			}
		}
	}
	return m
}

// checkPod checks what every pod of the run needs: requests and limits of CPU and memory (limits
// no lower), a non-root user, and its /out volume on the shared claim.
func checkPod(t *testing.T, what string, spec corev1.PodSpec, claims map[string]*corev1.PersistentVolumeClaim) {
	t.Helper()
	for _, c := range spec.Containers {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okr := c.Resources.Requests[r]
			lim, okl := c.Resources.Limits[r]
			if !okr || !okl || lim.Cmp(req) < 0 {
				t.Errorf("%s: container %s: %s request %v and limit %v, want both, the limit no lower", what, c.Name, r, req.String(), lim.String())
			}
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(v corev1.VolumeMount) bool { return v.MountPath == "/out" }) {
			t.Errorf("%s: container %s does not mount /out", what, c.Name)
		}
	}
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: not run as non-root", what)
	}
	for _, v := range spec.Volumes {
		if v.PersistentVolumeClaim == nil || claims[v.PersistentVolumeClaim.ClaimName] == nil {
			t.Errorf("%s: volume %s is not the shared claim (the results would die with the pod)", what, v.Name)
		}
	}
}

func env(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// TestManifests: the load Job, the merge Job, the results pod and their claim decode as the
// Kubernetes API types, every pod has requests and limits and shares the claim, the shards agree
// (SHARDS, completions, parallelism, the merge Job's list), every flag given is one of pushcert's
// own, and the shards start their steady phases together (--start-at).
func TestManifests(t *testing.T) {
	m := load(t)
	for _, c := range m.claims {
		if !slices.Contains(c.Spec.AccessModes, corev1.ReadWriteMany) {
			t.Errorf("claim %s: pods on several nodes write it at once: it needs ReadWriteMany", c.Name)
		}
	}
	lj, mj := m.jobs["pushcert-load"], m.jobs["pushcert-merge"]
	if lj == nil || mj == nil || m.pods["pushcert-results"] == nil || len(m.claims) != 1 {
		t.Fatalf("want the load and merge Jobs, the results pod and one claim; got jobs %v, pods %v, %d claims", len(m.jobs), len(m.pods), len(m.claims))
	}
	checkPod(t, "job/pushcert-load", lj.Spec.Template.Spec, m.claims)
	checkPod(t, "job/pushcert-merge", mj.Spec.Template.Spec, m.claims)
	checkPod(t, "pod/pushcert-results", m.pods["pushcert-results"].Spec, m.claims)

	load := lj.Spec.Template.Spec.Containers[0]
	shards, err := strconv.Atoi(env(load, "SHARDS"))
	if err != nil || lj.Spec.Completions == nil || lj.Spec.Parallelism == nil || int(*lj.Spec.Completions) != shards || int(*lj.Spec.Parallelism) != shards {
		t.Errorf("SHARDS %q, completions %v, parallelism %v: want them equal", env(load, "SHARDS"), lj.Spec.Completions, lj.Spec.Parallelism)
	}
	if lj.Spec.CompletionMode == nil || *lj.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("the load Job is not Indexed: its pods would not know their shard")
	}
	for _, want := range []string{"--shard=indexed", "--start-at=$(START_AT)", "--out=/out/shard-$(JOB_COMPLETION_INDEX)"} {
		if !slices.Contains(load.Args, want) {
			t.Errorf("the load Job's args lack %s: %v", want, load.Args)
		}
	}
	var summaries []string
	for i := range shards {
		summaries = append(summaries, "/out/shard-"+strconv.Itoa(i)+"/summary.json")
	}
	merge := mj.Spec.Template.Spec.Containers[0]
	if len(merge.Args) < 2+shards || !slices.Equal(merge.Args[2:2+shards], summaries) {
		t.Errorf("the merge Job merges %v, want the %d shards' summaries %v", merge.Args, shards, summaries)
	}

	bin := filepath.Join(t.TempDir(), "pushcert")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/pushcert").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	flagOf := regexp.MustCompile(`^(--?[a-z][a-z-]*)`)
	for _, c := range []struct {
		verb []string
		args []string
	}{{[]string{"load"}, load.Args[1:]}, {[]string{"report", "merge"}, merge.Args[2:]}} {
		help, _ := exec.Command(bin, append(c.verb, "--help")...).CombinedOutput()
		for _, a := range c.args {
			if f := flagOf.FindString(a); f != "" && !strings.Contains(string(help), f+" ") && !strings.Contains(string(help), f+"=") && !strings.Contains(string(help), ", "+f) && !strings.Contains(string(help), f+",") {
				t.Errorf("%s: %s is not a flag of pushcert %s", a, f, strings.Join(c.verb, " "))
			}
		}
	}
}
