// Package report renders what a cachet command did, for the people and the workflows
// that read it: the job summary (GitHub-flavoured Markdown), the cosign command that
// checks a bundle, the text lines of a verification, the policy a consumer should pin,
// and step outputs written so that no value can end its heredoc early. Each command's
// report (Verification, Signing, Attestation, Release) has a Publish that writes it
// everywhere the command sends it: stdout, and in Actions the step outputs and the job
// summary (for a verification also the report file and one annotation per failure).
//
// It decides nothing about signing or verification: every function renders values a
// command computed, so table tests cover each form without a Sigstore stack. It
// refuses one thing: an output value that could break out of the runner's output file.
package report
