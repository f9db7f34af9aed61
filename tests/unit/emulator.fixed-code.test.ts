import { createSinchEmulator } from '../../src/emulator/sinch-emulator';

describe('emulator fixedCode option', () => {
  test('When fixedCode is set, then every SMS code is that value and it verifies', async () => {
    const secret = Buffer.from('fixed-secret').toString('base64');
    const emulator = await createSinchEmulator({
      applicationKey: 'k',
      applicationSecret: secret,
      fixedCode: '777777',
      sandbox: false,
    });
    const auth = `Basic ${Buffer.from(`k:${secret}`).toString('base64')}`;
    try {
      const started = await fetch(`${emulator.url}/verification/v1/verifications`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: auth },
        body: JSON.stringify({ identity: { type: 'number', endpoint: '+46731112233' }, method: 'sms' }),
      });
      const { id } = (await started.json()) as { id: string };
      const report = await fetch(`${emulator.url}/verification/v1/verifications/id/${id}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', Authorization: auth },
        body: JSON.stringify({ method: 'sms', sms: { code: '777777' } }),
      });

      expect(emulator.lastCodeFor('+46731112233')).toBe('777777');
      expect(await report.json()).toMatchObject({ id, status: 'SUCCESSFUL' });
    } finally {
      await emulator.close();
    }
  });

  test('When fixedCode is not letters or digits, then the emulator refuses to start', async () => {
    await expect(
      createSinchEmulator({ applicationKey: 'k', applicationSecret: 'a2V5', fixedCode: '12 34' }),
    ).rejects.toThrow(/fixedCode/);
  });
});
