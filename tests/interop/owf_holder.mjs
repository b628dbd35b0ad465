// Claim badges over OpenID4VCI with the OpenWallet Foundation's holder library (@openid4vc/openid4vci,
// oid4vc-ts): resolve the offer, read the issuer's metadata, pre-authorized code with the PIN as tx_code,
// a JWT proof from an Ed25519 did:key, both formats.
// Input: {"offers": [{"name", "offer", "pin", "format"}]}; output: {name: {holder, credential}}.
import {readInput} from './network.mjs';
import crypto from 'node:crypto';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {Openid4vciClient} from '@openid4vc/openid4vci';
import {clientAuthenticationAnonymous} from '@openid4vc/oauth2';

const input = await readInput();
const b64url = data => Buffer.from(data).toString('base64url');

async function holderKey() {
  const keyPair = await Ed25519Multikey.generate();
  const did = `did:key:${keyPair.publicKeyMultibase}`;
  const kid = `${did}#${keyPair.publicKeyMultibase}`;
  const jwk = await Ed25519Multikey.toJwk({keyPair});
  return {did, kid, jwk: {kty: jwk.kty, crv: jwk.crv, x: jwk.x}, signer: keyPair.signer()};
}

function callbacksFor(key) {
  return {
    fetch: globalThis.fetch,
    hash: (data, alg) => new Uint8Array(crypto.createHash(alg.replace('-', '')).update(data).digest()),
    generateRandom: length => new Uint8Array(crypto.randomBytes(length)),
    clientAuthentication: clientAuthenticationAnonymous(),
    signJwt: async (jwtSigner, {header, payload}) => {
      const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
      const signature = await key.signer.sign({data: new TextEncoder().encode(signingInput)});
      return {jwt: `${signingInput}.${b64url(signature)}`, signerJwk: key.jwk};
    },
  };
}

const results = {};
for (const {name, offer, pin, format} of input.offers) {
  const key = await holderKey();
  const client = new Openid4vciClient({callbacks: callbacksFor(key)});
  const credentialOffer = await client.resolveCredentialOffer(offer);
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  const configurationId = credentialOffer.credential_configuration_ids.find(id => id.endsWith(`_${format}`));
  if (!configurationId) throw new Error(`the offer has no ${format} configuration: ${credentialOffer.credential_configuration_ids}`);
  const {accessTokenResponse} = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer, issuerMetadata, txCode: pin,
  });
  const nonce = accessTokenResponse.c_nonce
    ?? (issuerMetadata.credentialIssuer.nonce_endpoint ? (await client.requestNonce({issuerMetadata})).c_nonce : undefined);
  const {jwt} = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    signer: {method: 'did', didUrl: key.kid, alg: 'EdDSA'},
    nonce,
  });
  const {credentialResponse} = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId: configurationId,
    proof: {proof_type: 'jwt', jwt},
  });
  const first = credentialResponse.credentials ? credentialResponse.credentials[0] : credentialResponse.credential;
  results[name] = {holder: key.did, credential: first && first.credential !== undefined ? first.credential : first};
}
process.stdout.write(JSON.stringify(results, null, 2));
