/**
 * `npm test` on a machine without Chromium: the browser test files fail at once with one line naming
 * the missing binary (no 120 s hang on a server that never started), and leave no process behind (the
 * serve-demo child of test/web/demo.test.ts used to outlive them). Runs those files in a nested vitest
 * with CLIPSIFT_CHROMIUM pointing at a binary that does not exist; the nested run's own global
 * teardown (test/global-setup.ts) reports any process its tests left running.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runChild } from './cli/helpers.js';
import { MARKER, processesWithMarker } from './global-setup.js';

const MISSING = '/nonexistent/chromium';

describe('the suite without Chromium', () => {
  it('fails the browser files with one clear line and leaks no process', async () => {
    // Its own marker under ours, so the check below sees the nested run only, not browser tests running beside it.
    const marker = `${process.env[MARKER] ?? 'none'}.${randomBytes(4).toString('hex')}`;
    const result = await runChild(
      process.execPath,
      [
        join(ROOT, 'node_modules/vitest/vitest.mjs'),
        'run',
        'test/web/demo.test.ts',
        'test/threads/browser.test.ts',
        // Generous, but far below the 120 s a never-resolving afterAll used to wait.
        '--hookTimeout=30000',
      ],
      { env: { CLIPSIFT_CHROMIUM: MISSING, NO_COLOR: '1', [MARKER]: marker } },
    );
    const output = result.stdout + result.stderr;
    expect(result.code, output).not.toBe(0);
    expect(output).toContain(`${MISSING} not found: the browser tests need Chromium (apt-get install -y chromium)`);
    expect(output).not.toMatch(/timed out/i);
    expect(output).not.toContain('tests left');
    expect(output).toMatch(/Test Files\s+2 failed/);
    // Nothing of the nested run is left either.
    expect(processesWithMarker(marker)).toEqual([]);
  });
});
