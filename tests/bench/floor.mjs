// The floors: the least work a request-otp or verify-otp can cost on this machine, to measure the
// service against. Each request does only this: parse the JSON body, run one SQL statement, make one
// Sinch call over a keep-alive agent, and reply. There is no validation, no limits, no logging and no
// error envelope.
//
// Two floors, both doing that same work:
// - `plain` is built on node:http and pg only: the least this work can cost at all.
// - `stack` is built with the libraries issue 2 requires of the service: Express 5 with express.json,
//   and one axios instance using the service's own lean adapter. It is the least this work can cost
//   with that stack, so service/stack shows what the product's own code costs on top of its stack.
//
// Usage: node floor.mjs <plain|stack> <port> <database url> <sinch base url> <key> <secret> <pool size>
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import pg from 'pg';

const [mode, port, databaseUrl, sinchUrl, key, secret, poolSize] = process.argv.slice(2);
if (mode !== 'plain' && mode !== 'stack') throw new Error(`mode must be plain or stack, got ${mode}`);
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(poolSize ?? 10) });
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const auth = `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

/** Sinch call with node:http: resolves to the parsed JSON answer. */
function plainSinch() {
  const sinch = new URL(sinchUrl);
  return (method, path, payload) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(payload);
      const req = http.request(
        {
          host: sinch.hostname,
          port: sinch.port,
          method,
          path: `/verification/v1${path}`,
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: auth,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve(JSON.parse(text)));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/** Sinch call with one axios instance on the service's lean adapter (the cheapest way to run axios): same answer. */
async function stackSinch() {
  const { default: axios } = await import('axios');
  // The built service's adapter (npm run bench builds first).
  const { leanHttpAdapter } = createRequire(import.meta.url)('../../dist/clients/sinch/http-adapter.js');
  const api = axios.create({
    baseURL: `${sinchUrl}/verification/v1`,
    headers: { authorization: auth },
    adapter: leanHttpAdapter({ http: agent, https: agent }),
  });
  return async (method, path, payload) => (await api.request({ method, url: path, data: payload })).data;
}

const sinchCall = mode === 'plain' ? plainSinch() : await stackSinch();

async function requestOtp(body) {
  const started = await sinchCall('POST', '/verifications', {
    identity: { type: 'number', endpoint: body.phoneNumber },
    method: 'sms',
  });
  const id = randomUUID();
  await pool.query('INSERT INTO "FloorVerifications" (id, phone, sinch_id) VALUES ($1, $2, $3)', [
    id,
    body.phoneNumber,
    started.id,
  ]);
  return [200, { verificationId: id }];
}

async function verifyOtp(body) {
  const { rows } = await pool.query(
    `UPDATE "FloorVerifications" SET attempts = attempts + 1 WHERE phone = $1 AND attempts = 0 RETURNING sinch_id`,
    [body.phoneNumber],
  );
  if (!rows[0]) return [404, { error: 'not found' }];
  const reported = await sinchCall('PUT', `/verifications/id/${rows[0].sinch_id}`, {
    method: 'sms',
    sms: { code: body.code },
  });
  return reported.status === 'SUCCESSFUL' ? [200, { verified: true }] : [400, { verified: false }];
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function plainServer() {
  const reply = (res, status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  return http.createServer(async (req, res) => {
    const handler = req.url === '/api/request-otp' ? requestOtp : req.url === '/api/verify-otp' ? verifyOtp : undefined;
    if (!handler) return reply(res, 404, {});
    try {
      const [status, answer] = await handler(await readJson(req));
      reply(res, status, answer);
    } catch (error) {
      reply(res, 500, { error: String(error) });
    }
  });
}

async function stackServer() {
  const { default: express } = await import('express');
  const app = express();
  // As the service does: no ETag hashing of every JSON answer, no X-Powered-By.
  app.set('etag', false);
  app.disable('x-powered-by');
  app.use(express.json({ limit: '10kb' }));
  for (const [path, handler] of [
    ['/api/request-otp', requestOtp],
    ['/api/verify-otp', verifyOtp],
  ]) {
    app.post(path, async (req, res) => {
      try {
        const [status, answer] = await handler(req.body);
        res.status(status).json(answer);
      } catch (error) {
        res.status(500).json({ error: String(error) });
      }
    });
  }
  return http.createServer(app);
}

const server = mode === 'plain' ? plainServer() : await stackServer();
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`${mode} floor listening on ${port}\n`));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
