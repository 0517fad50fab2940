import { afterEach, describe, expect, it } from 'vitest';
import { testApi, type TestApi } from './testing.ts';

let api: TestApi | undefined;
afterEach(async () => api?.cleanup());

describe('inventory errors', () => {
  it("a route failing on SQLite reports the error's code; a caller's mistake does not", async () => {
    const codes: string[] = [];
    api = await testApi({ onDatabaseError: (code) => codes.push(code) });
    await api.call('admin', { method: 'POST', url: '/api/v1/devices', payload: { id: 'OK-1', kind: 'pc' } });
    expect((await api.call('admin', { method: 'POST', url: '/api/v1/devices', payload: {} })).statusCode).toBe(400);
    expect(codes).toEqual([]);
    // The real inventory file refuses writes, as a read-only or failing disk does.
    api.inventory.db.pragma('query_only = 1');
    const res = await api.call('admin', {
      method: 'POST',
      url: '/api/v1/devices',
      payload: { id: 'RO-1', kind: 'pc' },
    });
    expect(res.statusCode).toBe(500);
    expect(codes).toEqual(['SQLITE_READONLY']);
    api.inventory.db.pragma('query_only = 0'); // closing checkpoints the WAL
  });
});
