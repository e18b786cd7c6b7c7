package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// system is one kustomize overlay's output, decoded strictly by kind.
type system struct {
	statefulSets map[string]appsv1.StatefulSet
	deployments  map[string]appsv1.Deployment
	services     map[string]corev1.Service
	budgets      map[string]policyv1.PodDisruptionBudget
	jobs         map[string]batchv1.Job
}

// buildOverlay runs kustomize on an overlay, as kubectl apply -k would, and
// decodes every resource strictly into its Kubernetes API type: a misspelt
// or misplaced field fails, as kubectl --validate=strict makes it.
func buildOverlay(t *testing.T, overlay string) system {
	t.Helper()
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(),
		filepath.Join(kubernetesDir, "overlays", overlay))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", overlay, err)
	}
	s := system{statefulSets: map[string]appsv1.StatefulSet{}, deployments: map[string]appsv1.Deployment{},
		services: map[string]corev1.Service{}, budgets: map[string]policyv1.PodDisruptionBudget{}, jobs: map[string]batchv1.Job{}}
	for _, resource := range resources.Resources() {
		doc, err := resource.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		name := resource.GetName()
		decode := func(into any) {
			if err := yaml.UnmarshalStrict(doc, into); err != nil {
				t.Fatalf("%s: %s %s: %v", overlay, resource.GetKind(), name, err)
			}
		}
		switch resource.GetApiVersion() + " " + resource.GetKind() {
		case "apps/v1 StatefulSet":
			var v appsv1.StatefulSet
			decode(&v)
			s.statefulSets[name] = v
		case "apps/v1 Deployment":
			var v appsv1.Deployment
			decode(&v)
			s.deployments[name] = v
		case "v1 Service":
			var v corev1.Service
			decode(&v)
			s.services[name] = v
		case "policy/v1 PodDisruptionBudget":
			var v policyv1.PodDisruptionBudget
			decode(&v)
			s.budgets[name] = v
		case "batch/v1 Job":
			var v batchv1.Job
			decode(&v)
			s.jobs[name] = v
		default:
			t.Fatalf("%s: %s %s is not a kind this test validates", overlay, resource.GetKind(), name)
		}
	}
	return s
}

// flagValue is the value of --name=VALUE in args.
func flagValue(args []string, name string) (string, bool) {
	for _, arg := range args {
		if value, ok := strings.CutPrefix(arg, "--"+name+"="); ok {
			return value, true
		}
	}
	return "", false
}

// withSecretFiles points the file flags under /etc/chatlab at files of a
// test directory, so that the real flag parsing can read them.
func withSecretFiles(t *testing.T, args []string) []string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"token-secret", "admin-token"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("a-test-secret-of-32-bytes-or-so!\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]string, len(args))
	for i, arg := range args {
		out[i] = strings.ReplaceAll(arg, "/etc/chatlab/", dir+"/")
	}
	return out
}

// podArgs are a container's arguments as the kubelet passes them: $(VAR)
// expanded from the container's env (a field reference stands for podName).
func podArgs(container corev1.Container, podName string) []string {
	out := slices.Clone(container.Args)
	for i := range out {
		for _, env := range container.Env {
			value := env.Value
			if env.ValueFrom != nil && env.ValueFrom.FieldRef != nil && env.ValueFrom.FieldRef.FieldPath == "metadata.name" {
				value = podName
			}
			out[i] = strings.ReplaceAll(out[i], "$("+env.Name+")", value)
		}
	}
	return out
}

// Both overlays build, and what they make is what an operator needs: nodes
// behind the balancer with probes on /healthz and /readyz, resource
// requests, disruption budgets, the admin listener on loopback and in no
// Service, every node in the balancer's backends, and arguments the real
// chatlab node and balancer accept.
func TestKubernetesChatSystemOverlays(t *testing.T) {
	for _, overlay := range []string{"single-redis", "redis-cluster"} {
		t.Run(overlay, func(t *testing.T) {
			s := buildOverlay(t, overlay)
			nodes, ok := s.statefulSets["chatlab-node"]
			if !ok {
				t.Fatal("no chatlab-node StatefulSet")
			}
			balancer, ok := s.deployments["chatlab-balancer"]
			if !ok {
				t.Fatal("no chatlab-balancer Deployment")
			}
			for _, name := range []string{"chatlab-node", "chatlab-balancer"} {
				if _, ok := s.budgets[name]; !ok {
					t.Errorf("no PodDisruptionBudget %s", name)
				}
			}
			// Every long-running container: probes and requests.
			templates := map[string]corev1.PodSpec{"chatlab-node": nodes.Spec.Template.Spec, "chatlab-balancer": balancer.Spec.Template.Spec}
			for name, set := range s.statefulSets {
				templates[name] = set.Spec.Template.Spec
			}
			for name, spec := range templates {
				for _, c := range spec.Containers {
					if c.ReadinessProbe == nil || c.LivenessProbe == nil {
						t.Errorf("%s/%s: a readiness and a liveness probe are needed", name, c.Name)
					}
					if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
						t.Errorf("%s/%s: no cpu or memory request", name, c.Name)
					}
				}
			}
			node := nodes.Spec.Template.Spec.Containers[0]
			if node.ReadinessProbe.HTTPGet == nil || node.ReadinessProbe.HTTPGet.Path != "/readyz" ||
				node.LivenessProbe.HTTPGet == nil || node.LivenessProbe.HTTPGet.Path != "/healthz" {
				t.Errorf("node probes: readiness %+v, liveness %+v; want /readyz and /healthz", node.ReadinessProbe, node.LivenessProbe)
			}
			// The admin listener: loopback, and no Service reaches it.
			for name, spec := range map[string]corev1.PodSpec{"chatlab-node": nodes.Spec.Template.Spec, "chatlab-balancer": balancer.Spec.Template.Spec} {
				admin, ok := flagValue(spec.Containers[0].Args, "admin-listen")
				if !ok || !strings.HasPrefix(admin, "127.0.0.1:") {
					t.Errorf("%s: --admin-listen %q; want it on loopback", name, admin)
				}
				for _, port := range spec.Containers[0].Ports {
					if fmt.Sprint(port.ContainerPort) == strings.TrimPrefix(admin, "127.0.0.1:") {
						t.Errorf("%s declares the admin port %d", name, port.ContainerPort)
					}
				}
			}
			for name, service := range s.services {
				for _, port := range service.Spec.Ports {
					if port.Port == 9090 || port.TargetPort.IntValue() == 9090 {
						t.Errorf("Service %s exposes the admin port", name)
					}
				}
			}
			// The balancer's backends are the StatefulSet's pods, by their
			// stable names, and the real CLI accepts both commands.
			replicas := int(*nodes.Spec.Replicas)
			var want []string
			for i := range replicas {
				pod := fmt.Sprintf("chatlab-node-%d", i)
				want = append(want, fmt.Sprintf("%s=%s.%s:8080", pod, pod, nodes.Spec.ServiceName))
			}
			backends, _ := flagValue(balancer.Spec.Template.Spec.Containers[0].Args, "backends")
			if backends != strings.Join(want, ",") {
				t.Errorf("balancer --backends=%s; want %s", backends, strings.Join(want, ","))
			}
			balancerArgs := withSecretFiles(t, balancer.Spec.Template.Spec.Containers[0].Args)
			if balancerArgs[0] != "balancer" {
				t.Fatalf("balancer command %q", balancerArgs[0])
			}
			if _, code, done := parseBalancerFlags(balancerArgs[1:], io.Discard, io.Discard); done {
				t.Errorf("chatlab balancer %v: refused (exit %d)", balancerArgs[1:], code)
			}
			nodeArgs := withSecretFiles(t, podArgs(node, "chatlab-node-0"))
			if nodeArgs[0] != "node" {
				t.Fatalf("node command %q", nodeArgs[0])
			}
			options, code, done := parseNodeFlags(nodeArgs[1:], io.Discard, io.Discard)
			if done {
				t.Fatalf("chatlab node %v: refused (exit %d)", nodeArgs[1:], code)
			}
			if options.server.ID != "chatlab-node-0" {
				t.Errorf("node id %q; want the pod's name", options.server.ID)
			}
			// Where the nodes find Redis.
			switch overlay {
			case "single-redis":
				if _, ok := s.services["chatlab-redis"]; !ok || len(options.redisCluster) > 0 || !strings.Contains(options.redisURL, "chatlab-redis:6379") {
					t.Errorf("nodes use --redis %q (cluster %v); want the chatlab-redis Service", options.redisURL, options.redisCluster)
				}
			case "redis-cluster":
				shards := s.statefulSets["chatlab-redis-cluster"]
				if shards.Spec.Replicas == nil || *shards.Spec.Replicas != 6 {
					t.Fatalf("chatlab-redis-cluster replicas %v; want 6 (3 masters, 3 replicas)", shards.Spec.Replicas)
				}
				if len(options.redisCluster) != 6 {
					t.Errorf("nodes use --redis-cluster %v; want its 6 pods", options.redisCluster)
				}
				if _, ok := s.jobs["chatlab-redis-cluster-create"]; !ok {
					t.Error("no Job creating the cluster")
				}
			}
		})
	}
}
