// Package helm holds the Helm chart of cachet's timestamp authority; its test lints and
// renders the chart with helm v4 (scripts/helm) and checks what the cluster would run.
package helm

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(here), "..", "..")
	cmd := exec.CommandContext(t.Context(), filepath.Join(repo, "scripts", "helm"), args...)
	cmd.Dir = repo
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String() + errb.String(), err
}

type object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Replicas       int    `json:"replicas"`
		ServiceName    string `json:"serviceName"`
		MaxUnavailable int    `json:"maxUnavailable"`
		Template       struct {
			Spec struct {
				TerminationGracePeriodSeconds int `json:"terminationGracePeriodSeconds"`
				SecurityContext               struct {
					RunAsNonRoot bool `json:"runAsNonRoot"`
				} `json:"securityContext"`
				Containers []struct {
					Image          string   `json:"image"`
					Args           []string `json:"args"`
					ReadinessProbe struct {
						HTTPGet struct {
							Path string `json:"path"`
						} `json:"httpGet"`
					} `json:"readinessProbe"`
					LivenessProbe struct {
						HTTPGet struct {
							Path string `json:"path"`
						} `json:"httpGet"`
					} `json:"livenessProbe"`
					Env []struct {
						Name      string `json:"name"`
						ValueFrom struct {
							FieldRef struct {
								FieldPath string `json:"fieldPath"`
							} `json:"fieldRef"`
						} `json:"valueFrom"`
					} `json:"env"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"volumeClaimTemplates"`
	} `json:"spec"`
}

func render(t *testing.T, sets ...string) map[string]object {
	t.Helper()
	args := []string{"template", "rel", "deploy/helm/cachet-tsa"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	objs := map[string]object{}
	for _, doc := range strings.Split(out, "\n---\n") {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if o.Kind != "" {
			objs[o.Kind+"/"+o.Metadata.Name] = o
		}
	}
	return objs
}

// TestChart: helm lint passes; the rendered StatefulSet runs `cachet tsa serve` with
// replica ids from the pod name, state on a per-pod volume, readiness on /readyz,
// liveness on /healthz, graceful-stop timings that fit the grace period, metrics on;
// the Services and the PodDisruptionBudget are there; a chart without a key refuses to
// render.
func TestChart(t *testing.T) {
	if out, err := helm(t, "lint", "--strict", "deploy/helm/cachet-tsa", "--set", "key.existingSecret=tsa-key"); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
	objs := render(t, "key.existingSecret=tsa-key", "image.digest=sha256:"+strings.Repeat("ab", 32))
	ss, ok := objs["StatefulSet/rel-cachet-tsa"]
	if !ok {
		t.Fatalf("no StatefulSet rendered: %v", objs)
	}
	if ss.Spec.Replicas != 3 || ss.Spec.ServiceName != "rel-cachet-tsa-headless" {
		t.Errorf("replicas %d, serviceName %q", ss.Spec.Replicas, ss.Spec.ServiceName)
	}
	pod := ss.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	for _, want := range []string{"tsa", "serve", "--replica-id-from-hostname", "--state=/var/lib/cachet-tsa", "--key=/etc/cachet-tsa/key/key.pem",
		"--chain=/etc/cachet-tsa/key/chain.pem", "--shutdown-delay=5s", "--shutdown-timeout=20s", "--metrics-addr=0.0.0.0:9090"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("container args %v lack %s", c.Args, want)
		}
	}
	if c.Image != "ghcr.io/cachet-sign/cachet@sha256:"+strings.Repeat("ab", 32) {
		t.Errorf("image %q is not pinned by the digest given", c.Image)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes: readiness %q, liveness %q", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "HOSTNAME" || c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("HOSTNAME is not the pod's name: %+v", c.Env)
	}
	if pod.TerminationGracePeriodSeconds <= 5+20 {
		t.Errorf("terminationGracePeriodSeconds %d does not cover shutdown-delay + shutdown-timeout (25 s)", pod.TerminationGracePeriodSeconds)
	}
	if !pod.SecurityContext.RunAsNonRoot {
		t.Error("the pod may run as root")
	}
	if len(ss.Spec.VolumeClaimTemplates) != 1 || ss.Spec.VolumeClaimTemplates[0].Metadata.Name != "state" {
		t.Errorf("no per-pod state volume: %+v", ss.Spec.VolumeClaimTemplates)
	}
	for _, k := range []string{"Service/rel-cachet-tsa", "Service/rel-cachet-tsa-headless", "PodDisruptionBudget/rel-cachet-tsa"} {
		if _, ok := objs[k]; !ok {
			t.Errorf("%s not rendered", k)
		}
	}
	if objs["PodDisruptionBudget/rel-cachet-tsa"].Spec.MaxUnavailable != 1 {
		t.Error("the PodDisruptionBudget allows more than one replica down")
	}
	for _, sets := range [][]string{nil, {"key.pkcs11Uri=pkcs11:token=tsa;object=k"}} {
		args := []string{"template", "rel", "deploy/helm/cachet-tsa"}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		if out, err := helm(t, args...); err == nil || !strings.Contains(out, "key.") {
			t.Errorf("helm template %v rendered without a usable key: %v\n%s", sets, err, out)
		}
	}
	pk := render(t, "key.pkcs11Uri=pkcs11:token=tsa;object=k?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/pin/pin", "key.chainSecret=chain")
	if !slices.Contains(pk["StatefulSet/rel-cachet-tsa"].Spec.Template.Spec.Containers[0].Args, "--key=pkcs11:token=tsa;object=k?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/pin/pin") {
		t.Error("the PKCS#11 URI is not the --key")
	}
}
