import type { Logger } from '../../src/config/logger';
import { scheduleFallbackSweep } from '../../src/services/fallback-sweep';

/** Lets every queued promise callback run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('The fallback sweep schedule', () => {
  function manualTimer() {
    const timer = { ms: 0, task: () => undefined as void, stopped: false };
    const every = (ms: number, task: () => void) => {
      Object.assign(timer, { ms, task });
      return () => {
        timer.stopped = true;
      };
    };
    return { timer, every };
  }
  const logger = { error: jest.fn() } as unknown as Logger;

  test('When OTP_FALLBACK_AFTER_SECONDS is 0, then nothing is scheduled', async () => {
    const { timer, every } = manualTimer();

    const stop = scheduleFallbackSweep(() => Promise.resolve(0), { afterSeconds: 0, logger }, every);

    expect(timer.ms).toBe(0);
    await expect(stop()).resolves.toBeUndefined();
  });

  test('When a sweep is still running, then a tick starts none, and stopping waits for it to finish', async () => {
    const { timer, every } = manualTimer();
    let finish = () => undefined as void;
    let sweeps = 0;
    const sweep = () => {
      sweeps += 1;
      return new Promise<number>((resolve) => {
        finish = () => resolve(1);
      });
    };
    const stop = scheduleFallbackSweep(sweep, { afterSeconds: 30, logger }, every);

    timer.task();
    timer.task();
    let stopped = false;
    const stopping = stop().then(() => {
      stopped = true;
    });
    await Promise.resolve();
    const beforeFinish = stopped;
    finish();
    await stopping;

    expect(timer.ms).toBe(5000);
    expect(sweeps).toBe(1);
    expect(timer.stopped).toBe(true);
    expect(beforeFinish).toBe(false);
    expect(stopped).toBe(true);
  });

  test('When a sweep fails, then it is logged and the next tick sweeps again', async () => {
    const { timer, every } = manualTimer();
    const errors = jest.fn();
    let sweeps = 0;
    const stop = scheduleFallbackSweep(
      () => {
        sweeps += 1;
        return Promise.reject(new Error('database gone'));
      },
      { afterSeconds: 2, logger: { error: errors } as unknown as Logger },
      every,
    );

    timer.task();
    await settle();
    timer.task();
    await settle();
    await stop();

    expect(timer.ms).toBe(2000);
    expect(sweeps).toBe(2);
    expect(errors).toHaveBeenCalledWith('fallback sweep failed; will retry at the next interval', expect.anything());
  });
});
