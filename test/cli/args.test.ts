// Number options: strictly decimal (no 0x10, blanks), and `--flag -1` read as a negative number.
import { describe, expect, it } from 'vitest';
import { joinNegativeValues, numberOption, parseCommandArgs, portOption, UsageError } from '../../src/cli/args.js';
import { runCli } from '../select/cli-fixtures.js';

describe('number options', () => {
  it('refuses hex, binary, octal, underscores and blanks, which Number() would take', () => {
    for (const bad of ['0x10', '0b11', '0o7', '1_000', ' 5', '5 ', '', 'abc', '1e', '--1'])
      expect(() => numberOption('seed', bad, 0), JSON.stringify(bad)).toThrow(/--seed must be a decimal number/);
    expect(numberOption('p', '-1.5e2', 0)).toBe(-150);
    expect(numberOption('p', '.5', 0)).toBe(0.5);
    expect(numberOption('p', 'inf', 0)).toBe(Infinity);
    expect(numberOption('p', '16', 0)).toBe(16);
  });

  it('reads --flag -1 as the value -1, for long and short string options only', () => {
    const options = { seed: { type: 'string', short: 's' }, quiet: { type: 'boolean', short: 'q' } } as const;
    expect(joinNegativeValues(['--seed', '-1', 'x'], options)).toEqual(['--seed=-1', 'x']);
    expect(joinNegativeValues(['-s', '-0.5'], options)).toEqual(['--seed=-0.5']);
    expect(joinNegativeValues(['--quiet', '-1'], options)).toEqual(['--quiet', '-1']);
    expect(joinNegativeValues(['--', '--seed', '-1'], options)).toEqual(['--', '--seed', '-1']);
    expect(parseCommandArgs(['--seed', '-3'], options).values.seed).toBe('-3');
    expect(() => parseCommandArgs(['--seed', '-q'], options)).toThrow(UsageError);
  });

  it('--port of serve-demo and serve-edge: 0 to 65535, 8787 when not given', async () => {
    expect(portOption(undefined)).toBe(8787);
    expect(portOption('0')).toBe(0);
    expect(portOption('65535')).toBe(65535);
    expect(() => portOption('65536')).toThrow("--port must be at most 65535, got '65536'");
    expect(() => portOption('-1')).toThrow("--port must be at least 0, got '-1'");
    for (const command of ['serve-demo', 'serve-edge']) {
      const high = await runCli([command, '--port', '70000']);
      expect(high.code, command).toBe(2);
      expect(high.stderr, command).toMatch(/--port must be at most 65535, got '70000'/);
      const fraction = await runCli([command, '--port', '80.5']);
      expect(fraction.stderr, command).toMatch(/--port must be an integer, got '80.5'/);
    }
  });

  it('the CLI answers a negative number with the option range, not "ambiguous"', async () => {
    const temperature = await runCli(['score', 'nowhere', '--out', 'nowhere-out', '--temperature', '-1']);
    expect(temperature.code).toBe(2);
    expect(temperature.stderr).toMatch(/--temperature must be greater than 0, got '-1'/);
    const hex = await runCli(['score', 'nowhere', '--out', 'nowhere-out', '--batch-size', '0x10']);
    expect(hex.code).toBe(2);
    expect(hex.stderr).toMatch(/--batch-size must be a decimal number, got '0x10'/);
  });
});
