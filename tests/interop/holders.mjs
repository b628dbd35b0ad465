// Claim badges over OpenID4VCI with a third-party holder: Sphereon's OpenID4VCI 1.0 client
// (@sphereon/oid4vci-client), pre-authorized code with a PIN (tx_code), both formats.
// Input: {"offers": [{"name", "offer", "pin", "format"}]}; output: {name: credential}.
import {readInput} from './network.mjs';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {OpenID4VCIClientV1_0_15} from '@sphereon/oid4vci-client';

const input = await readInput();
const b64url = data => Buffer.from(data).toString('base64url');

async function holderKey() {
  const keyPair = await Ed25519Multikey.generate();
  const did = `did:key:${keyPair.publicKeyMultibase}`;
  const kid = `${did}#${keyPair.publicKeyMultibase}`;
  const signer = keyPair.signer();
  async function signCallback(args) {
    const header = {...args.header, alg: 'EdDSA', kid, typ: 'openid4vci-proof+jwt'};
    delete header.jwk;
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(args.payload))}`;
    const signature = await signer.sign({data: new TextEncoder().encode(signingInput)});
    return `${signingInput}.${b64url(signature)}`;
  }
  return {did, kid, signCallback};
}

const results = {};
for (const {name, offer, pin, format} of input.offers) {
  const key = await holderKey();
  const client = await OpenID4VCIClientV1_0_15.fromURI({uri: offer, kid: key.kid, alg: 'EdDSA', clientId: 'interop-test'});
  await client.acquireAccessToken({pin});
  const response = await client.acquireCredentials({
    credentialConfigurationId: `OpenBadgeCredential_${format}`,
    proofCallbacks: {signCallback: key.signCallback},
    format,
    kid: key.kid,
    alg: 'EdDSA',
  });
  const credential = response.credentials ? response.credentials[0].credential : response.credential;
  results[name] = {holder: key.did, credential};
}
process.stdout.write(JSON.stringify(results, null, 2));
