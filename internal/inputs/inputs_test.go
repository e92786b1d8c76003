package inputs

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestFill(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		inputs map[string]string
		url    string
		tsas   string
		n      int
		wait   time.Duration
		err    string
	}{
		{name: "inputs fill what the command line did not", inputs: map[string]string{"fulcio-url": "https://f", "parallel": "4", "rate-limit-wait": "1m"},
			url: "https://f", n: 4, wait: time.Minute},
		{name: "the command line wins", args: []string{"--fulcio-url", "https://cli"}, inputs: map[string]string{"fulcio-url": "https://input"}, url: "https://cli", n: 8},
		{name: "a repeatable flag takes one value per line", inputs: map[string]string{"timestamp-server-url": "https://a\n\n  https://b  \n"}, tsas: "https://a,https://b", n: 8},
		{name: "a repeatable flag given on the command line ignores the input", args: []string{"--timestamp-server-url", "https://c"},
			inputs: map[string]string{"timestamp-server-url": "https://a"}, tsas: "https://c", n: 8},
		{name: "a bad input names the input", inputs: map[string]string{"parallel": "many"}, n: 8, err: `input parallel: "many": `},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		url := fs.String("fulcio-url", "", "")
		n := fs.Int("parallel", 8, "")
		wait := fs.Duration("rate-limit-wait", 0, "")
		var tsas List
		fs.Var(&tsas, "timestamp-server-url", "")
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		err := Fill(fs, func(k string) string { return tc.inputs[k] })
		switch {
		case tc.err != "":
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
		case err != nil || *url != tc.url || tsas.String() != tc.tsas || *n != tc.n || *wait != tc.wait:
			t.Errorf("%s: url %q tsas %q parallel %d wait %s, err %v", tc.name, *url, tsas.String(), *n, *wait, err)
		}
	}
}

func TestLines(t *testing.T) {
	if got := strings.Join(Lines(" a \n\n b\r\n"), "|"); got != "a|b" {
		t.Errorf("Lines = %q", got)
	}
}

// TestGiven: a flag counts as given when the command line or an input set it, even to
// its default value; a flag left at its default does not.
func TestGiven(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Int("replica-id", 0, "")
	fs.String("fulcio-url", "", "")
	fs.Bool("staging", false, "")
	if err := fs.Parse([]string{"--replica-id", "0"}); err != nil {
		t.Fatal(err)
	}
	if err := Fill(fs, func(k string) string { return map[string]string{"fulcio-url": "https://f"}[k] }); err != nil {
		t.Fatal(err)
	}
	got := Given(fs)
	if !got["replica-id"] || !got["fulcio-url"] || got["staging"] || len(got) != 2 {
		t.Errorf("Given = %v, want replica-id and fulcio-url", got)
	}
}
