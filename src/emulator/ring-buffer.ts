/**
 * Appends to an array used as a ring buffer: beyond `limit` entries the oldest are dropped, so
 * an emulator under benchmark load keeps bounded memory while tests still read a plain array.
 * (Dropping from the front moves `limit` pointers; for the default 1000 that is cheaper than
 * the bookkeeping of a circular index, and the array stays in order for readers.)
 */
export function pushBounded<T>(buffer: T[], item: T, limit: number): void {
  buffer.push(item);
  if (buffer.length > limit) buffer.splice(0, buffer.length - limit);
}
