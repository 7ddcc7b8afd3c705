// Broken variants of authorization (spec §4.5): the reference server requiring a bearer token
// (its `serve --auth-token` hook), behind a proxy that answers a missing or forged credential
// wrongly. The proof passes the token with -H, as a user of such a server would.
import { bearerToken } from '../../../reference-server/index.ts';
import { jsonResponse, withMessage, type ProxyRequest, type ProxyResponse, type Variant } from './proxy.ts';
import { edit } from './rewrite.ts';

const token = 'conformance-proof-token';
const authorization = `Bearer ${token}`;
const requiresToken: Pick<Variant, 'server' | 'headers'> = { server: { authorize: bearerToken(token) }, headers: { Authorization: authorization } };
const unauthorized = (res: ProxyResponse) => res.status === 401 && res.message?.code === 'unauthorized';
const withoutToken = (req: ProxyRequest) => req.headers.authorization !== authorization;

export const authVariants: Variant[] = [
  {
    name: 'auth-forbidden-for-missing-credentials',
    violates: 'SSP-AUTH-3: a request without accepted credentials is answered 403 forbidden, without WWW-Authenticate',
    breaks: ['SSP-AUTH-3', 'SSP-AUTH-5'],
    consequences: 'AUTH-5 requires the same 401 unauthorized for a poll or close without accepted credentials',
    ...requiresToken,
    create: () => ({
      response: (res) => {
        if (!unauthorized(res)) return res;
        const { 'www-authenticate': _challenge, ...headers } = res.headers;
        return { ...edit(res, { code: 'forbidden', message: 'credentials required' }), status: 403, headers };
      },
    }),
  },
  {
    name: 'auth-no-challenge',
    violates: 'SSP-AUTH-3: the 401 unauthorized answer carries no WWW-Authenticate header',
    breaks: ['SSP-AUTH-3'],
    ...requiresToken,
    create: () => ({
      response: (res) => {
        if (!unauthorized(res)) return res;
        const { 'www-authenticate': _challenge, ...headers } = res.headers;
        return { ...res, headers };
      },
    }),
  },
  {
    name: 'auth-preflight-needs-credentials',
    violates: 'SSP-AUTH-2: an OPTIONS request without the credentials is answered 401 unauthorized',
    breaks: ['SSP-AUTH-2'],
    ...requiresToken,
    create: () => ({
      request: (req) =>
        req.method === 'OPTIONS' && withoutToken(req)
          ? { ...jsonResponse(401, { ssp: 1, type: 'error', code: 'unauthorized', message: 'send Authorization: Bearer <token>', retryable: false }), headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="xanjax"' } }
          : req,
    }),
  },
  {
    name: 'auth-refused-close-closes',
    violates: 'SSP-AUTH-5: a close without accepted credentials is refused with 401, but the session is closed all the same',
    breaks: ['SSP-AUTH-5'],
    ...requiresToken,
    create: ({ forward }) => ({
      request: async (req) => {
        if (req.message?.type !== 'close' || !withoutToken(req)) return req;
        // The server's own refusal, then the close it refused, done with the token.
        const refusal = await forward(req);
        if (unauthorized(refusal)) await forward(withMessage({ ...req, headers: { ...req.headers, authorization } }, req.message));
        return refusal;
      },
    }),
  },
];
