import { describe, expect, it } from 'vitest';
import { activeBands, faultBands } from './faultBands';

describe('faultBands', () => {
  it('uses a fault’s duration, or pairs it with what ends it, or leaves it open', () => {
    const bands = faultBands(
      [
        { at_ms: 1000, action: 'restart', target: 'n1', duration_ms: 2000 },
        { at_ms: 4000, action: 'pause', target: 'redis' },
        { at_ms: 6000, action: 'resume', target: 'redis' },
        { at_ms: 7000, action: 'partition', target: 'n2-redis' },
      ],
      10_000,
      10_000,
    );
    expect(bands.map((band) => [band.label, band.startMs, band.endMs, band.open])).toEqual([
      ['restart n1', 1000, 3000, false],
      ['pause redis', 4000, 6000, false],
      ['partition n2-redis', 7000, 10_000, true],
    ]);
    expect(activeBands(bands, 8000).map((band) => band.label)).toEqual(['partition n2-redis']);
  });

  it('gives an instant fault a visible sliver, and a heal without target ends every partition', () => {
    const bands = faultBands(
      [
        { at_ms: 1000, action: 'partition', target: 'n1-redis' },
        { at_ms: 2000, action: 'redis-restart', target: 'redis' },
        { at_ms: 3000, action: 'heal' },
      ],
      20_000,
      20_000,
    );
    expect(bands.map((band) => [band.label, band.startMs, band.endMs])).toEqual([
      ['partition n1-redis', 1000, 3000],
      ['redis-restart redis', 2000, 2200],
    ]);
  });
});
