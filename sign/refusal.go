package sign

import "errors"

// ErrRefused is the one kind of every decision not to sign (errors.Is): a token that
// does not verify or contradicts itself, an expectation the job does not meet, Fulcio
// refusing the identity, an untrusted or refusing key-mode policy. A refusal is audited
// before it is returned; callers exit with their refusal code.
var ErrRefused = errors.New("refused")

// Refuse marks err as a refusal; its message stays err's.
func Refuse(err error) error {
	if err == nil {
		return nil
	}
	return &refusal{err}
}

type refusal struct{ err error }

func (r *refusal) Error() string        { return r.err.Error() }
func (r *refusal) Unwrap() error        { return r.err }
func (r *refusal) Is(target error) bool { return target == ErrRefused }
