// The floor: the least work a request-otp or verify-otp can cost on this machine, to measure the
// service against. node:http + pg, nothing else: parse the JSON body, one SQL statement, one Sinch
// call over a keep-alive agent, reply. No validation, limits, logging or error envelope.
// Usage: node floor.mjs <port> <database url> <sinch base url> <key> <secret> <pool size>
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import pg from 'pg';

const [port, databaseUrl, sinchUrl, key, secret, poolSize] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(poolSize ?? 10) });
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const sinch = new URL(sinchUrl);
const auth = `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

function sinchCall(method, path, payload) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(payload);
    const req = http.request(
      { host: sinch.hostname, port: sinch.port, method, path: `/verification/v1${path}`, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: auth } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
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

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function requestOtp(body) {
  const started = await sinchCall('POST', '/verifications', { identity: { type: 'number', endpoint: body.phoneNumber }, method: 'sms' });
  const id = randomUUID();
  await pool.query('INSERT INTO "FloorVerifications" (id, phone, sinch_id) VALUES ($1, $2, $3)', [id, body.phoneNumber, started.json.id]);
  return [200, { verificationId: id }];
}

async function verifyOtp(body) {
  const { rows } = await pool.query(
    `UPDATE "FloorVerifications" SET attempts = attempts + 1 WHERE phone = $1 AND attempts = 0 RETURNING sinch_id`,
    [body.phoneNumber],
  );
  if (!rows[0]) return [404, { error: 'not found' }];
  const reported = await sinchCall('PUT', `/verifications/id/${rows[0].sinch_id}`, { method: 'sms', sms: { code: body.code } });
  return reported.json.status === 'SUCCESSFUL' ? [200, { verified: true }] : [400, { verified: false }];
}

const server = http.createServer(async (req, res) => {
  const handler = req.url === '/api/request-otp' ? requestOtp : req.url === '/api/verify-otp' ? verifyOtp : undefined;
  if (!handler) return reply(res, 404, {});
  try {
    const [status, answer] = await handler(await readJson(req));
    reply(res, status, answer);
  } catch (error) {
    reply(res, 500, { error: String(error) });
  }
});
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(`floor listening on ${port}\n`));
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
