import { InvalidArgumentError } from 'commander';

/** A commander argument parser for whole numbers from min to max; `explain` is the sentence a bad value gets. */
export function wholeNumberIn(min: number, max: number, explain: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(explain);
    return n;
  };
}

/** A port to connect to or to require. */
export const parsePort = wholeNumberIn(1, 65535, 'a port is a whole number from 1 to 65535');
/** A port to listen on, where 0 asks for any free port. */
export const parseListenPort = wholeNumberIn(0, 65535, 'a port is a whole number from 0 (any free port) to 65535');
export const parsePositiveInt = wholeNumberIn(1, Number.MAX_SAFE_INTEGER, 'expected a whole number above 0');
export const parseCount = wholeNumberIn(0, Number.MAX_SAFE_INTEGER, 'expected a whole number, 0 or more');
