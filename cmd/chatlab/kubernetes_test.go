package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"chatlab/chaos/hunt"
)

// kubernetesDir holds the manifests users apply.
const kubernetesDir = "../../deploy/kubernetes"

// manifests reads every document of a manifest file as its kind, strictly:
// a misspelt or misplaced field is an error, as kubectl --validate=strict
// makes it.
func manifests(t *testing.T, file string) (jobs []batchv1.Job, claims []corev1.PersistentVolumeClaim) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("%s document %d: %v", file, i+1, err)
		}
		switch head.APIVersion + " " + head.Kind {
		case "batch/v1 Job":
			var job batchv1.Job
			if err := yaml.UnmarshalStrict(doc, &job); err != nil {
				t.Fatalf("%s document %d (Job): %v", file, i+1, err)
			}
			jobs = append(jobs, job)
		case "v1 PersistentVolumeClaim":
			var claim corev1.PersistentVolumeClaim
			if err := yaml.UnmarshalStrict(doc, &claim); err != nil {
				t.Fatalf("%s document %d (PersistentVolumeClaim): %v", file, i+1, err)
			}
			claims = append(claims, claim)
		default:
			t.Fatalf("%s document %d: %q %q is not a kind this test validates", file, i+1, head.APIVersion, head.Kind)
		}
	}
	return jobs, claims
}

// The hunt's Indexed Job: its pods' arguments, with JOB_COMPLETION_INDEX
// expanded as Kubernetes expands it, are accepted by chatlab hunt, and its
// shards run exactly the unsharded hunt between them (here with the run
// count cut to one run a pod, for time).
func TestKubernetesHuntJobShardsTheHunt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator")
	}
	jobs, claims := manifests(t, filepath.Join(kubernetesDir, "hunt-job.yaml"))
	if len(jobs) != 1 || len(claims) != 1 {
		t.Fatalf("%d jobs, %d claims; want one of each", len(jobs), len(claims))
	}
	job := jobs[0]
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Fatal("the Job is not Indexed: its pods would not know their shard")
	}
	if spec.Completions == nil || spec.Parallelism == nil || *spec.Completions != *spec.Parallelism || *spec.Completions < 2 {
		t.Fatalf("completions %v, parallelism %v: want the same count, at least 2", spec.Completions, spec.Parallelism)
	}
	count := int(*spec.Completions)
	pod := spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
		t.Fatalf("restart policy %q, %d containers", pod.RestartPolicy, len(pod.Containers))
	}
	container := pod.Containers[0]
	if !slices.ContainsFunc(container.Env, func(e corev1.EnvVar) bool {
		return e.Name == "JOB_COMPLETION_INDEX" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
			e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
	}) {
		t.Error("JOB_COMPLETION_INDEX is not declared from the completion-index annotation")
	}
	mounted := slices.ContainsFunc(container.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/results" })
	claimed := slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool {
		return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claims[0].Name
	})
	if !mounted || !claimed || !slices.Contains(claims[0].Spec.AccessModes, corev1.ReadWriteMany) {
		t.Error("the pods do not share a ReadWriteMany claim at /results")
	}
	if rules := spec.PodFailurePolicy; rules == nil || !slices.ContainsFunc(rules.Rules, func(r batchv1.PodFailurePolicyRule) bool {
		return r.Action == batchv1.PodFailurePolicyActionFailIndex && r.OnExitCodes != nil && slices.Contains(r.OnExitCodes.Values, 1)
	}) {
		t.Error("a pod whose share found a failure (exit 1) would be retried: want FailIndex on exit 1")
	}
	if got := container.Args; len(got) == 0 || got[0] != "hunt" || !slices.Contains(got, fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", count)) {
		t.Fatalf("args %q: want hunt with --shard $(JOB_COMPLETION_INDEX)/%d", got, count)
	}
	root := t.TempDir()
	var dirs []string
	for index := range count {
		var args []string
		for _, arg := range container.Args {
			arg = strings.ReplaceAll(arg, "$(JOB_COMPLETION_INDEX)", strconv.Itoa(index))
			arg = strings.Replace(arg, "/results/", root+"/", 1)
			args = append(args, arg)
		}
		dirs = append(dirs, filepath.Join(root, fmt.Sprintf("hunt-%d", index)))
		// One run a pod, no shrink: the flags that follow win.
		args = append(args, "--runs", strconv.Itoa(count), "--shrink=false")
		if code, stdout, stderr := runCommand(t, context.Background(), args...); code != 0 {
			t.Fatalf("pod %d: chatlab %s: exit %d\n%s%s", index, strings.Join(args, " "), code, stdout, stderr)
		}
	}
	merged, err := hunt.Merge(dirs)
	if err != nil {
		t.Fatal(err)
	}
	var indexes []int
	for _, r := range merged.Runs {
		indexes = append(indexes, r.Index)
	}
	want := make([]int, count)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(indexes, want) {
		t.Errorf("the pods ran runs %v; want each of %v once", indexes, want)
	}
}
