import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response } from 'express';
import type { CountryCode } from 'libphonenumber-js/max';
import type { EmulatedMessage, SinchEmulator } from '../emulator/sinch-emulator';
import { fieldProblems } from '../middlewares/validate';
import { AppError } from '../utils/app-error';
import { normalizePhone } from '../utils/phone';
import { sendSuccess } from '../utils/response';
import { emulatorInboxQuery, type EmulatorInbox, type InboxEntry } from '../validations/demo.validation';

/** Enough for a person to find the code they just asked for, without dumping the whole buffer. */
export const INBOX_LIMIT = 10;

function isMissingFile(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

function notBuilt(file: string, cause: unknown): AppError {
  return new AppError('NOT_FOUND', { message: `The demo page asset ${file} is missing: run npm run build.`, cause });
}

async function readAsset(publicDir: string, file: string): Promise<string> {
  try {
    return await readFile(path.join(publicDir, file), 'utf8');
  } catch (error) {
    throw isMissingFile(error) ? notBuilt(file, error) : error;
  }
}

/**
 * The page's script as a browser can run it. A build leaves compiled JavaScript next to the page
 * (dist/public/demo.js). Run from sources (ts-node, jest) there is only demo.ts: it is transpiled
 * once, in memory, with the options of src/public/tsconfig.json, by the TypeScript compiler that is
 * a devDependency, so it is only ever loaded where sources are run and never needed in production.
 */
function scriptLoader(publicDir: string): () => Promise<string> {
  let cached: Promise<string> | undefined;

  async function load(): Promise<string> {
    try {
      return await readFile(path.join(publicDir, 'demo.js'), 'utf8');
    } catch (error) {
      if (!isMissingFile(error)) throw error;
    }
    let ts: typeof import('typescript');
    try {
      ts = await import('typescript');
    } catch (error) {
      throw isMissingFile(error) ? notBuilt('demo.js', error) : error;
    }
    const source = await readAsset(publicDir, 'demo.ts');
    const tsconfig = ts.readConfigFile(path.join(publicDir, 'tsconfig.json'), (file) => ts.sys.readFile(file));
    const { options } = ts.convertCompilerOptionsFromJson(
      (tsconfig.config as { compilerOptions?: unknown } | undefined)?.compilerOptions ?? {},
      publicDir,
    );
    return ts.transpileModule(source, { compilerOptions: options, fileName: 'demo.ts' }).outputText;
  }

  return () => {
    // A failure is not cached: the next request tries again (e.g. after `npm run build`).
    cached ??= load().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}

/** The demo page and its two assets, read from `publicDir` (src/public, or dist/public once built). */
export function demoPageController(publicDir: string) {
  const script = scriptLoader(publicDir);
  // The page is a developer tool that changes with the code: browsers revalidate every time.
  const send = (res: Response, type: string, body: string) =>
    res.type(type).set('Cache-Control', 'no-cache').send(body);
  return {
    page: async (_req: Request, res: Response): Promise<void> => {
      send(res, 'html', await readAsset(publicDir, 'index.html'));
    },

    stylesheet: async (_req: Request, res: Response): Promise<void> => {
      send(res, 'css', await readAsset(publicDir, 'demo.css'));
    },

    script: async (_req: Request, res: Response): Promise<void> => {
      send(res, 'text/javascript', await script());
    },
  };
}

/** Newest first, at most INBOX_LIMIT, only the fields the page shows. */
export function latestMessages(inbox: readonly EmulatedMessage[], e164: string): InboxEntry[] {
  const entries: InboxEntry[] = [];
  for (let i = inbox.length - 1; i >= 0 && entries.length < INBOX_LIMIT; i -= 1) {
    const message = inbox[i];
    if (message?.to === e164) {
      const { to, code, sentAt, delivered, method, locale } = message;
      entries.push({ to, code, sentAt, delivered, method, ...(locale !== undefined ? { locale } : {}) });
    }
  }
  return entries;
}

/**
 * The emulated inbox: the codes the in-process emulator "sent" to one number. Only mounted when the
 * service runs on the emulator, so a real code can never be read this way.
 */
export function emulatorInboxController(emulator: SinchEmulator, defaultCountry?: CountryCode) {
  return {
    inbox: (req: Request, res: Response): void => {
      const query = emulatorInboxQuery.safeParse(req.query);
      if (!query.success) throw new AppError('VALIDATION_ERROR', { details: fieldProblems(query.error) });
      const { phoneNumber } = query.data;
      // An unencoded `+` in a query string arrives as a space; a leading space means nothing else in a number.
      const phone = normalizePhone(phoneNumber.replace(/^ (?=\d)/, '+'), defaultCountry);
      // The answer holds codes: no cache, proxy or back button may keep it.
      res.set('Cache-Control', 'no-store');
      sendSuccess<EmulatorInbox>(res, 'Messages the emulator sent to this number (emulated: no real SMS was sent).', {
        messages: latestMessages(emulator.inbox, phone.e164),
      });
    },
  };
}
