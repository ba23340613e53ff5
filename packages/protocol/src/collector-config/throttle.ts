import { Type, type Static } from '@sinclair/typebox';

export const ThrottleOptionsSchema = Type.Object({
  linesPerSecond: Type.Number({
    minimum: 0,
    default: 200,
    description: 'Lines per second a container may ship on average; 0 turns the throttle off.',
  }),
  burst: Type.Integer({
    minimum: 1,
    default: 1000,
    description: 'Lines a container may ship in one burst above the average rate.',
  }),
});
export type ThrottleOptions = Static<typeof ThrottleOptionsSchema>;
