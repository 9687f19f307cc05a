import { expect, it } from 'vitest';
import { RecentMap } from '../../src/store/RecentMap.js';

it('keeps only the most recently written entries, a rewrite making an entry the newest', () => {
  const map = new RecentMap<string, number>(2);
  map.set('a', 1);
  map.set('b', 2);
  map.set('a', 3); // a is now newer than b
  map.set('c', 4); // evicts b, the oldest write
  expect([map.get('a'), map.get('b'), map.get('c')]).toEqual([3, undefined, 4]);
  map.delete('a');
  map.set('d', 5);
  expect([map.get('a'), map.get('c'), map.get('d')]).toEqual([undefined, 4, 5]);
});
