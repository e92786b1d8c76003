// Package tsa is cachet's RFC 3161 side: a client that asks one or more timestamp
// authorities for tokens over a signature and binds every answer to its request, and an
// authority that issues such tokens.
//
// # Client
//
// The client refuses a response unless its status is granted, its message imprint and
// nonce (and policy, when one was asked) equal the request's, its genTime is within the
// allowed skew of the local clock, and its signature verifies up to a TSA in the trusted
// root with a critical timeStamping EKU. Encoding is github.com/digitorus/timestamp's;
// the checks are ours.
//
// # Authority
//
// An Authority answers DER TimeStampReqs with DER TimeStampResps (Handler serves it over
// HTTP). A token's TSTInfo carries the authority's one policy (Sigstore's
// 1.3.6.1.4.1.57264.2 unless configured), the request's hash algorithm and imprint, a
// serial number (below), genTime in whole seconds with an accuracy of one second, the
// request's nonce, and the TSA's name; the CMS SignedData carries a
// signing-certificate-v2 attribute and, when certReq is set, the TSA certificate.
//
// It refuses, with PKIStatus rejection and a failInfo, and never with a crash: DER that
// does not parse (badDataFormat), a hash other than SHA-256/384/512 (badAlg), an imprint
// whose length is not the hash's (badDataFormat), a policy other than its own
// (unacceptedPolicy), any request extension (unacceptedExtension), and any failure to
// reserve a serial, sign or write the audit line (systemFailure: no token leaves
// unaudited). It refuses to start with a chain verifiers would refuse (CheckChain). The
// key is a crypto.Signer, so a hardware key plugs in where LoadSigner's PEM file does.
//
// Serve runs an Authority over HTTP and stops it gracefully; Run is the whole process
// `cachet tsa serve` is (key from a PEM file or a PKCS#11 URI, chain, serial state, audit
// log, metrics, Serve), configured by a RunConfig.
//
// # Serial numbers
//
// Serial numbers must never repeat (RFC 3161 section 2.4.2), also across restarts, a
// kill -9 and replicas behind one load balancer. A serial is
//
//	replicaID << 64 | counter
//
// a positive integer of at most 80 bits (RFC 3161 allows 160): the top 16 bits name the
// replica (each replica gets its own --replica-id, so replicas never collide), the low 64
// bits strictly increase within the replica, and a process never starts them below the
// clock in microseconds. The counter's
// high-water mark lives in the state directory (serial-r<ID>), written durably: a
// temporary file, fsync, rename over the old one, fsync of the directory. A process
// first reserves a block (DefaultBlock serials) by writing counter+block as the mark,
// and only then issues serials up to it; halfway through a block it reserves the next
// one in the background, so requests do not wait on fsync (if one ever does, the
// reservations double in size until they keep ahead of the request rate). After a
// crash the next process starts above the durable mark, skipping at most the unused
// part of the reserved blocks, never repeating one. An flock on serial-r<ID>.lock keeps two
// processes from sharing one replica's counter; a directory whose lock file shows the
// replica ran before but whose mark is gone refuses to start. The clock floor makes a
// restored old backup of the mark safe: every serial issued since is below the time it
// was issued at, so the next process starts above it (assuming the clock does not go
// back and a replica averages under one serial per microsecond). Without a state
// directory (development only) the counter starts at the Unix time in nanoseconds.
package tsa
