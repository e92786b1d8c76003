// Package cli is the command-line plumbing cachet's commands share: a command table
// that dispatches and prints its own usage, flags filled from a GitHub Action's inputs
// (internal/inputs) when the command line leaves them unset, and the usage error that
// says "bad input" (exit 2) rather than "failed" (exit 1); and the process settings
// main applies before a command runs (the collector's target, a CPU profile).
//
// It decides nothing about signing or verifying, and has no exit point: cmd/cachet
// turns every error into an annotation and an exit code in one place.
package cli
