import { describe, expect, it } from 'vitest';
import { sharedProbe } from '../../src/http/sharedProbe.js';

describe('sharedProbe', () => {
  it('runs one check for every caller within the window, and a new one after it', async () => {
    let clock = 0;
    let runs = 0;
    let healthy = true;
    const probe = sharedProbe(async () => {
      runs += 1;
      if (!healthy) throw new Error('down');
    }, 2_000, () => clock);

    await Promise.all(Array.from({ length: 50 }, () => probe()));
    expect(runs).toBe(1);
    clock = 1_999;
    healthy = false;
    await probe();
    expect(runs).toBe(1);

    clock = 2_000;
    await expect(probe()).rejects.toThrow('down');
    await expect(probe()).rejects.toThrow('down');
    expect(runs).toBe(2);

    healthy = true;
    clock = 4_500;
    await probe();
    expect(runs).toBe(3);
  });

  it('shares a check still running', async () => {
    let release!: () => void;
    let runs = 0;
    const probe = sharedProbe(() => {
      runs += 1;
      return new Promise<void>((resolve) => (release = resolve));
    }, 2_000, () => 0);
    const first = probe();
    const second = probe();
    release();
    await Promise.all([first, second]);
    expect(runs).toBe(1);
  });
});
