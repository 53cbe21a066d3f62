// A certified third-party OpenID provider for the tests: panva's oidc-provider, set up the way
// Keycloak looks to a client: issuer without a trailing slash, roles nested in
// realm_access.roles, RS256 ID tokens, end_session_endpoint, rotating refresh tokens.
//
// Run: PROVIDER_CONFIG='{"port": 9600, "client": {...}, "users": [...]}' node server.mjs
// It prints "oidc-provider ready <issuer>" once it listens. Nothing here is for production.
import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.env.PROVIDER_CONFIG || '{}');
const host = config.host || '127.0.0.1';
const issuer = `http://${host}:${config.port}`; // no trailing slash, like Keycloak or Okta
const users = new Map((config.users || []).map((user) => [user.username, user]));
const bySub = new Map((config.users || []).map((user) => [user.sub, user]));
const TAGS_CLAIM = 'https://aws.amazon.com/tags';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'rs256-1', alg: 'RS256', use: 'sig' };

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function claimsOf(user) {
  const claims = {
    sub: user.sub,
    name: user.name,
    email: user.email,
    email_verified: true,
    realm_access: { roles: [...(user.roles || [])] },
  };
  if (user.tags && Object.keys(user.tags).length) {
    // What an STS session-tags mapper emits: key -> [value].
    const principal_tags = Object.fromEntries(
      Object.entries(user.tags).map(([key, value]) => [key, [String(value)]]),
    );
    claims[TAGS_CLAIM] = { principal_tags };
  }
  return claims;
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.client.client_id,
    client_secret: config.client.client_secret,
    redirect_uris: config.client.redirect_uris,
    post_logout_redirect_uris: config.client.post_logout_redirect_uris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  // realm_access and the tags claim come with the openid scope, into the ID token too.
  claims: {
    openid: ['sub', 'realm_access', TAGS_CLAIM],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  conformIdTokenClaims: false,
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  features: {
    devInteractions: { enabled: false }, // the login form below instead
    rpInitiatedLogout: { enabled: true },
  },
  // Keycloak issues a refresh token with every code; oidc-provider by default only when
  // offline_access comes with prompt=consent.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: { IdToken: 3600, AccessToken: 3600, RefreshToken: 86400, Session: 86400, Grant: 86400 },
  findAccount: async (ctx, sub) => {
    const user = bySub.get(sub);
    if (!user) return undefined;
    return { accountId: sub, claims: async () => claimsOf(user) };
  },
  // A first-party client: no consent screen, the grant covers what it asks for.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (grant) return grant;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email offline_access');
    grant.addOIDCClaims(['realm_access', TAGS_CLAIM]);
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

function loginPage(uid, error) {
  return `<!doctype html><html><head><title>Sign in</title></head><body>
<h1>oidc-provider sign-in</h1>${error ? `<p class="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<input type="text" name="username"><input type="password" name="password">
<button type="submit">Sign in</button></form></body></html>`;
}

function checkPassword(username, password) {
  const user = users.get(username);
  if (!user) return undefined;
  const a = Buffer.from(String(user.password));
  const b = Buffer.from(String(password));
  return a.length === b.length && timingSafeEqual(a, b) ? user : undefined;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString());
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid));
    return;
  }
  const form = await readForm(req);
  const user = checkPassword(form.get('username'), form.get('password'));
  if (!user) {
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(details.uid, 'Wrong username or password.'));
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, {
    mergeWithLastSubmission: false,
  });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`${error.name}: ${error.message}`);
    });
    return;
  }
  callback(req, res);
});
server.listen(config.port, host, () => {
  process.stdout.write(`oidc-provider ready ${issuer}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
