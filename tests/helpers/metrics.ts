/**
 * The sum of the series of one metric whose labels include the given ones, in Prometheus text:
 * `otp_refused_total{reason="number_cooldown"}` counts every test_number value; 0 when absent.
 */
export function metricValue(text: string, series: string): number {
  const [, name, wanted] = /^([^{]+)(?:\{(.*)\})?$/.exec(series) ?? [];
  const want = wanted ? wanted.split(',') : [];
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',');
    if (want.every((label) => have.includes(label))) total += Number(match[3]);
  }
  return total;
}
