#!/usr/bin/env node
// verify.js: sigstore-js (@sigstore/verify) as an outside verifier of one bundle, for
// cachet's e2e tests. The Verifier runs with its default thresholds (one SCT, one
// transparency-log entry, one timestamp); nothing is relaxed.
//
//   node verify.js --trusted-root T --bundle B (--certificate-identity I --certificate-oidc-issuer U | --key PEM) ARTIFACT
//
// For a DSSE bundle, @sigstore/verify checks the envelope and its log entry; the caller
// also wants to know that ARTIFACT is a subject of the in-toto statement, which this
// script checks by SHA-256 (as `cosign verify-blob-attestation` does).
// Exit 0: verified. Exit 1: refused (the reason on stderr). Exit 2: usage.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

function usage(msg) {
  process.stderr.write(`sigstore-js verify: ${msg}\nusage: verify.js --trusted-root T --bundle B (--certificate-identity I --certificate-oidc-issuer U | --key PEM) ARTIFACT\n`);
  process.exit(2);
}

const opts = {};
const rest = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a.startsWith('--')) {
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    opts[a.slice(2)] = argv[++i];
  } else {
    rest.push(a);
  }
}
if (rest.length !== 1) usage('one artifact');
if (!opts['trusted-root'] || !opts.bundle) usage('--trusted-root and --bundle are required');
const keyless = opts['certificate-identity'] !== undefined || opts['certificate-oidc-issuer'] !== undefined;
if (keyless === (opts.key !== undefined)) usage('give either --certificate-identity with --certificate-oidc-issuer, or --key');
if (keyless && (!opts['certificate-identity'] || !opts['certificate-oidc-issuer'])) usage('--certificate-identity and --certificate-oidc-issuer go together');

try {
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(opts['trusted-root'], 'utf8')));
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(opts.bundle, 'utf8')));
  const artifact = fs.readFileSync(rest[0]);

  let keys;
  if (!keyless) {
    const pub = crypto.createPublicKey(fs.readFileSync(opts.key, 'utf8'));
    // Key mode: the bundle names its key by hint; the key the caller gave is the only one trusted.
    keys = () => ({ publicKey: pub, validFor: () => true });
  }
  const verifier = new Verifier(toTrustMaterial(root, keys));

  let policy;
  if (keyless) {
    const escaped = opts['certificate-identity'].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    policy = { subjectAlternativeName: `^${escaped}$`, extensions: { issuer: opts['certificate-oidc-issuer'] } };
  }
  let entity;
  if (bundle.content.$case === 'dsseEnvelope') {
    const env = bundle.content.dsseEnvelope;
    if (env.payloadType !== 'application/vnd.in-toto+json') throw new Error(`DSSE payload type ${env.payloadType} is not in-toto`);
    const st = JSON.parse(Buffer.from(env.payload).toString('utf8'));
    const want = crypto.createHash('sha256').update(artifact).digest('hex');
    if (!(st.subject || []).some((s) => s.digest && s.digest.sha256 === want)) {
      throw new Error(`the artifact (sha256:${want}) is not a subject of the statement`);
    }
    entity = toSignedEntity(bundle);
  } else {
    entity = toSignedEntity(bundle, artifact);
  }
  const signer = verifier.verify(entity, policy);
  const who = signer.identity ? signer.identity.subjectAlternativeName : 'key';
  process.stdout.write(`sigstore-js: verified ${rest[0]} (${bundle.content.$case}, ${entity.tlogEntries.length} tlog, ${entity.timestamps.length} timestamps, signer ${who})\n`);
} catch (e) {
  process.stderr.write(`sigstore-js: refused: ${e.code ? e.code + ': ' : ''}${e.message}\n`);
  process.exit(1);
}
