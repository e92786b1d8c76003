package tsa

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Ordinal is the trailing number of a StatefulSet pod's host name (cachet-tsa-2 is 2).
func Ordinal(host string) (int, error) {
	i := strings.LastIndexByte(host, '-')
	n, err := strconv.Atoi(host[i+1:])
	if i < 0 || err != nil || n < 0 || n > MaxReplicaID || host[i+1:] != strconv.Itoa(n) {
		return 0, fmt.Errorf("host name %q does not end in -N (0..%d), as a StatefulSet pod's does", host, MaxReplicaID)
	}
	return n, nil
}

// PretouchHeap faults in n bytes of heap before the server takes requests, as the JVM's
// AlwaysPreTouch does. A fresh process takes a page fault the first time it touches each
// page of its heap; on the 2-core benchmark VM that costs ~25 us a page, and the first
// ~2000 tokens fault in ~18 MiB (4500 faults), ~85 us more CPU per token than later
// ones, which showed as the tail of bench/tsa. The garbage is collected at once; its
// pages stay mapped and are what the request path's spans are carved from. 16 MiB is
// the heap goal at GOGC 400 with cachet's small live heap (the runtime's 4 MiB minimum
// times 4), so the scavenger keeps the pages.
func PretouchHeap(n int) {
	b := make([]byte, n)
	for i := 0; i < len(b); i += os.Getpagesize() {
		b[i] = 1
	}
	runtime.KeepAlive(b)
	runtime.GC()
}

// ParseOID reads a dotted object identifier (a TSA policy).
func ParseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, errors.New("want a dotted OID such as 1.3.6.1.4.1.57264.2")
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, errors.New("want a dotted OID such as 1.3.6.1.4.1.57264.2")
		}
		oid[i] = n
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, errors.New("not a valid OID")
	}
	return oid, nil
}
