// Package report renders what a cachet command did, for the people and the workflows
// that read it: the job summary (GitHub-flavoured Markdown), the cosign command that
// checks a bundle, the text lines of a verification, the policy a consumer should pin,
// and step outputs written so that no value can end its heredoc early. Publish writes a
// verification's report everywhere cachet verify sends it (stdout, the report file, and
// in Actions the annotations, outputs and job summary).
//
// It decides nothing about signing or verification: every function renders values a
// command computed, so table tests cover each form without a Sigstore stack. It
// refuses one thing: an output value that could break out of the runner's output file.
package report
