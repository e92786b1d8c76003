package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachet-sign/cachet/verify"
	"github.com/sethvargo/go-githubactions"
)

// TestPublish: the report goes to stdout as text or JSON, to the report file, and in
// Actions to one annotation per failure, the step outputs and the job summary; a
// failure is an error counting them.
func TestPublish(t *testing.T) {
	ok := []verify.Result{{Name: "a", Verified: true}}
	mixed := []verify.Result{{Name: "a", Verified: true}, {Name: "b", Reason: verify.ReasonSubject, Error: "not a subject"}}
	for _, tc := range []struct {
		name       string
		results    []verify.Result
		json, file bool
		actions    bool
		stdout     []string
		log        []string // the Action's writer: annotations
		outputs    []string
		err        string
	}{
		{name: "text", results: ok, stdout: []string{"OK    a\n", "1 verified, 0 failed\n"}},
		{name: "json and a report file", results: ok, json: true, file: true, stdout: []string{`"verified": 1`}},
		{name: "a failure is an error", results: mixed, stdout: []string{"FAIL  b: not a subject"}, err: "1 of 2 artifacts failed verification"},
		{name: "in Actions", results: mixed, actions: true, file: true,
			log:     []string{"::error title=cachet verify%3A subject-mismatch::b: not a subject"},
			outputs: []string{"verified", "failed", "report"}, err: "1 of 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary")}
			for _, f := range files {
				if err := os.WriteFile(f, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, log bytes.Buffer
			o := VerifyOutputs{JSON: tc.json}
			if tc.file {
				o.ReportPath = filepath.Join(dir, "report.json")
			}
			if tc.actions {
				o.Action = githubactions.New(githubactions.WithGetenv(func(k string) string { return files[k] }), githubactions.WithWriter(&log))
				o.StepOutputs, o.StepSummary = true, true
			}
			err := NewVerification(tc.results, &verify.Policy{Issuer: "u"}).Publish(&stdout, o)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout %q lacks %q", stdout.String(), w)
				}
			}
			for _, w := range tc.log {
				if !strings.Contains(log.String(), w) {
					t.Errorf("log %q lacks %q", log.String(), w)
				}
			}
			if tc.file {
				var v Verification
				if b, err := os.ReadFile(o.ReportPath); err != nil || json.Unmarshal(b, &v) != nil || len(v.Results) != len(tc.results) {
					t.Errorf("report file: %q, %v", b, err)
				}
			}
			out, _ := os.ReadFile(files["GITHUB_OUTPUT"])
			for _, w := range tc.outputs {
				if !strings.Contains(string(out), w+"<<") {
					t.Errorf("outputs %q lack %s", out, w)
				}
			}
			if sum, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"]); tc.actions != (len(sum) > 0) {
				t.Errorf("summary %q written: want %v", sum, tc.actions)
			}
		})
	}
}

// TestInRunner: in Actions the report goes to RUNNER_TEMP unless a path was given, and
// nowhere when the runner gave no RUNNER_TEMP.
func TestInRunner(t *testing.T) {
	a := Actions{StepOutputs: true}
	for _, tc := range []struct{ path, temp, want string }{
		{"", "/runner/temp", filepath.Join("/runner/temp", ReportFile)},
		{"mine.json", "/runner/temp", "mine.json"},
		{"", "", ""},
	} {
		o := VerifyOutputs{ReportPath: tc.path}
		o.InRunner(a, tc.temp)
		if o.ReportPath != tc.want || !o.StepOutputs {
			t.Errorf("path %q, RUNNER_TEMP %q: report %q (want %q), outputs %+v", tc.path, tc.temp, o.ReportPath, tc.want, o.Actions)
		}
	}
}
